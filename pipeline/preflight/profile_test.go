package preflight_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"markimport/pipeline/durable"
	"markimport/pipeline/mark"
	"markimport/pipeline/preflight"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func goodProfile() *preflight.Profile {
	return &preflight.Profile{Format: preflight.ProfileFormat, Tool: "markimport", SDKAppID: 1400000001,
		Endpoint: "https://adminapisgp.im.qcloud.com", Region: "singapore", Date: now.Add(-time.Hour), Version: "dev",
		Scratch: "test_a:c2c:test_b", Findings: preflight.Findings{BitOrder: "bit-0-first", StandardMarkWidth: 64,
			NoMarksReadAs: "zeros", SetAndClear: "refused 50002", EmptyCustomClears: true, CustomRoundTrip: true,
			UnknownFrom: "accepted", LatencyP50Ms: 30, LatencyP99Ms: 80.5, Concurrency: 20}}
}

func TestProfileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profile.json")
	if err := preflight.WriteProfile(durable.Local, path, goodProfile()); err != nil {
		t.Fatal(err)
	}
	p, err := preflight.ReadProfile(path, 1400000001, now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Order() != mark.BitZeroFirst || p.Findings != goodProfile().Findings || p.Endpoint != goodProfile().Endpoint {
		t.Errorf("read back %+v", p)
	}
	if _, err := preflight.ReadProfile(path, 1400000002, now); err == nil || !strings.Contains(err.Error(), "made for SDKAppID 1400000001") {
		t.Errorf("another app: %v", err)
	}
}

// TestProfileRefused: a profile is input; anything incomplete, unknown or
// out of range is refused with what is wrong.
func TestProfileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profile.json")
	if err := preflight.WriteProfile(durable.Local, path, goodProfile()); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edits := []struct{ name, from, to, want string }{
		{"missing member", `"region": "singapore",`, ``, `"region" is missing`},
		{"missing finding", `"set_and_clear": "refused 50002",`, ``, `"set_and_clear" is missing`},
		{"unknown member", `"region"`, `"colour": 1, "region"`, `unknown field "colour"`},
		{"unknown order", `"bit-0-first"`, `"bit-0-middle"`, `bit order "bit-0-middle"`},
		{"width", `"standard_mark_width": 64`, `"standard_mark_width": 32`, "standard_mark_width 32"},
		{"format", `"format": 1`, `"format": 2`, "format 2"},
		{"failed check", `"empty_custom_clears": true`, `"empty_custom_clears": false`, "cannot be used"},
		{"set and clear", `"refused 50002"`, `"refused -1"`, "set_and_clear"},
		{"latency", `"latency_p99_ms": 80.5`, `"latency_p99_ms": 1`, "latencies"},
		{"future", `"date": "2026-12-04T11:00:00Z"`, `"date": "2027-01-01T00:00:00Z"`, "in the future"},
		{"two values", "}\n", "}\n{}\n", "after top-level value"},
		{"endpoint query", `qcloud.com"`, `qcloud.com/?usersig=x"`, "not a base URL"},
	}
	for _, e := range edits {
		text := strings.Replace(string(good), e.from, e.to, 1)
		if e.name == "two values" {
			text = string(good) + "{}\n"
		}
		if text == string(good) {
			t.Fatalf("%s: edit %q not found in %s", e.name, e.from, good)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := preflight.ReadProfile(path, 1400000001, now)
		if err == nil || !strings.Contains(err.Error(), e.want) {
			t.Errorf("%s: %v, want an error with %q", e.name, err, e.want)
		}
	}
}
