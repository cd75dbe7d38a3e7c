package metrics

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"markimport/pipeline/durable/durabletest"
)

// sample is a run's values as a summary would give them.
func sample(code int, last float64) Values {
	return Values{
		Command:       "run",
		Rows:          map[string]int64{"ok": 95, "failed": 3, "invalid": 2},
		HTTPRequests:  map[string]int64{"0": 12, "60007": 2, "http_429": 1},
		Throttled:     map[string]int64{"60007": 2, "http_429": 1},
		Retries:       3,
		ItemsSent:     98,
		RequestsSaved: 4,
		Stages:        map[string]float64{"total": 2.5, "send": 2},
		ExitCode:      &code,
		LastSuccess:   last,
	}
}

// parse reads Prometheus text with the library's own parser.
func parse(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not Prometheus text: %v\n%s", err, b)
	}
	return fams
}

// value is the value of the metric of family name whose labels include
// want; ok is false when there is none.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			if labelValue(m, k) != v {
				continue next
			}
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetUntyped() != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// checkValues checks that fams hold exactly v's numbers, each metric with
// the labels given plus its own.
func checkValues(t *testing.T, fams map[string]*dto.MetricFamily, v Values, labels map[string]string, lastSuccess bool) {
	t.Helper()
	with := func(k, val string) map[string]string {
		m := map[string]string{k: val}
		for a, b := range labels {
			m[a] = b
		}
		return m
	}
	want := map[string]map[string]float64{}
	add := func(name, label string, counts map[string]int64) {
		for k, n := range counts {
			if want[name] == nil {
				want[name] = map[string]float64{}
			}
			want[name][k] = float64(n)
			if got, ok := value(fams, name, with(label, k)); !ok || got != float64(n) {
				t.Errorf("%s{%s=%q} = %v (present %v), want %d", name, label, k, got, ok, n)
			}
		}
		if f := fams[name]; f != nil && len(f.GetMetric()) != len(counts) {
			t.Errorf("%s has %d series, want %d", name, len(f.GetMetric()), len(counts))
		}
	}
	add(nameRows, "status", v.Rows)
	add(nameHTTPRequests, "code", v.HTTPRequests)
	add(nameThrottles, "code", v.Throttled)
	for name, n := range map[string]float64{nameRetries: float64(v.Retries), nameItemsSent: float64(v.ItemsSent), nameRequestsSaved: float64(v.RequestsSaved), nameExitCode: float64(*v.ExitCode)} {
		if got, ok := value(fams, name, labels); !ok || got != n {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, n)
		}
	}
	for s, secs := range v.Stages {
		if got, _ := value(fams, nameStageDuration, with("stage", s)); got != secs {
			t.Errorf("stage %s: %v s, want %v", s, got, secs)
		}
	}
	got, ok := value(fams, nameLastSuccess, labels)
	if lastSuccess && (!ok || got != v.LastSuccess) {
		t.Errorf("last success %v (present %v), want %v", got, ok, v.LastSuccess)
	}
	if !lastSuccess && ok {
		t.Errorf("last success %v present, want none", got)
	}
	for name, f := range fams {
		if !strings.HasPrefix(name, "markimport_") {
			t.Errorf("metric %s lacks the markimport_ prefix", name)
		}
		if f.GetType() == dto.MetricType_COUNTER && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s lacks _total", name)
		}
	}
}

// TestWriteFile: the textfile, read by the Prometheus parser, holds the
// values given, every metric labelled with the command; it is written
// beside its name, synced, then renamed into place.
func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "markimport.prom")
	rec := &durabletest.Recorder{}
	v := sample(1, 1700000000.5)
	if err := WriteFile(rec, path, v); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, parse(t, b), v, map[string]string{"command": "run"}, true)
	var kinds []string
	for _, op := range rec.Ops() {
		if op.Kind == durabletest.Write {
			continue
		}
		kinds = append(kinds, string(op.Kind)+" "+filepath.Base(op.Path)+strings.TrimPrefix(" "+filepath.Base(op.To), " ."))
	}
	want := []string{"open markimport.prom.tmp", "sync markimport.prom.tmp", "close markimport.prom.tmp", "rename markimport.prom.tmp markimport.prom"}
	if len(kinds) < len(want) || !slices.Equal(kinds[:len(want)], want) {
		t.Errorf("calls:\n%s\nwant first %q", durabletest.Render(rec.Ops()), want)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left: %v", err)
	}
}

// TestLastSuccess reads the last-success time back from a file WriteFile
// wrote, for its command only, and refuses a file markimport did not
// write.
func TestLastSuccess(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.prom")
	if last, err := LastSuccess(path, "run"); err != nil || last != 0 {
		t.Fatalf("no file: %v, %v; want 0, nil", last, err)
	}
	if err := WriteFile(nil, path, sample(0, 1700000123)); err != nil {
		t.Fatal(err)
	}
	if last, err := LastSuccess(path, "run"); err != nil || last != 1700000123 {
		t.Errorf("run: %v, %v; want 1700000123", last, err)
	}
	if last, err := LastSuccess(path, "verify"); err != nil || last != 0 {
		t.Errorf("verify: %v, %v; want 0 (another command's)", last, err)
	}
	for name, content := range map[string]string{
		"csv":   "from_account,to_account\nalice,bob\n",
		"other": "node_load1 0.5\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		if _, err := LastSuccess(p, "run"); err == nil || !strings.Contains(err.Error(), "--overwrite") {
			t.Errorf("%s: %v, want a refusal", name, err)
		}
	}
}

