package mark

import "testing"

// TestReadErrorSays: a failed read names its code once: not again when
// its message already does, and not at all when it has none.
func TestReadErrorSays(t *testing.T) {
	for _, tc := range []struct {
		err  ReadError
		want string
	}{
		{ReadError{Code: 90001, Message: "busy"}, "API error 90001: busy"},
		{ReadError{Code: 90001, Message: "API error 90001: busy"}, "API error 90001: busy"},
		{ReadError{Message: "no answer after 5 attempts"}, "no answer after 5 attempts"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.err, got, tc.want)
		}
	}
	if Send != 0 {
		t.Errorf("the zero Verdict must let an item go: Send is %d", Send)
	}
}
