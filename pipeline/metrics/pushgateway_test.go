package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// startPushgateway starts a real Pushgateway on loopback: the binary
// named by MARKIMPORT_PUSHGATEWAY, or pushgateway on PATH (`go install
// github.com/prometheus/pushgateway@latest`). Without one the test is
// skipped: make test needs nothing but Go, and TestPushRecorded checks
// the same requests against a recording server.
func startPushgateway(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("MARKIMPORT_PUSHGATEWAY")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("pushgateway"); err != nil {
			t.Skip("no Pushgateway binary: set MARKIMPORT_PUSHGATEWAY or put pushgateway on PATH (go install github.com/prometheus/pushgateway@latest)")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// In memory only: Debian's package persists to a file of its own by
	// default, which would hold other gateways' pushes.
	cmd := exec.Command(bin, "--web.listen-address="+addr, "--persistence.file=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://" + addr
	ready := time.NewTicker(20 * time.Millisecond)
	defer ready.Stop()
	deadline := time.After(20 * time.Second)
	for {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case <-ready.C:
		case <-deadline:
			t.Fatalf("the Pushgateway at %s never became ready: %v", addr, err)
		}
	}
}

// TestPushgatewayKeepsLastSuccess pushes a success, then a failure (exit
// 3) that made no request and met no throttle, to a real Pushgateway: the
// gateway then holds the failure's numbers and exit code and nothing of
// the success's (no requests or throttles by code), and still the
// success's last-success time.
func TestPushgatewayKeepsLastSuccess(t *testing.T) {
	url := startPushgateway(t)
	g, err := ParseGateway(url, "markimport", "host-1")
	if err != nil {
		t.Fatal(err)
	}
	ok := sample(0, 1700000300)
	failed := sample(3, 1700000999)
	failed.Rows = map[string]int64{"invalid": 10, "unsent": 90}
	failed.HTTPRequests, failed.Throttled, failed.ItemsSent, failed.Retries = nil, nil, 0, 0
	group := map[string]string{"job": "markimport", "command": "run", "instance": "host-1"}
	held := func() map[string]*dto.MetricFamily {
		resp, err := http.Get(url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fams := parse(t, b)
		for name := range fams {
			if !strings.HasPrefix(name, "markimport_") {
				delete(fams, name) // the gateway's own
			}
		}
		return fams
	}
	if err := g.Push(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	checkValues(t, held(), ok, group, true)
	if err := g.Push(context.Background(), failed); err != nil {
		t.Fatal(err)
	}
	after := held()
	want := failed
	want.LastSuccess = ok.LastSuccess
	checkValues(t, after, want, group, true)
	for _, name := range []string{nameHTTPRequests, nameThrottles} {
		if f := after[name]; f != nil {
			t.Errorf("%s still holds the success's %d series after a failure that had none", name, len(f.GetMetric()))
		}
	}
	if got, _ := value(after, nameExitCode, group); got != 3 {
		t.Errorf("exit code %v, want 3", got)
	}
	if got, _ := value(after, nameLastSuccess, group); strconv.FormatFloat(got, 'f', -1, 64) != "1700000300" {
		t.Errorf("last success %v after the failure, want the success's 1700000300", got)
	}
}
