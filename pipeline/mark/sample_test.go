package mark_test

import (
	"fmt"
	"testing"

	"markimport/pipeline/mark"
)

func TestSample(t *testing.T) {
	ten, err := mark.ParseSample("0.1")
	if err != nil {
		t.Fatal(err)
	}
	half, _ := mark.ParseSample("0.5")
	all, _ := mark.ParseSample("1")
	kept := 0
	for i := range 100000 {
		u := fmt.Sprintf("user%d", i)
		if ten.Keeps(u) {
			kept++
			if !half.Keeps(u) {
				t.Fatalf("%s is in the 10%% sample but not in the 50%% one", u)
			}
		}
		if !all.Keeps(u) || !(mark.Sample{}).Keeps(u) {
			t.Fatalf("%s left out of everyone", u)
		}
	}
	if kept < 9500 || kept > 10500 {
		t.Errorf("10%% sample kept %d of 100000 users", kept)
	}
	// The documented hash, pinned so that a change of it is seen: the
	// first 8 bytes of SHA-256 are 0.1713 of 2^64 for "alice", 0.5067 for
	// "bob", 0.2975 for "carol".
	fifth, _ := mark.ParseSample("0.2")
	if got, want := fmt.Sprint(fifth.Keeps("alice"), fifth.Keeps("bob"), fifth.Keeps("carol"), half.Keeps("carol"), half.Keeps("bob")),
		"true false false true false"; got != want {
		t.Errorf("samples of alice, bob, carol = %s, want %s", got, want)
	}
	for _, bad := range []string{"", "0", "-0.1", "1.01", "NaN", "Inf", "10%"} {
		if _, err := mark.ParseSample(bad); err == nil {
			t.Errorf("ParseSample(%q) accepted", bad)
		}
	}
}
