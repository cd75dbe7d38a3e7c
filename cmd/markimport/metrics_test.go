package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"markimport/pipeline/durable/durabletest"
)

// gatewayPush is one push a recording Pushgateway received.
type gatewayPush struct {
	method, path string
	fams         map[string]*dto.MetricFamily
}

// recordPushes is a Pushgateway stand-in that records what it is sent.
func recordPushes(t *testing.T) (url string, pushes func() []gatewayPush) {
	var mu sync.Mutex
	var got []gatewayPush
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		dec := expfmt.NewDecoder(bytes.NewReader(body), expfmt.ResponseFormat(r.Header))
		fams := map[string]*dto.MetricFamily{}
		for {
			var f dto.MetricFamily
			if err := dec.Decode(&f); err != nil {
				break
			}
			fams[f.GetName()] = &f
		}
		mu.Lock()
		got = append(got, gatewayPush{r.Method, r.URL.EscapedPath(), fams})
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []gatewayPush {
		mu.Lock()
		defer mu.Unlock()
		return append([]gatewayPush(nil), got...)
	}
}

// promFile parses a metrics file with Prometheus' own parser.
func promFile(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s is not Prometheus text: %v", path, err)
	}
	return fams
}

// series is a family's values by the value of one label ("" for a
// family without it).
func series(fams map[string]*dto.MetricFamily, name, label string) map[string]float64 {
	out := map[string]float64{}
	f := fams[name]
	if f == nil {
		return out
	}
	for _, m := range f.GetMetric() {
		key := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				key = l.GetValue()
			}
		}
		v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
		out[key] += v
	}
	return out
}

// checkMetricsEqualSummary checks the metrics against a --summary file:
// rows by status, HTTP requests and throttles by code, items sent,
// retries, the exit code.
func checkMetricsEqualSummary(t *testing.T, where string, fams map[string]*dto.MetricFamily, sum map[string]any) {
	t.Helper()
	byKey := func(field, metric, label string) {
		want, _ := sum[field].(map[string]any)
		got := series(fams, metric, label)
		if len(got) != len(want) {
			t.Errorf("%s: %s %v, summary %s %v", where, metric, got, field, want)
		}
		for k, v := range want {
			if got[k] != v.(float64) {
				t.Errorf("%s: %s{%s=%q} %v, summary %s says %v", where, metric, label, k, got[k], field, v)
			}
		}
	}
	byKey("statuses", "markimport_rows_total", "status")
	byKey("http_requests_by_code", "markimport_http_requests_total", "code")
	byKey("throttled_by_code", "markimport_throttles_total", "code")
	for field, metric := range map[string]string{"items_sent": "markimport_items_sent_total", "retries": "markimport_retries_total", "exit_code": "markimport_exit_code"} {
		want, _ := sum[field].(float64)
		if got := series(fams, metric, "")[""]; got != want {
			t.Errorf("%s: %s %v, summary %s %v", where, metric, got, field, want)
		}
	}
}

