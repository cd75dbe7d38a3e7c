package sink

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// regions maps the --region names to the API domain of each data centre.
var regions = map[string]string{
	"china":          "console.tim.qq.com",
	"singapore":      "adminapisgp.im.qcloud.com",
	"seoul":          "adminapikr.im.qcloud.com",
	"frankfurt":      "adminapiger.im.qcloud.com",
	"silicon-valley": "adminapiusa.im.qcloud.com",
	"jakarta":        "adminapiidn.im.qcloud.com",
	"tokyo":          "adminapijpn.im.qcloud.com",
	"mumbai":         "adminapiind.im.qcloud.com",
}

// RegionNames lists the valid --region names, sorted.
func RegionNames() []string {
	names := make([]string, 0, len(regions))
	for n := range regions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RegionEndpoint returns the https endpoint of a region name.
func RegionEndpoint(name string) (string, error) {
	d, ok := regions[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return "", fmt.Errorf("unknown region %q; valid regions: %s", name, strings.Join(RegionNames(), ", "))
	}
	return "https://" + d, nil
}

// checkEndpoint parses an endpoint base URL. It must be https, except plain
// http on a loopback address (the emulator), so credentials never cross a
// network in clear text.
func checkEndpoint(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", raw, err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("endpoint %q: no host (want e.g. https://console.tim.qq.com)", raw)
	}
	if u.RawQuery != "" || u.User != nil {
		return nil, errors.New("endpoint: must not carry a query or user info; credentials come from flags and the environment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return nil, fmt.Errorf("endpoint %q: plain http is refused except on loopback addresses; use https", raw)
		}
	default:
		return nil, fmt.Errorf("endpoint %q: scheme %q is not https", raw, u.Scheme)
	}
	return u, nil
}

// IsLoopback reports whether host is localhost or a loopback IP address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// The redactor removes credentials from anything printed. Secrets are
// registered once they are known (the secret key, every usersig made or
// read), and a usersig query parameter is masked whatever its value.
var (
	secretsMu sync.RWMutex
	secrets   []string
	sigParam  = regexp.MustCompile(`(?i)(usersig=)[^&\s"']*`)
)

// redacted replaces every secret in printed text.
const redacted = "[REDACTED]"

// RegisterSecret adds s to the strings Redact removes.
func RegisterSecret(s string) {
	if len(s) < 4 {
		return
	}
	secretsMu.Lock()
	defer secretsMu.Unlock()
	for _, x := range secrets {
		if x == s {
			return
		}
	}
	// Keep the list short: usersigs renewed during a long run replace
	// older ones, which are no longer in use but still must not leak, so
	// keep a bounded history.
	if len(secrets) > 64 {
		secrets = append(secrets[:1], secrets[2:]...)
	}
	secrets = append(secrets, s)
}

// Redact removes registered secrets and usersig query values from s.
func Redact(s string) string {
	s = sigParam.ReplaceAllString(s, "${1}"+redacted)
	secretsMu.RLock()
	defer secretsMu.RUnlock()
	for _, x := range secrets {
		if strings.Contains(s, x) {
			s = strings.ReplaceAll(s, x, redacted)
		}
	}
	return s
}

// redactErr renders an error without the URL that *url.Error adds (it holds
// the usersig), and with any secret removed.
func redactErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		msg := ue.Err.Error()
		if ue.Timeout() {
			msg = "timeout: " + msg
		}
		return Redact(ue.Op + ": " + msg)
	}
	return Redact(err.Error())
}
