package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

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

// Push pushes v to the gateway, grouped by job, command and instance. A
// success (exit code 0) replaces the group, its last-success time
// included; any other ending adds to the group without the last-success
// time, which the gateway then keeps from the previous success.
func (g Gateway) Push(ctx context.Context, v Values) error {
	ok := v.Succeeded()
	fams, err := Gather(v, nil, ok)
	if err != nil {
		return err
	}
	p := push.New(g.URL, g.Job).
		Grouping("command", v.Command).
		Grouping("instance", g.Instance).
		Gatherer(prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return fams, nil }))
	if g.Client != nil {
		p = p.Client(g.Client)
	}
	if g.user != "" || g.password != "" {
		p = p.BasicAuth(g.user, g.password)
	}
	if ok {
		err = p.PushContext(ctx)
	} else {
		err = p.AddContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("push metrics to %s: %w", g.URL, err)
	}
	return nil
}
