package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"markimport/pipeline/mark"
	"markimport/sink/fakeim"
	"markimport/sink/usersig"
)

func TestRunImportsExactly(t *testing.T) {
	dir, in, rows := newInput(t, 1, 1500)
	srv, url := startEmulator(t, fakeim.Config{})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	report, summary := filepath.Join(dir, "report.csv"), filepath.Join(dir, "summary.json")
	code, stdout, stderr := runCLI(t, "run", "--input", in, "--report", report, "--summary", summary,
		"--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet")
	if code != exitSomeNotOK {
		t.Fatalf("exit %d, want 1 (invalid rows)\n%s\n%s", code, stdout, stderr)
	}
	checkImport(t, srv, rows, report)
	e := expect(rows)
	if got := srv.Stats().APIs[fakeim.MarkContact].Accepted; int(got) != e.requests {
		t.Errorf("%d requests sent, lower bound %d", got, e.requests)
	}
	var sum map[string]any
	b, _ := os.ReadFile(summary)
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatalf("summary: %v", err)
	}
	if int(sum["requests_planned"].(float64)) != e.requests || int(sum["exit_code"].(float64)) != 1 {
		t.Errorf("summary %s", b)
	}
	for _, out := range []string{stdout, stderr, string(b)} {
		if strings.Contains(out, testKey) {
			t.Errorf("the secret key leaked: %s", out)
		}
	}
}

func TestValidateSendsNothing(t *testing.T) {
	dir, in, rows := newInput(t, 2, 300)
	report := filepath.Join(dir, "report.csv")
	code, stdout, _ := runCLI(t, "validate", "--input", in, "--report", report, "--quiet")
	if code != exitSomeNotOK {
		t.Fatalf("exit %d, want 1", code)
	}
	e := expect(rows)
	rep := readReport(t, report)
	if len(rep) != len(rows) {
		t.Fatalf("report has %d rows, want %d", len(rep), len(rows))
	}
	for row, want := range e.status {
		if want == "ok" {
			want = "valid"
		}
		if rep[row].status != want {
			t.Errorf("row %d: %s, want %s", row, rep[row].status, want)
		}
	}
	if !strings.Contains(stdout, fmt.Sprintf("requests       %d planned", e.requests)) {
		t.Errorf("plan does not show %d requests:\n%s", e.requests, stdout)
	}
}

// TestRunWithFaultsEndsExact: each fault alone and all together, at
// realistic rates: every row ends ok and the server holds exactly what the
// file asks.
func TestRunWithFaultsEndsExact(t *testing.T) {
	cases := []struct {
		name  string
		cfg   fakeim.Config
		fault fakeim.Fault
	}{
		{"transient errors", fakeim.Config{TransientRate: 0.05}, fakeim.FaultTransient},
		{"item transient errors", fakeim.Config{ItemTransientRate: 0.05}, fakeim.FaultItemTransient},
		{"HTTP 502", fakeim.Config{HTTP502Rate: 0.03}, fakeim.FaultHTTP502},
		{"lost responses", fakeim.Config{LostResponseRate: 0.03}, fakeim.FaultLostResponse},
		{"latency with jitter", fakeim.Config{Latency: 20 * time.Millisecond, LatencyJitter: 80 * time.Millisecond}, ""},
		{"all together", fakeim.Config{TransientRate: 0.05, ItemTransientRate: 0.03, HTTP502Rate: 0.01, LostResponseRate: 0.01,
			Latency: 5 * time.Millisecond, LatencyJitter: 20 * time.Millisecond}, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, in, rows := newInput(t, uint64(30+i), 1200)
			tc.cfg.Seed = int64(5 + i)
			srv, url := startEmulator(t, tc.cfg)
			t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
			report := filepath.Join(dir, "report.csv")
			code, stdout, stderr := runCLI(t, "run", "--input", in, "--report", report,
				"--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet", "--max-attempts", "10")
			if code != exitSomeNotOK {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			checkImport(t, srv, rows, report)
			f := srv.Stats().Faults
			if tc.fault != "" && f[tc.fault] == 0 {
				t.Errorf("the fault %s was not injected: %v", tc.fault, f)
			}
			if tc.name == "all together" && (f[fakeim.FaultTransient] == 0 || f[fakeim.FaultItemTransient] == 0) {
				t.Errorf("faults were not all injected: %v", f)
			}
		})
	}
}

