package sink

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"markimport/pipeline/mark"
	"markimport/sink/fakeim"
)

// TestRateAboveTheLimitEveryItemAccepted: a client told 2.5 times the
// emulator's limit is throttled, slows down to what the server takes, and
// every item ends accepted, with a single attempt each: throttles the
// pacer answered by slowing down spend no attempt. The pace falls once, to about the limit, instead of sawing: the
// throttles are a fraction of the requests.
func TestRateAboveTheLimitEveryItemAccepted(t *testing.T) {
	srv := fakeim.New(fakeim.Config{RateLimit: 100})
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener = srv.Listener(hs.Listener)
	hs.Start()
	defer hs.Close()
	sig, _ := NewStaticSig("test-usersig-value")
	ctr := &mark.Counters{}
	c, err := New(Config{Endpoint: hs.URL, SDKAppID: 1, Admin: "admin", Credentials: sig, Rate: 250, Margin: DefaultMargin,
		MaxAttempts: 1, Counters: ctr, backoff: backoffPolicy{Base: 50 * time.Millisecond, Cap: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 400
	out, err := sendAll(t, c, context.Background(), manyRequests(n))
	if err != nil {
		t.Fatal(err)
	}
	for seq, o := range out {
		for _, x := range o {
			if !x.Sent || x.Code != 0 {
				t.Fatalf("request %d: %+v, want accepted", seq, x)
			}
		}
	}
	st := srv.Stats().APIs[fakeim.MarkContact]
	if st.Throttled == 0 {
		t.Fatal("never throttled: the test proves nothing")
	}
	if st.Throttled > n/2 {
		t.Errorf("%d throttled answers for %d requests: the pace did not settle", st.Throttled, n)
	}
	if got := c.pacer.pace(); got > 110 {
		t.Errorf("pace %g at the end, against a limit of 100", got)
	}
	t.Logf("%d requests, %d throttled, pace %.1f at the end", st.Requests, st.Throttled, c.pacer.pace())
}
