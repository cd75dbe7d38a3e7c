package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Info describes one object.
type Info struct {
	Key     string
	Size    int64
	ETag    string
	ModTime time.Time
}

// apiCode is the error code of a service error ("NoSuchKey"), or one made
// from its HTTP status when the answer had no body (a HEAD's 404).
func apiCode(err error) string {
	var re *awshttp.ResponseError
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() != "" && !(status == 404 && ae.ErrorCode() == "NotFound") {
		return ae.ErrorCode()
	}
	switch status {
	case 404:
		return "NotFound"
	case 403:
		return "Forbidden"
	case 412:
		return "PreconditionFailed"
	}
	return ""
}

// Stat looks one object up (HEAD).
func (s *Store) Stat(ctx context.Context, l Location) (Info, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &l.Bucket, Key: &l.Key})
	if err != nil {
		return Info{}, s.wrap("stat", l, err)
	}
	if out.ContentLength == nil || *out.ContentLength < 0 {
		return Info{}, fmt.Errorf("stat %s: the store gave no size", l)
	}
	return Info{Key: l.Key, Size: *out.ContentLength, ETag: aws.ToString(out.ETag), ModTime: aws.ToTime(out.LastModified)}, nil
}

// List returns every object whose key starts with l's key (recursively: no
// delimiter), sorted by key. A key listed twice, or one outside the prefix,
// is an error: the listing is input too.
func (s *Store) List(ctx context.Context, l Location) ([]Info, error) {
	var infos []Info
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &l.Bucket, Prefix: &l.Key})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("list", l, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if !strings.HasPrefix(key, l.Key) {
				return nil, fmt.Errorf("list %s: the store listed %q, which is outside the prefix", l, key)
			}
			if o.Size == nil || *o.Size < 0 {
				return nil, fmt.Errorf("list %s: the store gave no size for %q", l, key)
			}
			infos = append(infos, Info{Key: key, Size: *o.Size, ETag: aws.ToString(o.ETag), ModTime: aws.ToTime(o.LastModified)})
		}
	}
	slices.SortFunc(infos, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	for i := 1; i < len(infos); i++ {
		if infos[i].Key == infos[i-1].Key {
			return nil, fmt.Errorf("list %s: the store listed %q twice", l, infos[i].Key)
		}
	}
	return infos, nil
}

// Open reads a whole object as one stream (one GET). The stream ends with
// an error if it ends before the size the store announced.
func (s *Store) Open(ctx context.Context, l Location) (io.ReadCloser, Info, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &l.Bucket, Key: &l.Key})
	if err != nil {
		return nil, Info{}, s.wrap("read", l, err)
	}
	if out.ContentLength == nil || *out.ContentLength < 0 {
		out.Body.Close()
		return nil, Info{}, fmt.Errorf("read %s: the store gave no size", l)
	}
	info := Info{Key: l.Key, Size: *out.ContentLength, ETag: aws.ToString(out.ETag), ModTime: aws.ToTime(out.LastModified)}
	return &countingBody{s: s, l: l, body: out.Body, size: info.Size, left: info.Size}, info, nil
}

// countingBody counts what a stream delivers and holds it to its announced
// length: a short body is io.ErrUnexpectedEOF, a longer one an error.
type countingBody struct {
	s    *Store
	l    Location
	body io.ReadCloser
	size int64 // as announced
	left int64 // bytes still to come
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.s.fetched.Add(int64(n))
	b.left -= int64(n)
	if b.left < 0 {
		return n, fmt.Errorf("read %s: the store sent more bytes than the object's size", b.l)
	}
	if err == io.EOF && b.left > 0 {
		return n, fmt.Errorf("read %s: the stream ended %d bytes early: %w", b.l, b.left, io.ErrUnexpectedEOF)
	}
	if err != nil && err != io.EOF {
		return n, b.s.wrap("read", b.l, fmt.Errorf("the stream broke after %d of %d bytes: %w", b.size-b.left, b.size, err))
	}
	return n, err
}

func (b *countingBody) Close() error { return b.body.Close() }

// ReaderAt reads the object info names by ranged GETs, never the whole
// object at once. Each read asks for the ETag info carries (If-Match), so an
// object replaced while it is read fails rather than mixing two versions;
// an answer of another length than asked is an error. (The ETag of every
// answer is compared too, for stores that ignore If-Match on reads.)
func (s *Store) ReaderAt(ctx context.Context, l Location, info Info) io.ReaderAt {
	return &rangeReader{ctx: ctx, s: s, l: l, info: info}
}

