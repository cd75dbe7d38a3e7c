// Command s3slow is an S3 protocol server on loopback for the benchmarks
// (gofakes3 with its in-memory backend, as the tests' s3test): it creates
// the buckets named by -bucket, answers every request after -latency, and
// prints "s3slow listening on http://ADDR" once it listens. SIGINT or
// SIGTERM stops it. The keys are not checked: any AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY do.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback address")
	buckets := flag.String("bucket", "bench", "buckets to create, comma-separated")
	latency := flag.Duration("latency", 0, "delay before each answer")
	flag.Parse()
	backend := s3mem.New()
	for _, b := range strings.Split(*buckets, ",") {
		if err := backend.CreateBucket(b); err != nil {
			fmt.Fprintln(os.Stderr, "s3slow:", err)
			os.Exit(1)
		}
	}
	h := gofakes3.New(backend).Server()
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(*latency)
		h.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3slow:", err)
		os.Exit(1)
	}
	fmt.Printf("s3slow listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: slow}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "s3slow:", err)
		os.Exit(1)
	}
}