// pushed is one request a recording gateway received.
type pushed struct {
	method, path, auth string
	fams               map[string]*dto.MetricFamily
}

// recordingGateway records the pushes it answers with 200.
func recordingGateway(t *testing.T) (*httptest.Server, func() []pushed) {
	var mu sync.Mutex
	var got []pushed
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		dec := expfmt.NewDecoder(bytes.NewReader(body), expfmt.ResponseFormat(r.Header))
		fams := map[string]*dto.MetricFamily{}
		for {
			var f dto.MetricFamily
			if err := dec.Decode(&f); err != nil {
				if err != io.EOF {
					t.Errorf("push body: %v", err)
				}
				break
			}
			fams[f.GetName()] = &f
		}
		mu.Lock()
		got = append(got, pushed{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), fams})
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, func() []pushed {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// grouping is the grouping key of a push to path
// (/metrics/job/J/LABEL/VALUE...), whose labels come in any order.
func grouping(path string) map[string]string {
	parts := strings.Split(strings.TrimPrefix(path, "/metrics/"), "/")
	g := map[string]string{}
	for i := 0; i+1 < len(parts); i += 2 {
		g[parts[i]] = parts[i+1]
	}
	return g
}

// TestPushRecorded: every push replaces the group of job, command and
// instance (PUT) with the values and without the last-success time; a
// success then replaces the group of the last-success time (the same and
// outcome="success"), which a failure leaves alone; the address's user
// and password go in the Authorization header only.
func TestPushRecorded(t *testing.T) {
	srv, got := recordingGateway(t)
	addr := strings.Replace(srv.URL, "http://", "http://ops:s3cret-pw@", 1)
	g, err := ParseGateway(addr, "markimport", "host-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(g.URL, "s3cret") || strings.Contains(g.URL, "ops") {
		t.Fatalf("URL %q keeps the user or password", g.URL)
	}
	ok, failed := sample(0, 1700000200), sample(3, 1700000200)
	if err := g.Push(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	if err := g.Push(context.Background(), failed); err != nil {
		t.Fatal(err)
	}
	p := got()
	if len(p) != 3 {
		t.Fatalf("%d pushes, want 3 (the success's two, the failure's one)", len(p))
	}
	group := map[string]string{"job": "markimport", "command": "run", "instance": "host-1"}
	success := map[string]string{"job": "markimport", "command": "run", "instance": "host-1", "outcome": "success"}
	for i, want := range []struct {
		group map[string]string
		v     Values
	}{{group, ok}, {success, ok}, {group, failed}} {
		if p[i].method != http.MethodPut || !maps.Equal(grouping(p[i].path), want.group) {
			t.Errorf("push %d: %s %s, want PUT to the group %v", i, p[i].method, p[i].path, want.group)
		}
		if p[i].auth != "Basic b3BzOnMzY3JldC1wdw==" {
			t.Errorf("push %d: Authorization %q", i, p[i].auth)
		}
		if want.group["outcome"] != "" {
			if len(p[i].fams) != 1 {
				t.Errorf("push %d: %d families, want the last-success time alone", i, len(p[i].fams))
			}
			if got, ok := value(p[i].fams, nameLastSuccess, nil); !ok || got != want.v.LastSuccess {
				t.Errorf("push %d: last success %v (present %v), want %v", i, got, ok, want.v.LastSuccess)
			}
			continue
		}
		checkValues(t, p[i].fams, want.v, nil, false)
	}
}

// TestParseGatewayRefuses: an address that cannot be a Pushgateway's is
// refused, and the message never holds its password.
func TestParseGatewayRefuses(t *testing.T) {
	for _, raw := range []string{"ftp://u:pw-secret@h", "http://u:pw-secret@", "https://u:pw-secret@h/?x=1", "http://u:pw-secret@h/#f", "://u:pw-secret@h"} {
		_, err := ParseGateway(raw, "markimport", "h")
		if err == nil {
			t.Errorf("%s: accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "pw-secret") {
			t.Errorf("%s: the error shows the password: %v", raw, err)
		}
	}
}

// TestLint: the metrics pass Prometheus' own lint (promlint, as promtool
// check metrics runs it), for a success and for a failure.
func TestLint(t *testing.T) {
	for _, v := range []Values{sample(0, 1700000000), sample(3, 0)} {
		fams, err := gather(v, map[string]string{"command": v.Command}, true)
		if err != nil {
			t.Fatal(err)
		}
		problems, err := testutil.GatherAndLint(prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return fams, nil }))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("exit %d: %s: %s", *v.ExitCode, p.Metric, p.Text)
		}
	}
}