type rangeReader struct {
	ctx  context.Context
	s    *Store
	l    Location
	info Info
}

// rangeAttempts is how many times a range is asked for when its answer
// breaks off mid-body (a connection reset): the SDK retries a request
// that failed before its answer started (5xx, throttling, a refused
// connection; 3 attempts by default), but not a body cut short. A range
// asked for again under If-Match is the same bytes or an error, so the
// retry cannot mix two versions of the object.
const rangeAttempts = 3

func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset", r.l)
	}
	if off >= r.info.Size {
		return 0, io.EOF
	}
	want := int64(len(p))
	short := false
	if off+want > r.info.Size {
		want, short = r.info.Size-off, true
	}
	if want == 0 {
		return 0, nil
	}
	for attempt := 1; ; attempt++ {
		broke, err := r.readRange(p[:want], off)
		if err == nil {
			break
		}
		if !broke || r.ctx.Err() != nil {
			return 0, err
		}
		if attempt == rangeAttempts {
			return 0, fmt.Errorf("%w (the range was asked for %d times)", err, rangeAttempts)
		}
	}
	if short {
		return int(want), io.EOF
	}
	return int(want), nil
}

// readRange fills p with the bytes at off by one ranged GET. broke says
// the answer started and its body broke off, which may be asked for
// again.
func (r *rangeReader) readRange(p []byte, off int64) (broke bool, err error) {
	want := int64(len(p))
	in := &s3.GetObjectInput{Bucket: &r.l.Bucket, Key: &r.l.Key, Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+want-1))}
	if r.info.ETag != "" {
		in.IfMatch = aws.String(r.info.ETag)
	}
	out, err := r.s.client.GetObject(r.ctx, in)
	if err != nil {
		if apiCode(err) == "PreconditionFailed" {
			return false, fmt.Errorf("read %s: the object changed while it was being read (its ETag is no longer %s)", r.l, r.info.ETag)
		}
		return false, r.s.wrap("read", r.l, err)
	}
	defer out.Body.Close()
	if got := aws.ToString(out.ETag); r.info.ETag != "" && got != r.info.ETag {
		return false, fmt.Errorf("read %s: the object changed while it was being read (ETag %s, was %s)", r.l, got, r.info.ETag)
	}
	if out.ContentLength != nil && *out.ContentLength != want {
		return false, fmt.Errorf("read %s: asked for %d bytes at %d, the store announced %d", r.l, want, off, *out.ContentLength)
	}
	n, err := io.ReadFull(out.Body, p)
	r.s.fetched.Add(int64(n))
	if err != nil {
		return true, r.s.wrap("read", r.l, fmt.Errorf("the answer broke off after %d of %d bytes at %d: %w", n, want, off, err))
	}
	if extra, _ := out.Body.Read(make([]byte, 1)); extra > 0 {
		return false, fmt.Errorf("read %s: the store sent more than the %d bytes asked for at %d", r.l, want, off)
	}
	return false, nil
}

// Put writes data as one object in one request. With ifAbsent an existing
// object is not replaced: an error matching fs.ErrExist (see the package comment for what
// protects it on stores that ignore If-None-Match).
func (s *Store) Put(ctx context.Context, l Location, data []byte, ifAbsent bool) error {
	if ifAbsent {
		if err := s.absent(ctx, l); err != nil {
			return err
		}
	}
	in := &s3.PutObjectInput{Bucket: &l.Bucket, Key: &l.Key, Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))}
	if ifAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	_, err := s.client.PutObject(ctx, in)
	return s.wrap("write", l, err)
}

// absent is nil when l holds no object, errExist when it does.
func (s *Store) absent(ctx context.Context, l Location) error {
	_, err := s.Stat(ctx, l)
	switch {
	case err == nil:
		return fmt.Errorf("write %s: %w", l, errExist)
	case errors.Is(err, ErrNotExist):
		return nil
	}
	return err
}

// Delete removes an object; an object that is not there is no error.
func (s *Store) Delete(ctx context.Context, l Location) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &l.Bucket, Key: &l.Key})
	if err != nil && apiCode(err) == "NoSuchKey" {
		return nil
	}
	return s.wrap("delete", l, err)
}