// validInput writes n valid rows (n/4 users, 4 conversations each) as
// in.csv in a new folder.
func validInput(t *testing.T, n int) (dir, in string) {
	dir = t.TempDir()
	in = filepath.Join(dir, "in.csv")
	var b strings.Builder
	b.WriteString("from_account,type,to_account,to_group_id,set_mark,clear_mark,custom_mark,opt_type\n")
	for i := range n {
		fmt.Fprintf(&b, "user%d,c2c,peer%d,,star|33,,,\n", i/4, i%4)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, in
}

// TestMetricsOfRuns: a run's textfile and push hold the summary's numbers;
// a success sets the last-success time, and a failed run after it (exit
// 1) leaves the textfile's as it was and pushes none (POST, which keeps
// the gateway's). The push address's password is never printed.
func TestMetricsOfRuns(t *testing.T) {
	dir, in := validInput(t, 400)
	prom := filepath.Join(dir, "markimport.prom")
	gw, pushes := recordPushes(t)
	pushURL := strings.Replace(gw, "http://", "http://ops:pw-never-shown@", 1)
	run := func(name, input string) (int, map[string]any, string) {
		sum := filepath.Join(dir, name+".json")
		code, stdout, stderr := runCLI(t, "run", "--fake", "--input", input, "--report", filepath.Join(dir, name+".csv"), "--summary", sum,
			"--metrics-file", prom, "--metrics-push", pushURL, "--metrics-instance", "night-1", "--quiet")
		out := stdout + stderr
		if strings.Contains(out, "pw-never-shown") || strings.Contains(out, "ops:") {
			t.Errorf("%s: the push address's user or password printed:\n%s", name, out)
		}
		return code, readSummary(t, sum), out
	}
	before := time.Now()
	code, sum, out := run("first", in)
	if code != exitOK {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	fams := promFile(t, prom)
	checkMetricsEqualSummary(t, "textfile", fams, sum)
	last := series(fams, "markimport_last_success_timestamp_seconds", "command")["run"]
	if last < float64(before.Unix()) || last > float64(time.Now().Unix()+1) {
		t.Errorf("last success %v, want the run's end (after %d)", last, before.Unix())
	}
	p := pushes()
	if len(p) != 1 || p[0].method != http.MethodPut || p[0].path != "/metrics/job/markimport/command/run/instance/night-1" {
		t.Fatalf("pushes %+v, want one PUT to /metrics/job/markimport/command/run/instance/night-1", p)
	}
	checkMetricsEqualSummary(t, "push", p[0].fams, sum)
	if got := series(p[0].fams, "markimport_last_success_timestamp_seconds", "")[""]; got != last {
		t.Errorf("pushed last success %v, textfile %v", got, last)
	}

	// A second run whose input holds an invalid row: exit 1.
	bad := filepath.Join(dir, "bad.csv")
	b, _ := os.ReadFile(in)
	os.WriteFile(bad, append(b, []byte("alice,c2c,bob,64,,,,\n")...), 0o644)
	code, sum, out = run("second", bad)
	if code != exitSomeNotOK {
		t.Fatalf("second run: exit %d, want 1\n%s", code, out)
	}
	fams = promFile(t, prom)
	checkMetricsEqualSummary(t, "textfile after a failure", fams, sum)
	if got := series(fams, "markimport_last_success_timestamp_seconds", "command")["run"]; got != last {
		t.Errorf("last success %v after a failed run, want the success's %v", got, last)
	}
	p = pushes()
	if len(p) != 2 || p[1].method != http.MethodPost {
		t.Fatalf("pushes %+v, want a POST second", p)
	}
	checkMetricsEqualSummary(t, "push after a failure", p[1].fams, sum)
	if _, ok := p[1].fams["markimport_last_success_timestamp_seconds"]; ok {
		t.Errorf("a failed run pushed a last-success time")
	}
	b, _ = os.ReadFile(prom)
	if strings.Contains(string(b), "pw-never-shown") {
		t.Errorf("the metrics file holds the password")
	}
}

// TestMetricsFileNotOurs: an existing file that is not markimport's
// metrics (here the input itself under another name, a CSV) is refused
// before anything is sent, and replaced with --overwrite.
func TestMetricsFileNotOurs(t *testing.T) {
	dir, in := validInput(t, 20)
	other := filepath.Join(dir, "notes.prom")
	os.WriteFile(other, []byte("from_account,to_account\nalice,bob\n"), 0o644)
	args := []string{"validate", "--input", in, "--metrics-file", other, "--quiet"}
	code, _, stderr := runCLI(t, args...)
	if code != exitUsage || !strings.Contains(stderr, "not a metrics file of markimport") {
		t.Fatalf("exit %d, %s; want 2 and a refusal", code, stderr)
	}
	if b, _ := os.ReadFile(other); !strings.HasPrefix(string(b), "from_account") {
		t.Fatalf("the file was replaced: %s", b)
	}
	if code, _, stderr := runCLI(t, append(args, "--overwrite")...); code != exitOK {
		t.Fatalf("--overwrite: exit %d, %s", code, stderr)
	}
	if fams := promFile(t, other); series(fams, "markimport_rows_total", "status")["valid"] != 20 {
		t.Errorf("rows valid %v, want 20", series(fams, "markimport_rows_total", "status"))
	}
	if code, _, stderr := runCLI(t, "validate", "--input", in, "--metrics-file", in, "--quiet"); code != exitUsage || !strings.Contains(stderr, "is the input") {
		t.Errorf("the input as --metrics-file: exit %d, %s", code, stderr)
	}
}

// TestMetricsDuringRun: while a run sends, the metrics file is replaced
// every --progress-every, each time written beside it, synced and renamed
// (as at the end); each JSON progress line carries the metrics' numbers
// under the summary's names, never above the summary's.
func TestMetricsDuringRun(t *testing.T) {
	dir, in := validInput(t, 400)
	prom, summary := filepath.Join(dir, "m.prom"), filepath.Join(dir, "s.json")
	rec := &durabletest.Recorder{}
	code, _, stderr := runCLIHooked(t, context.Background(), hooks{metricsFS: rec}, "run", "--fake", "--input", in, "--report", filepath.Join(dir, "r.csv"),
		"--summary", summary, "--metrics-file", prom, "--log-format", "json", "--progress-every", "20ms", "--rate", "100")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	renames := 0
	synced := false
	for _, op := range rec.Ops() {
		switch {
		case op.Kind == durabletest.Sync && op.Path == prom+".tmp":
			synced = true
		case op.Kind == durabletest.Rename && op.To == prom:
			if !synced || op.Path != prom+".tmp" {
				t.Fatalf("renamed %s onto the metrics file without a synced temporary file:\n%s", op.Path, durabletest.Render(rec.Ops()))
			}
			renames++
			synced = false
		}
	}
	if renames < 2 {
		t.Errorf("the metrics file was replaced %d times, want during the run and at the end", renames)
	}
	sum := readSummary(t, summary)
	checkMetricsEqualSummary(t, "textfile", promFile(t, prom), sum)
	lines := 0
	for _, line := range strings.Split(stderr, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != "progress" {
			continue
		}
		lines++
		for _, field := range []string{"statuses", "http_requests_by_code", "throttled_by_code"} {
			got, ok := m[field].(map[string]any)
			if !ok {
				t.Fatalf("progress line without %s: %s", field, line)
			}
			final, _ := sum[field].(map[string]any)
			for k, v := range got {
				if f, _ := final[k].(float64); v.(float64) > f {
					t.Errorf("progress %s[%s] %v above the summary's %v", field, k, v, f)
				}
			}
		}
		if n, _ := m["items_sent"].(float64); n > sum["items_sent"].(float64) {
			t.Errorf("progress items_sent %v above the summary's %v", n, sum["items_sent"])
		}
		if _, ok := m["failed"]; !ok {
			t.Errorf("progress line without failed: %s", line)
		}
	}
	if lines == 0 {
		t.Error("no progress line")
	}
}

// TestConfigHidesPushPassword: markimport config shows the push address
// without its user and password.
func TestConfigHidesPushPassword(t *testing.T) {
	code, stdout, stderr := runCLI(t, "config", "run", "--metrics-push", "https://ops:pw-never-shown@gw.example:9091")
	if code != exitOK || strings.Contains(stdout+stderr, "pw-never-shown") || strings.Contains(stdout+stderr, "ops@") || !strings.Contains(stdout, "https://gw.example:9091") {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
}
