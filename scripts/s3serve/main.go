// Command s3serve is the S3 protocol server of scripts/bench-s3.sh: gofakes3
// with its in-memory backend on a loopback port, holding the files it is
// given, so that the benchmark reads a bucket over real HTTP. It is a
// benchmark's helper, not part of markimport.
//
//	go run ./scripts/s3serve -bucket lake -put DIR -prefix exports/
//
// It uploads every file beneath DIR under the prefix, prints the endpoint
// (http://127.0.0.1:PORT) on a line of its own, and serves until SIGTERM or
// SIGINT; then it prints the bytes its GET answers carried
// ("bytes_served N") on standard error.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	bucket := flag.String("bucket", "lake", "bucket to create")
	dir := flag.String("put", "", "folder whose files are uploaded")
	prefix := flag.String("prefix", "", "key prefix of the uploaded files")
	flag.Parse()
	backend := s3mem.New()
	if err := backend.CreateBucket(*bucket); err != nil {
		log.Fatal(err)
	}
	if *dir != "" {
		if err := upload(backend, *bucket, *dir, *prefix); err != nil {
			log.Fatal(err)
		}
	}
	var served atomic.Int64
	faker := gofakes3.New(backend).Server()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w = &counting{ResponseWriter: w, n: &served}
		}
		faker.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go srv.Serve(ln)
	fmt.Printf("http://%s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	srv.Close()
	fmt.Fprintf(os.Stderr, "bytes_served %d\n", served.Load())
}

// upload puts every file beneath dir into bucket under prefix.
func upload(backend *s3mem.Backend, bucket, dir, prefix string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		_, err = backend.PutObject(bucket, prefix+filepath.ToSlash(rel), map[string]string{}, bytes.NewReader(data), int64(len(data)), nil)
		return err
	})
}

// counting counts the bytes of the answers' bodies.
type counting struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *counting) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}
