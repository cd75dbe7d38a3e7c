package preflight

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"markimport/pipeline/durable"
	"markimport/pipeline/mark"
)

// ProfileFormat is the version of the profile's JSON layout.
const ProfileFormat = 1

// Profile is a service's behaviour as preflight found it: which app and
// endpoint, when, and each finding. Runs that read marks back read
// StandardMark with its bit order.
type Profile struct {
	Format   int    `json:"format"`
	Tool     string `json:"tool"`
	SDKAppID uint64 `json:"sdkappid"`
	// Endpoint is the base URL preflight talked to, without a query.
	Endpoint string `json:"endpoint"`
	// Region is the --region name, "" when --endpoint was given.
	Region   string    `json:"region"`
	Date     time.Time `json:"date"`
	Version  string    `json:"version"`
	Scratch  string    `json:"scratch"`
	Findings Findings  `json:"findings"`
}

// Order is the profile's bit order (checked when the profile was read).
func (p *Profile) Order() mark.BitOrder {
	o, _ := mark.ParseBitOrder(p.Findings.BitOrder)
	return o
}

// WriteProfile writes p to path through fsys, durably.
func WriteProfile(fsys durable.FS, path string, p *Profile) error {
	if err := p.check(); err != nil {
		return fmt.Errorf("profile %s: %w", path, err)
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(fsys, path, append(data, '\n'))
}

// ReadProfile reads and checks the profile at path for sdkappid: every
// member present and known, nothing else in the file, the bit order
// established, and made for this SDKAppID. now bounds its date.
func ReadProfile(path string, sdkappid uint64, now time.Time) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("service profile: %w", err)
	}
	p, err := decodeProfile(data, now)
	if err != nil {
		return nil, fmt.Errorf("service profile %s: %w (run markimport preflight again to make a new one)", path, err)
	}
	if p.SDKAppID != sdkappid {
		return nil, fmt.Errorf("service profile %s was made for SDKAppID %d, not %d: run markimport preflight for this app", path, p.SDKAppID, sdkappid)
	}
	return p, nil
}

// decodeProfile decodes strictly: unknown or missing members, a second
// value, or a finding out of range are errors.
func decodeProfile(data []byte, now time.Time) (*Profile, error) {
	if err := requireMembers(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not a profile: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value")
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	if p.Date.After(now.Add(time.Minute)) {
		return nil, fmt.Errorf("dated %s, in the future", p.Date.Format(time.RFC3339))
	}
	return &p, nil
}

// requireMembers checks that every member of the profile and of its
// findings is present, so that an absent one is not read as its zero.
func requireMembers(data []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return fmt.Errorf("not a profile: %w", err)
	}
	for _, k := range []string{"format", "tool", "sdkappid", "endpoint", "region", "date", "version", "scratch", "findings"} {
		if _, ok := top[k]; !ok {
			return fmt.Errorf("%q is missing", k)
		}
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(top["findings"], &f); err != nil {
		return fmt.Errorf("findings: %w", err)
	}
	for _, k := range []string{"bit_order", "standard_mark_width", "no_marks_read_as", "set_and_clear", "empty_custom_clears",
		"custom_round_trip", "unknown_from", "latency_p50_ms", "latency_p99_ms", "concurrency_for_quota"} {
		if _, ok := f[k]; !ok {
			return fmt.Errorf("findings: %q is missing", k)
		}
	}
	return nil
}

// check validates the members' values.
func (p *Profile) check() error {
	f := p.Findings
	switch {
	case p.Format != ProfileFormat:
		return fmt.Errorf("format %d; this markimport reads format %d", p.Format, ProfileFormat)
	case p.Tool != "markimport":
		return fmt.Errorf("tool %q is not markimport", p.Tool)
	case p.SDKAppID == 0:
		return errors.New("sdkappid is 0")
	case p.Date.IsZero():
		return errors.New("date is missing")
	}
	if u, err := url.Parse(p.Endpoint); err != nil || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("endpoint %q is not a base URL", p.Endpoint)
	}
	if _, err := mark.ParseBitOrder(f.BitOrder); err != nil {
		return fmt.Errorf("findings: %w", err)
	}
	switch {
	case f.StandardMarkWidth != 0 && f.StandardMarkWidth != 64:
		return fmt.Errorf("findings: standard_mark_width %d is not 0 or 64", f.StandardMarkWidth)
	case f.NoMarksReadAs != "empty" && f.NoMarksReadAs != "zeros" && f.NoMarksReadAs != "absent":
		return fmt.Errorf("findings: no_marks_read_as %q is not empty, zeros or absent", f.NoMarksReadAs)
	case !validOutcome(f.SetAndClear, "set-wins", "clear-wins", "ignored"):
		return fmt.Errorf("findings: set_and_clear %q is not refused CODE, set-wins, clear-wins or ignored", f.SetAndClear)
	case !validOutcome(f.UnknownFrom, "accepted"):
		return fmt.Errorf("findings: unknown_from %q is not refused CODE or accepted", f.UnknownFrom)
	case !f.EmptyCustomClears || !f.CustomRoundTrip:
		return errors.New("findings: the service failed a check markimport relies on; this profile cannot be used")
	case !(f.LatencyP50Ms >= 0 && f.LatencyP99Ms >= f.LatencyP50Ms && f.LatencyP99Ms < 3_600_000):
		return fmt.Errorf("findings: latencies p50 %v ms, p99 %v ms are out of range", f.LatencyP50Ms, f.LatencyP99Ms)
	case f.Concurrency < 1:
		return fmt.Errorf("findings: concurrency_for_quota %d is below 1", f.Concurrency)
	}
	return nil
}

// validOutcome reports whether s is "refused CODE" (a positive code) or
// one of the words.
func validOutcome(s string, words ...string) bool {
	for _, w := range words {
		if s == w {
			return true
		}
	}
	var code int
	n, err := fmt.Sscanf(s, "refused %d", &code)
	return err == nil && n == 1 && code > 0 && s == refused(code)
}