func TestFatalStopsTheRun(t *testing.T) {
	dir, in, rows := newInput(t, 4, 3000)
	cases := []struct {
		name string
		cfg  fakeim.Config
		key  string
		code int
	}{
		{"wrong key", fakeim.Config{}, "another-key-entirely-0000000000", 70009},
		{"not an admin", fakeim.Config{Admins: []string{"someone-else"}}, testKey, 50003},
		{"no standard marks", fakeim.Config{NoStandardMarks: true}, testKey, 51013},
		{"wrong sdkappid", fakeim.Config{SDKAppID: testAppID + 1}, testKey, 70020},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := startEmulator(t, tc.cfg)
			t.Setenv("MARKIMPORT_SECRET_KEY", tc.key)
			report := filepath.Join(dir, tc.name+".csv")
			code, _, stderr := runCLI(t, "run", "--input", in, "--report", report,
				"--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet")
			if code != exitFatal {
				t.Fatalf("exit %d, want 3\n%s", code, stderr)
			}
			if !strings.Contains(stderr, strconv.Itoa(tc.code)) {
				t.Errorf("message does not name %d:\n%s", tc.code, stderr)
			}
			rep := readReport(t, report)
			if len(rep) != len(rows) {
				t.Fatalf("report has %d rows, want %d", len(rep), len(rows))
			}
			// Invalid and rejected rows say so; every row that would have
			// been sent is unsent, or failed with the fatal code.
			e := expect(rows)
			unsent := 0
			for row, l := range rep {
				switch want := e.status[row]; {
				case want == "invalid" && (l.status != "invalid" || l.code != mark.CodeInvalid),
					want == "rejected" && (l.status != "rejected" || l.code != mark.CodeTooManyConversations),
					want == "ok" && l.status != "unsent" && (l.status != "failed" || l.code != tc.code):
					t.Fatalf("row %d: %s %d (%s), want it %s", row, l.status, l.code, l.message, map[string]string{
						"invalid": "invalid 50002", "rejected": "rejected 51008", "ok": fmt.Sprintf("unsent or failed %d", tc.code)}[want])
				}
				if l.status == "unsent" {
					unsent++
				}
			}
			if unsent == 0 {
				t.Errorf("no row unsent")
			}
			if users := srv.Snapshot(); len(users) != 0 {
				t.Errorf("the emulator holds marks of %d users after %d", len(users), tc.code)
			}
			// Requests already in flight may finish, but there is no flood.
			if n := srv.Stats().APIs[fakeim.MarkContact].Requests; n > 250 {
				t.Errorf("%d requests sent after a fatal answer", n)
			}
			if strings.Contains(stderr, tc.key) {
				t.Errorf("secret leaked")
			}
		})
	}
}

func TestInputErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	cases := []struct {
		name, path, want string
	}{
		{"missing column", write("nocol.csv", "user,to_account\nu,p\n"), "from_account"},
		{"empty file", write("empty.csv", ""), "empty"},
		{"header only", write("header.csv", "from_account,to_account,set_mark\n"), "no data rows"},
		{"no such file", filepath.Join(dir, "absent.csv"), "absent.csv"},
		{"csv renamed parquet", write("renamed.parquet", "from_account,to_account\nu,p\n"), "renamed.parquet"},
		{"empty parquet", write("empty.parquet", ""), "empty.parquet"},
		{"truncated parquet", truncated(t, dir), "truncated.parquet"},
		{"parquet set_mark as list<double>", "../../testdata/parquet/arrow_bad_set_mark_double.parquet", "set_mark"},
		{"parquet account as double", "../../testdata/parquet/xitongsys_bad_double_account.parquet", "from_account"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "validate", "--input", tc.path, "--quiet")
			if code != exitUsage || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, filepath.Base(tc.path)) {
				t.Fatalf("exit %d, stderr %q; want 2 naming the file and %q", code, stderr, tc.want)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Fatalf("a stack trace: %s", stderr)
			}
		})
	}
}

