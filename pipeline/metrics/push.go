package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"
)

// Gateway is a Pushgateway to push to, and the group the metrics go in.
type Gateway struct {
	// URL is the gateway's address without its user and password.
	URL            string
	user, password string
	// Job and Instance group the metrics with the command: the push goes
	// to URL/metrics/job/JOB/command/COMMAND/instance/INSTANCE.
	Job, Instance string
	// Client sends the push; nil means http.DefaultClient.
	Client *http.Client
}

// ParseGateway checks a Pushgateway address: http or https, a host, no
// query or fragment. A user and password in it (https://user:pass@host)
// are kept apart from URL, for the request's Authorization header only.
func ParseGateway(raw, job, instance string) (Gateway, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Gateway{}, errors.New("not a URL") // url's error repeats the URL, password included
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Gateway{}, fmt.Errorf("the scheme must be http or https, not %q", u.Scheme)
	}
	if u.Host == "" {
		return Gateway{}, errors.New("no host")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Gateway{}, errors.New("a query or fragment has no place in a Pushgateway address")
	}
	if job == "" || instance == "" {
		return Gateway{}, errors.New("the job and the instance must not be empty")
	}
	g := Gateway{Job: job, Instance: instance}
	if u.User != nil {
		g.user = u.User.Username()
		g.password, _ = u.User.Password()
		u.User = nil
	}
	g.URL = u.String()
	return g, nil
}

// Push pushes v to the gateway, in two groups. Every push replaces the
// group of job, command and instance whole (PUT) with v's numbers, so that
// no number of an earlier run stays beside this run's (a family this run
// has no series of, such as throttles, would). The last-success time is
// in a group of its own, the same labels and outcome="success", which only
// a success (exit code 0) replaces: a failure cannot move it.
func (g Gateway) Push(ctx context.Context, v Values) error {
	fams, err := gather(v, nil, false)
	if err != nil {
		return err
	}
	if err := g.put(ctx, v.Command, nil, fams); err != nil {
		return err
	}
	if !v.succeeded() {
		return nil
	}
	last, err := gather(v, nil, true)
	if err != nil {
		return err
	}
	last = slices.DeleteFunc(last, func(f *dto.MetricFamily) bool { return f.GetName() != nameLastSuccess })
	return g.put(ctx, v.Command, map[string]string{"outcome": "success"}, last)
}

// put replaces the group of job, command, instance and extra with fams.
func (g Gateway) put(ctx context.Context, command string, extra map[string]string, fams []*dto.MetricFamily) error {
	p := push.New(g.URL, g.Job).
		Grouping("command", command).
		Grouping("instance", g.Instance).
		Gatherer(prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return fams, nil }))
	for k, v := range extra {
		p = p.Grouping(k, v)
	}
	if g.Client != nil {
		p = p.Client(g.Client)
	}
	if g.user != "" || g.password != "" {
		p = p.BasicAuth(g.user, g.password)
	}
	if err := p.PushContext(ctx); err != nil {
		return fmt.Errorf("push metrics to %s: %w", g.URL, err)
	}
	return nil
}
