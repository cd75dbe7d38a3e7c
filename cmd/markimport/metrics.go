package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"markimport/pipeline"
	"markimport/pipeline/mark"
	"markimport/pipeline/metrics"
	"markimport/sink"
)

// pushURLFlag is --metrics-push: a Pushgateway's address, whose user and
// password (https://user:pass@host) are never shown, by markimport config
// either.
type pushURLFlag struct{ raw string }

func (p *pushURLFlag) String() string {
	if p == nil || p.raw == "" {
		return ""
	}
	u, err := url.Parse(p.raw)
	if err != nil {
		return "(not a URL)"
	}
	u.User = nil
	return u.String()
}

func (p *pushURLFlag) Set(v string) error {
	p.raw = v
	// Its user and password are redacted from whatever is printed (the
	// resume command repeats the command line).
	if u, err := url.Parse(v); err == nil && u.User != nil {
		sink.RegisterSecret(u.User.String())
		if pw, ok := u.User.Password(); ok {
			sink.RegisterSecret(pw)
		}
	}
	return nil
}

// metricsOut is where a command's metrics go (--metrics-file,
// --metrics-push) and what they carry over from before.
type metricsOut struct {
	gateway *metrics.Gateway
	// lastSuccess is the last-success time the metrics file held when
	// the command claimed it: a command that does not succeed writes it
	// back unchanged.
	lastSuccess float64
	mu          sync.Mutex // one write of the file at a time
	failing     bool       // the last periodic write failed (warned once)
}

// checkMetrics checks the metrics flags: the Pushgateway's address, and
// --metrics-job and --metrics-instance only with it.
func (c *command) checkMetrics() error {
	if c.metricsPush.raw == "" {
		for _, name := range []string{"metrics-job", "metrics-instance"} {
			if c.given[name] || c.settings[name] != "" {
				return fmt.Errorf("--%s needs --metrics-push (the textfile's metrics carry the command label only)", name)
			}
		}
		return nil
	}
	instance := c.metricsInstance
	if instance == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("--metrics-instance: the host name is unknown (%v): give one", err)
		}
		instance = h
	}
	g, err := metrics.ParseGateway(c.metricsPush.raw, c.metricsJob, instance)
	if err != nil {
		return fmt.Errorf("--metrics-push %s: %v", c.metricsPush.String(), err)
	}
	g.Client = &http.Client{Timeout: metricsPushTimeout}
	c.metrics.gateway = &g
	return nil
}

// metricsPushTimeout bounds the push at the end: an interrupted command
// pushes too (its exit code), so the push cannot wait on Ctrl-C.
const metricsPushTimeout = 10 * time.Second

// metricsOutput is --metrics-file as an output to claim: under its lock,
// the file there must be a metrics file of markimport (else --overwrite),
// and its last-success time is kept for a command that fails.
func (c *command) metricsOutput() output {
	path := c.metricsFile
	return output{flag: "--metrics-file", path: path, lock: path + ".lock", what: path, refuse: func() error {
		last, err := metrics.LastSuccess(path, c.name)
		var notOurs *metrics.NotOurs
		switch {
		case errors.As(err, &notOurs) && c.overwrite:
			return nil
		case err != nil:
			return fmt.Errorf("--metrics-file: %w", err)
		}
		c.metrics.lastSuccess = last
		return nil
	}}
}

// metricsPaths are the files --metrics-file writes, for checkOutputs.
func (c *command) metricsPaths() []named {
	if c.metricsFile == "" {
		return nil
	}
	p := c.metricsFile
	return []named{{"--metrics-file", p}, {"--metrics-file", p + ".tmp"}, {"--metrics-file", p + ".lock"}}
}

