package fakeim_test

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"markimport/sink/fakeim"
	"markimport/sink/usersig"
)

const testKey = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"

func genSig(t *testing.T, key string, appID uint64, id string, at time.Time, ttl time.Duration) string {
	t.Helper()
	s, err := usersig.Generate(key, appID, id, at, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRequestChecks(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clk := newClock(t0.Add(time.Hour))
	var logMu sync.Mutex
	var logs []string
	cfg := fakeim.Config{
		SDKAppID:  testAppID,
		Admins:    []string{testAdmin, "admin2"},
		SecretKey: testKey,
		Now:       clk.Now,
		Logf: func(format string, args ...any) {
			logMu.Lock()
			defer logMu.Unlock()
			logs = append(logs, strings.TrimSpace(fmt.Sprintf(format, args...)))
		},
	}
	valid := genSig(t, testKey, testAppID, testAdmin, t0, 24*time.Hour)
	secrets := []string{testKey}
	sig := func(s string) string { secrets = append(secrets, s); return s }

	tests := []struct {
		name string
		q    []string // changes to the default query
		code int
	}{
		{"valid", []string{"usersig", valid}, 0},
		{"random 0", []string{"usersig", valid, "random", "0"}, 0},
		{"sdkappid missing", []string{"usersig", valid, "sdkappid", ""}, 60012},
		{"sdkappid not a number", []string{"usersig", valid, "sdkappid", "14x"}, 60002},
		{"sdkappid of another app", []string{"usersig", valid, "sdkappid", "1400000001"}, 70020},
		{"identifier missing", []string{"usersig", valid, "identifier", ""}, 60002},
		{"random missing", []string{"usersig", valid, "random", ""}, 60002},
		{"random negative", []string{"usersig", valid, "random", "-1"}, 60002},
		{"random above uint32", []string{"usersig", valid, "random", "4294967296"}, 60002},
		{"random not a number", []string{"usersig", valid, "random", "abc"}, 60002},
		{"contenttype missing", []string{"usersig", valid, "contenttype", ""}, 60002},
		{"contenttype not json", []string{"usersig", valid, "contenttype", "xml"}, 60002},
		{"usersig missing", []string{"usersig", ""}, 70003},
		{"usersig garbage", []string{"usersig", sig("garbage-usersig")}, 70003},
		{"usersig of another key", []string{"usersig", sig(genSig(t, strings.Repeat("9", 64), testAppID, testAdmin, t0, 24*time.Hour))}, 70009},
		{"usersig of another identifier", []string{"usersig", sig(genSig(t, testKey, testAppID, "admin2", t0, 24*time.Hour))}, 70013},
		{"usersig of another sdkappid", []string{"usersig", sig(genSig(t, testKey, 1400000001, testAdmin, t0, 24*time.Hour))}, 70014},
		{"usersig expired", []string{"usersig", sig(genSig(t, testKey, testAppID, testAdmin, t0, time.Hour-time.Second))}, 70001},
		{"usersig expiring now is valid", []string{"usersig", genSig(t, testKey, testAppID, testAdmin, t0, time.Hour)}, 0},
		{"not an admin", []string{"identifier", "bob", "usersig", sig(genSig(t, testKey, testAppID, "bob", t0, 24*time.Hour))}, 50003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := seeded(t, cfg)
			before := f.srv.Snapshot()
			var r fakeim.MarkContactResponse
			f.callQ(fakeim.MarkContact, f.withQuery(tt.q...), markBody("user0", setBits(c2c("a"), 1)), &r)
			if r.ErrorCode != tt.code {
				t.Fatalf("ErrorCode %d (%s), want %d", r.ErrorCode, r.ErrorInfo, tt.code)
			}
			if tt.code == 0 {
				if r.ActionStatus != "OK" || len(r.ResultItem) != 1 {
					t.Fatalf("answer %+v", r)
				}
				return
			}
			if r.ActionStatus != "FAIL" || r.ErrorInfo == "" {
				t.Fatalf("answer %+v", r)
			}
			for _, s := range secrets {
				if strings.Contains(r.ErrorInfo, s) {
					t.Fatalf("ErrorInfo %q reveals a secret", r.ErrorInfo)
				}
			}
			if after := f.srv.Snapshot(); !reflect.DeepEqual(before, after) {
				t.Fatalf("state changed: %v -> %v", before, after)
			}
		})
	}
	t.Run("read APIs check too", func(t *testing.T) {
		f := newFixture(t, cfg)
		var r fakeim.Status
		f.callQ(fakeim.GetContactGroup, f.withQuery("usersig", "garbage"), `{"From_Account":"u","StartIndex":0}`, &r)
		if r.ErrorCode != 70003 {
			t.Fatalf("get_contact_group: %+v", r)
		}
		f.callQ(fakeim.SearchContactGroup, f.withQuery("usersig", valid, "identifier", "admin2"),
			`{"From_Account":"u","ContactItem":[{"Type":1,"To_Account":"a"}]}`, &r)
		if r.ErrorCode != 70013 {
			t.Fatalf("search_contact_group: %+v", r)
		}
	})

	logMu.Lock()
	defer logMu.Unlock()
	if len(logs) == 0 {
		t.Fatal("nothing logged")
	}
	for _, line := range logs {
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Fatalf("log line %q reveals a secret", line)
			}
		}
	}
}

