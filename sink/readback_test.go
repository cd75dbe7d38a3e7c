package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"markimport/pipeline/mark"
	"markimport/sink/fakeim"
)

func TestParseStandardMark(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr string
	}{
		{"", 0, ""},
		{"0", 0, ""},
		{"1", 1, ""},
		{"10", 2, ""}, // the last character is bit 0
		{"100", 4, ""},
		{"111001", 0b111001, ""},
		{"0000000000000000000000000000000000000000000000000000000000000001", 1, ""},
		{"1000000000000000000000000000000000000000000000000000000000000000", 1 << 63, ""},
		{strings.Repeat("1", 64), math.MaxUint64, ""},
		{strings.Repeat("0", 65), 0, "more than 64 bits"},
		{"012", 0, "character 3 is not 0 or 1"},
		{" 1", 0, "character 1"},
		{"1 ", 0, "character 2"},
	}
	for _, tt := range tests {
		got, err := parseStandardMark(tt.in, mark.BitZeroLast)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseStandardMark(%q) = %d, %v; want an error with %q", tt.in, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("ParseStandardMark(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	// The emulator's rendering, which documents the same assumption.
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		v := r.Uint64() >> r.IntN(64)
		if got, err := parseStandardMark(fakeim.FormatStandardMark(v), mark.BitZeroLast); err != nil || got != v {
			t.Fatalf("ParseStandardMark(FormatStandardMark(%#x)) = %#x, %v", v, got, err)
		}
	}
}

// markedState fills an emulator with n conversations of user, c2c and group
// alternately, with standard marks spread over the whole 64 bits (0 and all
// ones included) and some custom marks. It returns every conversation.
func markedState(srv *fakeim.Server, user string, n int) []mark.Conversation {
	r := rand.New(rand.NewPCG(7, 8))
	convs := make([]mark.Conversation, n)
	for i := range n {
		c := fakeim.Conversation{Type: fakeim.C2C, Peer: fmt.Sprintf("peer%d", i)}
		if i%2 == 1 {
			c = fakeim.Conversation{Type: fakeim.Group, Peer: fmt.Sprintf("grp%d", i)}
		}
		m := fakeim.Mark{Standard: r.Uint64() >> r.IntN(64)}
		switch i {
		case 0:
			m.Standard = 0
		case 1:
			m.Standard = math.MaxUint64
		case 2:
			m.Standard = 1
		}
		if i%3 == 0 {
			m.Custom, m.CustomSet = fmt.Sprintf("custom %d, \"quoted\"", i), true
		}
		srv.SetMark(user, c, m)
		convs[i] = mark.Conversation{Type: uint8(c.Type), Peer: c.Peer}
	}
	return convs
}

// checkSearch compares a Search answer with the emulator's state.
func checkSearch(t *testing.T, srv *fakeim.Server, user string, asked []mark.Conversation, got map[mark.Conversation]mark.ServerMarks) {
	t.Helper()
	want := srv.Conversations(user)
	n := 0
	for _, c := range asked {
		m, ok := want[fakeim.Conversation{Type: int(c.Type), Peer: c.Peer}]
		g, found := got[c]
		if ok != found {
			t.Errorf("%v: found %v, want %v", c, found, ok)
			continue
		}
		if ok {
			n++
			if g.Standard != m.Standard || g.Custom != m.Custom {
				t.Errorf("%v: read %#x %q, server holds %#x %q", c, g.Standard, g.Custom, m.Standard, m.Custom)
			}
		}
	}
	if len(got) != n {
		t.Errorf("the answer has %d conversations, %d of those asked are marked", len(got), n)
	}
}

func TestSearchReadsBackBothRenderings(t *testing.T) {
	for _, short := range []bool{false, true} {
		t.Run(fmt.Sprintf("short=%v", short), func(t *testing.T) {
			srv := fakeim.New(fakeim.Config{ShortStandardMark: short, RateLimit: -1})
			hs := httptest.NewServer(srv)
			defer hs.Close()
			convs := markedState(srv, "u", 290)
			// Ten conversations the user never marked are absent from the answer.
			for i := range 10 {
				convs = append(convs, mark.Conversation{Type: mark.C2C, Peer: fmt.Sprintf("never%d", i)})
			}
			rc, ctr := readClient(t, hs.URL, 1000, 3)
			got, err := rc.Search(context.Background(), "u", convs)
			if err != nil {
				t.Fatal(err)
			}
			checkSearch(t, srv, "u", convs, got)
			if n := ctr.HTTPRequests.Load(); n != 1 {
				t.Errorf("%d HTTP requests for 300 conversations, want 1", n)
			}
			// A user with no marks at all: an empty answer, not an error.
			got, err = rc.Search(context.Background(), "nobody", convs[:3])
			if err != nil || len(got) != 0 {
				t.Errorf("user without marks: %v, %v", got, err)
			}
		})
	}
}

