package mark

import (
	"errors"
	"testing"
)

// TestFatalErrorSays: how a fatal error reads in the summary (Stopped) and
// in a message (Error): the API's code, an endpoint never reached, or an
// HTTP answer that is no API answer.
func TestFatalErrorSays(t *testing.T) {
	for _, tc := range []struct {
		err           FatalError
		stopped, text string
	}{
		{FatalError{Code: 70009, Info: "bad usersig", Hint: "renew it"}, "fatal: 70009", "API error 70009: bad usersig (renew it)"},
		{FatalError{Code: 60020}, "fatal: 60020", "API error 60020"},
		{FatalError{Code: CodeUnreachable, Info: "connection refused", Hint: "check --endpoint"}, "fatal: unreachable",
			"cannot reach the API: connection refused (check --endpoint)"},
		{FatalError{Code: -1, Info: "HTTP 404"}, "fatal: http", "the endpoint did not answer as the API does: HTTP 404"},
		{FatalError{Code: -2, Info: "a redirect", Hint: "use the API's host"}, "fatal: http",
			"the endpoint did not answer as the API does: a redirect (use the API's host)"},
	} {
		if got := tc.err.Stopped(); got != tc.stopped {
			t.Errorf("%+v: Stopped() = %q, want %q", tc.err, got, tc.stopped)
		}
		if got := tc.err.Error(); got != tc.text {
			t.Errorf("%+v: Error() = %q, want %q", tc.err, got, tc.text)
		}
	}
	var wrapped error = &FatalError{Code: 70009}
	var fe *FatalError
	if !errors.As(errors.Join(errors.New("x"), wrapped), &fe) || fe.Code != 70009 {
		t.Errorf("a wrapped FatalError is not found")
	}
}