// TestSigRenewal: usersigs are renewed, both ahead of time (--sig-ttl 2s,
// several times over a run of seconds) and when the server answers 70001,
// and the run completes exactly; neither the secret key nor any usersig is
// ever printed. The emulator does not expire usersigs by their age, which a
// loaded machine stretches past a 2 s lifetime (a request held up for a
// second arrives expired, and so can its renewals): ahead of time it expires
// none, so that every renewal is the run's own; on 70001 it expires those
// issued before a cutoff the test moves to the current second (twice at
// most, after 100 requests each time, once the usersig in use is from an
// earlier second), so that a usersig made after the move is never refused
// and no request needs more renewals in a row than two.
func TestSigRenewal(t *testing.T) {
	cases := []struct {
		name   string
		expire bool   // the test moves a cutoff of usersigs
		ttl    string // the lifetime markimport gives its usersigs
	}{
		{"renewed ahead of expiry", false, "2s"},
		{"renewed on 70001", true, "24h"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, in, rows := newInput(t, 5, 3000)
			var mu sync.Mutex
			sigs := map[string]bool{}
			var cutoff time.Time // usersigs issued before it are expired
			requests, moved, moves := 0, 0, 0
			srv := fakeim.New(fakeim.Config{SDKAppID: testAppID, Admins: []string{testAdmin}, SecretKey: testKey,
				Expired: func(issued time.Time) bool {
					mu.Lock()
					defer mu.Unlock()
					return issued.Before(cutoff)
				}})
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sig := r.URL.Query().Get("usersig")
				mu.Lock()
				sigs[sig] = true
				requests++
				if p, err := usersig.Parse(sig); err == nil && tc.expire && moves < 2 && requests-moved >= 100 {
					if now := time.Unix(time.Now().Unix(), 0); p.Time.Before(now) {
						cutoff, moved = now, requests
						moves++
					}
				}
				mu.Unlock()
				srv.ServeHTTP(w, r)
			}))
			defer hs.Close()
			t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
			report, summary := filepath.Join(dir, "report.csv"), filepath.Join(dir, "summary.json")
			code, stdout, stderr := runCLI(t, "run", "--input", in, "--report", report, "--summary", summary, "--endpoint", hs.URL,
				"--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--progress-every", "100ms", "--sig-ttl", tc.ttl)
			if code != exitSomeNotOK {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			checkImport(t, srv, rows, report)
			if len(sigs) < 2 {
				t.Errorf("%d distinct usersigs over a run of several seconds, want renewals", len(sigs))
			}
			// Ahead of time, the run renews on its own clock: nothing is
			// refused. On 70001, each move of the cutoff refuses the
			// usersig in use, and the run renews it.
			expired := srv.Stats().ErrorCodes[70001]
			if !tc.expire && expired != 0 {
				t.Errorf("%d answers 70001 from a server that expires no usersig", expired)
			}
			if tc.expire && (moves == 0 || expired == 0) {
				t.Errorf("%d answers 70001 after %d moves of the cutoff, want some after at least one", expired, moves)
			}
			ttl, _ := time.ParseDuration(tc.ttl)
			for sig := range sigs {
				if err := usersig.Verify(sig, testKey, testAppID, testAdmin, time.Now().Add(-time.Minute)); err != nil {
					t.Errorf("usersig does not verify: %v", err)
				}
				if p, err := usersig.Parse(sig); err == nil && p.Expire != ttl {
					t.Errorf("a usersig valid for %v, want --sig-ttl %s", p.Expire, tc.ttl)
				}
			}
			rep, _ := os.ReadFile(report)
			sum, _ := os.ReadFile(summary)
			for name, out := range map[string]string{"stdout": stdout, "stderr": stderr, "report": string(rep), "summary": string(sum)} {
				if strings.Contains(out, testKey) {
					t.Errorf("the secret key appears in %s", name)
				}
				for sig := range sigs {
					if strings.Contains(out, sig) {
						t.Errorf("a usersig appears in %s", name)
					}
				}
			}
		})
	}
}