// liveMetrics are the metrics of a command under way, from the counters
// its summary will be made of.
func (c *command) liveMetrics(ctr *mark.Counters) metrics.Values {
	return metrics.Values{
		Command:      c.name,
		Rows:         ctr.Statuses.Snapshot(),
		HTTPRequests: ctr.Answers.Snapshot(),
		Throttled:    ctr.Throttled.Snapshot(),
		Retries:      ctr.Retries.Load(),
		ItemsSent:    ctr.ItemsSent.Load(),
		Stages:       map[string]float64{"total": time.Since(c.start).Seconds()},
		LastSuccess:  c.metrics.lastSuccess,
	}
}

// runMetrics are the metrics of a validate or run that ended, from its
// summary.
func runMetrics(sum *pipeline.Summary) metrics.Values {
	v := metrics.Values{
		Rows:          map[string]int64{},
		HTTPRequests:  sum.HTTPRequestsByCode,
		Throttled:     sum.ThrottledByCode,
		Retries:       sum.Retries,
		ItemsSent:     sum.ItemsSent,
		RequestsSaved: sum.RequestsSaved,
		Stages:        map[string]float64{"total": sum.ElapsedSeconds},
	}
	if !sum.DryRun {
		v.Stages["send"] = sum.SendSeconds
	}
	for st, n := range sum.Statuses {
		v.Rows[string(st)] = n
	}
	return v
}

// verifyMetrics are the metrics of a verify that ended, from its summary.
func verifyMetrics(sum *pipeline.VerifySummary) metrics.Values {
	v := metrics.Values{
		Rows:         map[string]int64{},
		HTTPRequests: sum.HTTPRequestsByCode,
		Throttled:    sum.ThrottledByCode,
		Retries:      sum.Retries,
		Stages:       map[string]float64{"total": sum.ElapsedSeconds},
	}
	for st, n := range sum.Statuses {
		v.Rows[string(st)] = n
	}
	return v
}

// watchMetrics rewrites --metrics-file from the counters every interval
// until the returned function is called (which waits for a write under
// way). Without --metrics-file it does nothing.
func (c *command) watchMetrics(ctr *mark.Counters) (stop func()) {
	if c.metricsFile == "" {
		return func() {}
	}
	every := c.progressEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c.writeLiveMetrics(ctr)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// writeLiveMetrics writes the metrics file of a command under way; a
// failure is warned about once until a write succeeds again (the file at
// the end is what decides the exit code).
func (c *command) writeLiveMetrics(ctr *mark.Counters) {
	m := &c.metrics
	m.mu.Lock()
	defer m.mu.Unlock()
	err := metrics.WriteFile(c.hooks.metricsFS, c.metricsFile, c.liveMetrics(ctr))
	if err != nil && !m.failing {
		c.log.Warn("--metrics-file: " + sink.Redact(err.Error()))
	}
	m.failing = err != nil
}

// saveMetrics writes --metrics-file and pushes to --metrics-push, when
// given, with the exit code; the last-success time moves only when code
// is 0. It returns code, or at least 1 when the metrics could not be
// written or pushed.
func (c *command) saveMetrics(v metrics.Values, code int) int {
	if c.metricsFile == "" && c.metrics.gateway == nil {
		return code
	}
	v.Command = c.name
	v.ExitCode = &code
	v.LastSuccess = c.metrics.lastSuccess
	if code == exitOK {
		v.LastSuccess = float64(time.Now().UnixMilli()) / 1e3
	}
	out := code
	if c.metricsFile != "" {
		c.metrics.mu.Lock()
		err := metrics.WriteFile(c.hooks.metricsFS, c.metricsFile, v)
		c.metrics.mu.Unlock()
		if err != nil {
			c.tell(slog.LevelError, "--metrics-file: "+err.Error(), "")
			out = max(out, exitSomeNotOK)
		}
	}
	if g := c.metrics.gateway; g != nil {
		ctx, cancel := context.WithTimeout(context.Background(), metricsPushTimeout)
		defer cancel()
		if err := g.Push(ctx, v); err != nil {
			c.tell(slog.LevelError, "--metrics-push: "+err.Error(), "The metrics of this run are not on the Pushgateway; the last success it holds is unchanged.")
			out = max(out, exitSomeNotOK)
		}
	}
	return out
}