func TestSearchRetriesThroughFaultsAndThrottling(t *testing.T) {
	// The emulator allows 10 reads a second; the client is told 25 and
	// asked from 6 goroutines, so that it gets throttled and must slow
	// down even on a loaded machine, whose round trips are slow; about 40%
	// of the requests meet a transient error, a 502 or a lost answer.
	srv := fakeim.New(fakeim.Config{RateLimit: 10, TransientRate: 0.15, HTTP502Rate: 0.1, LostResponseRate: 0.15, Seed: 3})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	convs := markedState(srv, "u", 300)
	rc, ctr := readClient(t, hs.URL, 25, 30)
	const searches, readers = 36, 6
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			for i := r; i < searches; i += readers {
				batch := convs[i*7%250 : i*7%250+50]
				got, err := rc.Search(context.Background(), "u", batch)
				if err != nil {
					t.Errorf("search %d: %v", i, err)
					return
				}
				checkSearch(t, srv, "u", batch, got)
			}
		})
	}
	wg.Wait()
	st := srv.Stats()
	if st.APIs[fakeim.SearchContactGroup].Throttled == 0 || ctr.Throttled.Total() == 0 {
		t.Errorf("never throttled: %s", st)
	}
	if st.Faults[fakeim.FaultTransient] == 0 || st.Faults[fakeim.FaultHTTP502] == 0 || st.Faults[fakeim.FaultLostResponse] == 0 {
		t.Errorf("faults not all injected: %v", st.Faults)
	}
	if ctr.Retries.Load() == 0 {
		t.Error("no retries counted")
	}
}

func TestSearchErrors(t *testing.T) {
	ctx := context.Background()
	one := []mark.Conversation{{Type: mark.C2C, Peer: "p"}}

	t.Run("fatal code", func(t *testing.T) {
		hs := httptest.NewServer(fakeim.New(fakeim.Config{Admins: []string{"someone-else"}}))
		defer hs.Close()
		rc, ctr := readClient(t, hs.URL, 1000, 5)
		_, err := rc.Search(ctx, "u", one)
		var fe *mark.FatalError
		if !errors.As(err, &fe) || fe.Code != 50003 || fe.Hint == "" {
			t.Fatalf("got %v, want a fatal 50003 with a hint", err)
		}
		if n := ctr.HTTPRequests.Load(); n != 1 {
			t.Errorf("%d requests after a fatal answer, want 1", n)
		}
	})
	t.Run("other code fails these conversations only", func(t *testing.T) {
		hs := httptest.NewServer(fakeim.New(fakeim.Config{Users: []string{"known"}}))
		defer hs.Close()
		rc, ctr := readClient(t, hs.URL, 1000, 5)
		_, err := rc.Search(ctx, "stranger", one)
		var fe *mark.FatalError
		if err == nil || errors.As(err, &fe) || !strings.Contains(err.Error(), "50001") {
			t.Fatalf("got %v, want a non-fatal error naming 50001", err)
		}
		if n := ctr.HTTPRequests.Load(); n != 1 {
			t.Errorf("%d requests, want 1 (not retried)", n)
		}
	})
	t.Run("transient until the attempts run out", func(t *testing.T) {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"ActionStatus":"FAIL","ErrorCode":70500,"ErrorInfo":"busy"}`)
		}))
		defer hs.Close()
		rc, ctr := readClient(t, hs.URL, 1000, 4)
		_, err := rc.Search(ctx, "u", one)
		if err == nil || !strings.Contains(err.Error(), "gave up after 4 attempts: busy") {
			t.Fatalf("got %v", err)
		}
		if n := ctr.HTTPRequests.Load(); n != 4 {
			t.Errorf("%d requests, want 4", n)
		}
	})
	t.Run("bad StandardMark", func(t *testing.T) {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"ActionStatus":"OK","ErrorCode":0,"ContactResultItem":[{"Type":1,"To_Account":"p","StandardMark":"10x1"}]}`)
		}))
		defer hs.Close()
		rc, _ := readClient(t, hs.URL, 1000, 4)
		_, err := rc.Search(ctx, "u", one)
		if err == nil || !strings.Contains(err.Error(), `protocol error: the entry for c2c "p": StandardMark "10x1": character 3 is not 0 or 1`) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("batch size", func(t *testing.T) {
		rc, ctr := readClient(t, "http://127.0.0.1:1", 1000, 4)
		for _, n := range []int{0, mark.MaxSearchItems + 1} {
			if _, err := rc.Search(ctx, "u", make([]mark.Conversation, n)); err == nil {
				t.Errorf("%d conversations accepted", n)
			}
		}
		if ctr.HTTPRequests.Load() != 0 {
			t.Error("a request was sent")
		}
	})
}

func TestSearchWireForm(t *testing.T) {
	bodies := make(chan string, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- r.URL.Path + " " + string(b)
		fmt.Fprint(w, `{"ActionStatus":"OK","ErrorCode":0,"ContactResultItem":[{"Type":2,"ToGroupId":"g","StandardMark":"101","CustomMark":"x"}]}`)
	}))
	defer hs.Close()
	rc, _ := readClient(t, hs.URL, 1000, 4)
	got, err := rc.Search(context.Background(), "u", []mark.Conversation{{Type: mark.C2C, Peer: "p"}, {Type: mark.Group, Peer: "g"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `/v4/recentcontact/search_contact_group {"From_Account":"u","ContactItem":[{"Type":1,"To_Account":"p"},{"Type":2,"ToGroupId":"g"}]}`
	if body := <-bodies; body != want {
		t.Errorf("request\n%s\nwant\n%s", body, want)
	}
	if m := got[mark.Conversation{Type: mark.Group, Peer: "g"}]; len(got) != 1 || m.Standard != 5 || m.Custom != "x" {
		t.Errorf("answer read as %+v", got)
	}
}