func TestRepeatedQueryParameter(t *testing.T) {
	f := newFixture(t, fakeim.Config{})
	q := f.withQuery()
	q.Add("random", "7")
	var r fakeim.Status
	f.callQ(fakeim.MarkContact, q, markBody("u", setBits(c2c("a"), 1)), &r)
	if r.ErrorCode != 60002 {
		t.Fatalf("answer %+v", r)
	}
}

func TestMethodMustBePost(t *testing.T) {
	f := newFixture(t, fakeim.Config{})
	resp, err := f.ts.Client().Get(f.ts.URL + "/v4/recentcontact/mark_contact?" + f.query.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	if st := f.srv.Stats(); st.ErrorCodes[60002] != 1 || st.MalformedRequests != 1 {
		t.Fatalf("stats %v", st)
	}
}

func TestUnknownPath(t *testing.T) {
	f := newFixture(t, fakeim.Config{})
	for _, p := range []string{"/v4/recentcontact/mark_contacts", "/", "/v4/openim/sendmsg"} {
		resp, err := f.ts.Client().Post(f.ts.URL+p+"?"+f.query.Encode(), "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: HTTP %d", p, resp.StatusCode)
		}
	}
	if st := f.srv.Stats(); st.NotFound != 3 || st.Requests != 3 || st.Accepted != 0 {
		t.Fatalf("stats %v", st)
	}
}

func TestFixedUserSig(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clk := newClock(t0)
	fixed := genSig(t, testKey, testAppID, testAdmin, t0, time.Hour)
	f := newFixture(t, fakeim.Config{UserSig: fixed, Now: clk.Now})
	tests := []struct {
		sig  string
		code int
	}{
		{fixed, 0},
		{genSig(t, testKey, testAppID, testAdmin, t0.Add(time.Second), time.Hour), 70009},
		{"not-a-sig", 70003},
	}
	for _, tt := range tests {
		var r fakeim.Status
		f.callQ(fakeim.MarkContact, f.withQuery("usersig", tt.sig), markBody("u", setBits(c2c("a"), 1)), &r)
		if r.ErrorCode != tt.code {
			t.Errorf("ErrorCode %d, want %d", r.ErrorCode, tt.code)
		}
	}
	clk.Add(time.Hour + time.Second)
	var r fakeim.Status
	f.callQ(fakeim.MarkContact, f.withQuery("usersig", fixed), markBody("u", setBits(c2c("a"), 1)), &r)
	if r.ErrorCode != 70001 {
		t.Errorf("expired fixed usersig: ErrorCode %d", r.ErrorCode)
	}
}

func TestSigTTL(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clk := newClock(t0)
	f := newFixture(t, fakeim.Config{SDKAppID: testAppID, SecretKey: testKey, SigTTL: 2 * time.Second, Now: clk.Now})
	long := genSig(t, testKey, testAppID, testAdmin, t0, 24*time.Hour)
	send := func(sig string) int {
		var r fakeim.Status
		f.callQ(fakeim.MarkContact, f.withQuery("usersig", sig), markBody("u", setBits(c2c("a"), 1)), &r)
		return r.ErrorCode
	}
	clk.Add(2 * time.Second)
	if code := send(long); code != 0 {
		t.Fatalf("at SigTTL: %d", code)
	}
	clk.Add(time.Second)
	if code := send(long); code != 70001 {
		t.Fatalf("past SigTTL: %d, want 70001", code)
	}
	if code := send(genSig(t, testKey, testAppID, testAdmin, clk.Now(), 24*time.Hour)); code != 0 {
		t.Fatalf("renewed: %d", code)
	}
}

// TestSigExpiredByTheTest: with Config.Expired, the test's verdict on a
// usersig's issue time decides 70001, not the clock: a usersig long past
// its lifetime is accepted, one the test expires is refused, and the other
// checks still come first.
func TestSigExpiredByTheTest(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clk := newClock(t0)
	var mu sync.Mutex
	cutoff := time.Time{}
	f := newFixture(t, fakeim.Config{SDKAppID: testAppID, SecretKey: testKey, SigTTL: time.Second, Now: clk.Now,
		Expired: func(issued time.Time) bool {
			mu.Lock()
			defer mu.Unlock()
			return issued.Before(cutoff)
		}})
	send := func(sig string) int {
		var r fakeim.Status
		f.callQ(fakeim.MarkContact, f.withQuery("usersig", sig), markBody("u", setBits(c2c("a"), 1)), &r)
		return r.ErrorCode
	}
	old := genSig(t, testKey, testAppID, testAdmin, t0, 2*time.Second)
	clk.Add(time.Hour)
	if code := send(old); code != 0 {
		t.Fatalf("an hour past its lifetime, not expired by the test: %d, want 0", code)
	}
	mu.Lock()
	cutoff = clk.Now()
	mu.Unlock()
	if code := send(old); code != 70001 {
		t.Fatalf("issued before the cutoff: %d, want 70001", code)
	}
	if code := send(genSig(t, testKey, testAppID, testAdmin, clk.Now(), 2*time.Second)); code != 0 {
		t.Fatalf("issued at the cutoff: %d, want 0", code)
	}
	if code := send(genSig(t, "another-key-entirely-0000000000", testAppID, testAdmin, t0, 2*time.Second)); code != 70009 {
		t.Fatalf("made with another key, before the cutoff: %d, want 70009", code)
	}
}
