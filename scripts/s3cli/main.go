// Command s3cli is the object client of scripts/s3compat.sh: it creates a
// bucket, uploads a folder, lists objects with their content and fetches
// one, through the AWS SDK (the same settings as markimport: AWS_* in the
// environment, path-style addressing). It is a script's helper, not part
// of markimport.
//
//	s3cli mb BUCKET
//	s3cli put BUCKET PREFIX DIR     every file beneath DIR, as PREFIX + its relative path
//	s3cli ls BUCKET [PREFIX]        KEY SIZE ETAG LAST-MODIFIED SHA-256, one object a line, by key
//	s3cli get BUCKET KEY FILE       the object's bytes into FILE (- for stdout)
//	s3cli probe BUCKET KEY          whether the server honours the conditions markimport
//	                                sends: PUT If-None-Match: * over an object, GET If-Match
//	                                with another ETag (it writes KEY twice)
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "s3cli:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: s3cli mb|put|ls|get|probe BUCKET ...")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(logging.Nop{}))
	if err != nil {
		return err
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := args[1]
	switch {
	case args[0] == "mb" && len(args) == 2:
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
		return err
	case args[0] == "put" && len(args) == 4:
		return put(ctx, c, bucket, args[2], args[3])
	case args[0] == "ls" && len(args) <= 3:
		prefix := ""
		if len(args) == 3 {
			prefix = args[2]
		}
		return list(ctx, c, bucket, prefix)
	case args[0] == "probe" && len(args) == 3:
		return probe(ctx, c, bucket, args[2])
	case args[0] == "get" && len(args) == 4:
		b, err := get(ctx, c, bucket, args[2])
		if err != nil {
			return err
		}
		if args[3] == "-" {
			_, err = os.Stdout.Write(b)
			return err
		}
		return os.WriteFile(args[3], b, 0o644)
	}
	return fmt.Errorf("usage: s3cli mb|put|ls|get|probe BUCKET ...: %q", args)
}

// put uploads every file beneath dir as prefix + its slash-separated path.
func put(ctx context.Context, c *s3.Client, bucket, prefix, dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		key := prefix + filepath.ToSlash(rel)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b)))})
		if err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
		return nil
	})
}

// list prints every object under prefix, by key: its size, ETag and
// last-modified time as listed, and the SHA-256 of its bytes as fetched,
// so that two listings are equal only if no object was added, removed or
// written again.
func list(ctx context.Context, c *s3.Client, bucket, prefix string) error {
	type row struct {
		key, etag string
		size      int64
		mod       time.Time
	}
	var rows []row
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			rows = append(rows, row{key: aws.ToString(o.Key), etag: aws.ToString(o.ETag), size: aws.ToInt64(o.Size), mod: aws.ToTime(o.LastModified)})
		}
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.key, b.key) })
	for _, r := range rows {
		b, err := get(ctx, c, bucket, r.key)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		fmt.Printf("%s %d %s %s %s\n", r.key, r.size, r.etag, r.mod.UTC().Format(time.RFC3339Nano), hex.EncodeToString(sum[:]))
	}
	return nil
}

func get(ctx context.Context, c *s3.Client, bucket, key string) ([]byte, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// probe prints whether a conditional PUT (If-None-Match: *) over an
// existing object and a GET If-Match with a stale ETag are refused
// ("honoured") or carried out ("ignored"), one line each.
func probe(ctx context.Context, c *s3.Client, bucket, key string) error {
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader("first")}); err != nil {
		return err
	}
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader("second"), IfNoneMatch: aws.String("*")})
	fmt.Println("put-if-none-match", verdict(err))
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, IfMatch: aws.String(`"0123456789abcdef0123456789abcdef"`)})
	if err == nil {
		out.Body.Close()
	}
	fmt.Println("get-if-match", verdict(err))
	return nil
}

func verdict(err error) string {
	var api smithy.APIError
	switch {
	case err == nil:
		return "ignored"
	case errors.As(err, &api) && (api.ErrorCode() == "PreconditionFailed" || api.ErrorCode() == "ConditionalRequestConflict"):
		return "honoured"
	}
	return "error: " + err.Error()
}
