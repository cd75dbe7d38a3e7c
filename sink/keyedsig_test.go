package sink

import (
	"testing"
	"time"

	"markimport/sink/usersig"
)

// TestKeyedSigRenewsAtHalfLife: a usersig is reused until half of its
// lifetime has passed and replaced then, so that the one a request carries
// always has at least half of its lifetime left when it is handed out;
// Renew replaces it at once. The clock is the test's.
func TestKeyedSigRenewsAtHalfLife(t *testing.T) {
	const key, app, admin = "keyed-sig-test-key", 1400000000, "administrator"
	ttl := 10 * time.Second
	k, err := NewKeyedSig(key, app, admin, ttl)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	k.now = func() time.Time { return clock }
	at := func(d time.Duration) string {
		t.Helper()
		clock = time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC).Add(d)
		s, err := k.UserSig()
		if err != nil {
			t.Fatal(err)
		}
		// At the moment it is handed out it verifies, and still would at
		// half of its lifetime from now.
		if err := usersig.Verify(s, key, app, admin, clock.Add(ttl/2-time.Millisecond)); err != nil {
			t.Fatalf("at %v the usersig handed out has less than half its lifetime left: %v", d, err)
		}
		return s
	}
	first := at(0)
	if got := at(ttl/2 - time.Millisecond); got != first {
		t.Fatal("renewed before half of its lifetime")
	}
	second := at(ttl / 2)
	if second == first {
		t.Fatal("not renewed at half of its lifetime")
	}
	if got := at(ttl - time.Millisecond); got != second {
		t.Fatal("the renewed usersig was replaced before its own half-life")
	}
	if !k.Renew() {
		t.Fatal("Renew failed")
	}
	if got := at(ttl - time.Millisecond); got == second {
		t.Fatal("Renew did not replace the usersig")
	}
}
