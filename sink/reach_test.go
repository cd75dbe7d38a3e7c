package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"markimport/pipeline/mark"
)

// TestDeadEndpointStopsAtOnce: nothing listens at the endpoint. The run
// stops as fatal after a few refused connections instead of retrying every
// request: the error names the endpoint and the cause, and no row is
// claimed sent.
func TestDeadEndpointStopsAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // refused from now on
	sig, _ := NewStaticSig("test-usersig-value")
	var dials atomic.Int32
	dialer := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		dials.Add(1)
		return dialer.DialContext(ctx, network, a)
	}}}
	c, err := New(Config{Endpoint: "http://" + addr, SDKAppID: 1, Admin: "admin", Credentials: sig, Rate: 200, HTTPClient: hc,
		backoff: backoffPolicy{Base: 50 * time.Millisecond, Cap: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := sendAll(t, c, context.Background(), manyRequests(500))
	var fe *mark.FatalError
	if !errors.As(err, &fe) || fe.Code != mark.CodeUnreachable {
		t.Fatalf("Send: %v, want a fatal unreachable error", err)
	}
	if msg := fe.Error(); !strings.Contains(msg, addr) || !strings.Contains(msg, "connection refused") || strings.Contains(msg, "test-usersig-value") {
		t.Errorf("message %q: want the endpoint and the cause, no usersig", msg)
	}
	if n := dials.Load(); n > 50 {
		t.Errorf("%d dials before stopping, want a handful", n)
	}
	for seq, o := range out {
		for _, x := range o {
			if x.Sent || x.Attempts != 0 {
				t.Fatalf("request %d: outcome %+v, want unsent with no attempt", seq, x)
			}
		}
	}
}

// TestConnectionFailuresAfterSuccessAreTransient: once the API answered,
// failures to connect are retried, not fatal, and a warning says they
// persist.
func TestConnectionFailuresAfterSuccessAreTransient(t *testing.T) {
	s := &scripted{answer: func(_ int, req markContactBody, w http.ResponseWriter) {
		json.NewEncoder(w).Encode(okItems(req, func(wireContact) int { return 0 }))
	}}
	hs := httptest.NewServer(s)
	defer hs.Close()
	var up atomic.Bool
	up.Store(true)
	dialer := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		if !up.Load() {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
		}
		return dialer.DialContext(ctx, network, a)
	}}}
	var logs bytes.Buffer
	var logMu sync.Mutex
	sig, _ := NewStaticSig("test-usersig-value")
	c, err := New(Config{Endpoint: hs.URL, SDKAppID: 1, Admin: "admin", Credentials: sig, Rate: 1000, HTTPClient: hc, MaxAttempts: 4,
		backoff: backoffPolicy{Base: time.Millisecond, Cap: 2 * time.Millisecond},
		Log:     slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := sendAll(t, c, context.Background(), manyRequests(3)); err != nil || !out[1][0].Sent || out[1][0].Code != 0 {
		t.Fatalf("first requests: %v %+v", err, out)
	}
	up.Store(false)
	out, err := sendAll(t, c, context.Background(), manyRequests(20))
	if err != nil {
		t.Fatalf("Send after the endpoint went away: %v, want no fatal error", err)
	}
	for seq, o := range out {
		if o[0].Code != codeTransport || !strings.Contains(o[0].Message, "gave up after 4 attempts") {
			t.Fatalf("request %d: %+v", seq, o[0])
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "cannot be reached") {
		t.Errorf("no warning that connection failures persist: %q", logs.String())
	}
}

// TestStoppedItemsAreUnsent: items that were throttled, then the run
// stopped before they were confirmed, are unsent with the last code seen,
// not failed; requests that never left are unsent with no attempt.
func TestStoppedItemsAreUnsent(t *testing.T) {
	s := &scripted{answer: func(_ int, req markContactBody, w http.ResponseWriter) {
		json.NewEncoder(w).Encode(Response{ActionStatus: "FAIL", ErrorCode: 60007, ErrorInfo: "too many"})
	}}
	hs := httptest.NewServer(s)
	defer hs.Close()
	sig, _ := NewStaticSig("test-usersig-value")
	c, err := New(Config{Endpoint: hs.URL, SDKAppID: 1, Admin: "admin", Credentials: sig, Rate: 50, Concurrency: 2,
		backoff: backoffPolicy{Base: 200 * time.Millisecond, Cap: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(s.sent()) < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	out, err := sendAll(t, c, ctx, manyRequests(2))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send: %v", err)
	}
	for seq, o := range out {
		for _, x := range o {
			if x.Sent || x.Code != 60007 || !strings.Contains(x.Message, "not retried: the run stopped") || x.Attempts < 1 {
				t.Errorf("request %d: %+v, want unsent with 60007 after its attempts", seq, x)
			}
		}
	}
}
