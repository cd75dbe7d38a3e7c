package sink

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestConfigBounds: New refuses numbers out of range, whoever builds the
// Config, and the default concurrency stays bounded whatever the rate.
func TestConfigBounds(t *testing.T) {
	sig, _ := NewStaticSig("test-usersig-value")
	base := Config{Endpoint: "http://127.0.0.1:1", SDKAppID: 1, Admin: "admin", Credentials: sig}
	bad := []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"rate NaN", func(c *Config) { c.Rate = math.NaN() }, "rate NaN"},
		{"rate +Inf", func(c *Config) { c.Rate = math.Inf(1) }, "rate +Inf"},
		{"rate 1e9", func(c *Config) { c.Rate = 1e9 }, "at most 10000"},
		{"rate negative", func(c *Config) { c.Rate = -1 }, "above 0"},
		{"margin 1", func(c *Config) { c.Margin = 1 }, "rate margin 1"},
		{"margin 0.5", func(c *Config) { c.Margin = 0.5 }, "rate margin 0.5"},
		{"margin negative", func(c *Config) { c.Margin = -0.1 }, "rate margin -0.1"},
		{"concurrency", func(c *Config) { c.Concurrency = maxConcurrency + 1 }, "concurrency 4097"},
		{"attempts", func(c *Config) { c.MaxAttempts = -1 }, "max attempts -1"},
		{"timeout", func(c *Config) { c.Timeout = time.Hour }, "timeout 1h0m0s"},
	}
	for _, tt := range bad {
		cfg := base
		tt.set(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.want)
		}
	}
	for rate, want := range map[float64]int{1: 17, 200: 216, 5000: 1024, maxRate: 1024, math.NaN(): 216} {
		if got := DefaultConcurrency(rate); got != want {
			t.Errorf("DefaultConcurrency(%g) = %d, want %d", rate, got, want)
		}
	}
	cfg := base
	cfg.Rate = maxRate
	c, err := New(cfg)
	if err != nil || c.cfg.Concurrency != 1024 || len(c.pacer.ring) != maxRate {
		t.Errorf("at the highest rate: %v, %d workers, a ring of %d", err, c.cfg.Concurrency, len(c.pacer.ring))
	}
}
