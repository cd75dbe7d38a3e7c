package bucket

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestLease: a lease held is refused naming its owner; an expired one is
// taken over; a released one is gone; an object that is not a lease is
// never taken over.
func TestLease(t *testing.T) {
	ctx := context.Background()
	for _, cos := range []bool{false, true} {
		st := newMemStore()
		st.cos = cos
		o := Object{"b", "state/LEASE.json"}
		a, err := TakeLease(ctx, st, o, "run a", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		_, err = TakeLease(ctx, st, o, "run b", time.Minute)
		var he *heldError
		if !errors.As(err, &he) || he.Owner != "run a" || !strings.Contains(err.Error(), "run a") {
			t.Fatalf("a second run: %v", err)
		}
		if err := a.Release(); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.Exists(ctx, o); ok {
			t.Fatal("the lease outlived its release")
		}
		// A killed run's lease, expired.
		b, _ := json.Marshal(leaseBody{Owner: "run k", Expires: time.Now().Add(-time.Second)})
		st.Put(ctx, o, b, false)
		c, err := TakeLease(ctx, st, o, "run c", time.Minute)
		if err != nil {
			t.Fatalf("an expired lease: %v", err)
		}
		c.Release()
		st.Put(ctx, o, []byte("something else"), false)
		if _, err := TakeLease(ctx, st, o, "run d", time.Minute); err == nil || !strings.Contains(err.Error(), "not a markimport lease") {
			t.Fatalf("an object that is no lease: %v", err)
		}
	}
}
