package fakeim_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"markimport/sink/fakeim"
)

func TestFaultHTTP502(t *testing.T) {
	f := newFixture(t, fakeim.Config{HTTP502Rate: 1})
	status, _, err := f.post(fakeim.MarkContact, f.query, markBody("u", setBits(c2c("a"), 1)))
	if err != nil || status != http.StatusBadGateway {
		t.Fatalf("HTTP %d, %v; want 502", status, err)
	}
	if f.srv.TotalConversations() != 0 {
		t.Fatal("a 502 applied the change")
	}
	if st := f.srv.Stats(); st.Faults[fakeim.FaultHTTP502] != 1 {
		t.Fatalf("stats %v", st)
	}
}

func TestFaultTransient(t *testing.T) {
	f := newFixture(t, fakeim.Config{TransientRate: 1, Seed: 3})
	seen := map[int]int{}
	for range 20 {
		r := f.mark(markBody("u", setBits(c2c("a"), 1)))
		if r.ActionStatus != "FAIL" {
			t.Fatalf("answer %+v", r)
		}
		seen[r.ErrorCode]++
	}
	if len(seen) != 2 || seen[50004] == 0 || seen[70500] == 0 {
		t.Fatalf("codes %v, want both 50004 and 70500", seen)
	}
	if f.srv.TotalConversations() != 0 {
		t.Fatal("a transient error applied the change")
	}
	if st := f.srv.Stats(); st.Faults[fakeim.FaultTransient] != 20 {
		t.Fatalf("stats %v", st)
	}
}

func TestFaultItemTransient(t *testing.T) {
	f := newFixture(t, fakeim.Config{ItemTransientRate: 0.3, Seed: 1})
	var items []fakeim.MarkItem
	for i := range 100 {
		items = append(items, setBits(c2c(fmt.Sprintf("p%d", i)), 1))
	}
	r := f.mark(markBody("u", items...))
	if r.ActionStatus != "OK" || r.ErrorCode != 0 {
		t.Fatalf("answer %+v", r)
	}
	state := f.srv.Conversations("u")
	failed := map[int]int{}
	for _, it := range r.ResultItem {
		_, applied := state[fakeim.Conversation{Type: 1, Peer: it.ContactItem.ToAccount}]
		switch it.ResultCode {
		case 0:
			if !applied {
				t.Fatalf("%+v answered 0 but not applied", it)
			}
		case 50004, 50005:
			failed[it.ResultCode]++
			if applied {
				t.Fatalf("%+v failed but applied", it)
			}
		default:
			t.Fatalf("unexpected %+v", it)
		}
	}
	n := failed[50004] + failed[50005]
	if n < 10 || n > 50 || failed[50004] == 0 || failed[50005] == 0 {
		t.Fatalf("failed items %v", failed)
	}
	if st := f.srv.Stats(); st.Faults[fakeim.FaultItemTransient] != int64(n) || st.ItemsApplied != int64(100-n) {
		t.Fatalf("stats %v", st)
	}

	// The same seed repeats the same faults.
	g := newFixture(t, fakeim.Config{ItemTransientRate: 0.3, Seed: 1})
	g.mark(markBody("u", items...))
	if got := g.srv.Conversations("u"); len(got) != len(state) {
		t.Fatalf("same seed, different outcome: %d vs %d applied", len(got), len(state))
	}
}

func TestFaultLostResponse(t *testing.T) {
	f := newFixture(t, fakeim.Config{LostResponseRate: 1})
	_, _, err := f.post(fakeim.MarkContact, f.query, markBody("u", setBits(c2c("a"), 1)))
	if err == nil {
		t.Fatal("the client got an answer")
	}
	if m, ok := f.srv.Lookup("u", fakeim.Conversation{Type: 1, Peer: "a"}); !ok || m.Standard != 2 {
		t.Fatal("a lost response must still apply the change")
	}
	_, _, err = f.post(fakeim.GetContactGroup, f.query, `{"From_Account":"u","StartIndex":0}`)
	if err == nil {
		t.Fatal("the client got an answer to a read")
	}
	if st := f.srv.Stats(); st.Faults[fakeim.FaultLostResponse] != 2 || st.ItemsApplied != 1 {
		t.Fatalf("stats %v", st)
	}
}

func TestLatency(t *testing.T) {
	f := newFixture(t, fakeim.Config{Latency: 30 * time.Millisecond, LatencyJitter: 10 * time.Millisecond})
	start := time.Now()
	f.markOK("u", setBits(c2c("a"), 1))
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("answered in %v", d)
	}

	// A request waiting out the latency is in flight until it ends; a
	// client that gives up then gets nothing, the server counts it
	// abandoned, and nothing is applied. The client gives up once the
	// server holds its request, not at a time of its own: a timeout could
	// pass before the request reached the server.
	slow := newFixture(t, fakeim.Config{Latency: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost,
		slow.ts.URL+"/v4/recentcontact/mark_contact?"+slow.query.Encode(),
		strings.NewReader(markBody("u", setBits(c2c("a"), 1))))
	answered := make(chan error, 1)
	go func() {
		resp, err := slow.ts.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for slow.srv.Stats().InFlight != 1 {
		if time.Now().After(deadline) {
			t.Fatal("a request waiting out the latency is not in flight")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-answered; err == nil {
		t.Fatal("a client that gave up got an answer")
	}
	for st := slow.srv.Stats(); st.Abandoned != 1 || st.InFlight != 0; st = slow.srv.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not notice the client leaving: %d abandoned, %d in flight", st.Abandoned, st.InFlight)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if slow.srv.TotalConversations() != 0 || slow.srv.Stats().ItemsApplied != 0 {
		t.Fatal("the change of an abandoned request was applied")
	}
}

func TestStatsString(t *testing.T) {
	clk := newClock(time.Unix(1_700_000_000, 0))
	f := newFixture(t, fakeim.Config{RateLimit: 1, Now: clk.Now})
	f.markOK("u", setBits(c2c("a"), 1))
	f.mark(markBody("u", setBits(c2c("a"), 1)))
	s := f.srv.Stats().String()
	for _, want := range []string{"2 requests", "1 accepted", "1 throttled", "peak 2/s", "1 applied", "errors 60007=1"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q lacks %q", s, want)
		}
	}
	if strings.Contains(s, "\n") {
		t.Errorf("%q is not one line", s)
	}
}

func TestBodyTooLarge(t *testing.T) {
	f := newFixture(t, fakeim.Config{})
	huge := `{"From_Account":"u","MarkItem":[` + strings.Repeat(" ", 1<<20) + `]}`
	var r fakeim.Status
	f.call(fakeim.MarkContact, huge, &r)
	if r.ErrorCode != 50002 || f.srv.Stats().MalformedRequests != 1 {
		t.Fatalf("answer %+v", r)
	}
}
