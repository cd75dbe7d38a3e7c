package bucket

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func newChain(s Store, run string) *Chain {
	return &Chain{Ctx: context.Background(), Store: s, Prefix: Object{"b", "r.csv.journal/"}, Run: run}
}

// fill appends three segments (and an empty append, which puts nothing).
func fill(t *testing.T, s Store) *Chain {
	t.Helper()
	c := newChain(s, "run1")
	for _, p := range []string{"h\n", "a\nb\n", "", "c\n"} {
		if err := c.Append([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestChainPullsWhatWasAppendedAndContinuesIt(t *testing.T) {
	s := newMemStore()
	if c := fill(t, s); c.segments() != 3 {
		t.Fatalf("segments = %d, want 3 (an empty append puts nothing)", c.segments())
	}
	s.objects["s3://b/r.csv.journal/meta.json"] = []byte("{}") // beside them, not a segment
	c := newChain(s, "run1")
	var got bytes.Buffer
	n, err := c.Pull(&got)
	if err != nil || n != 3 || got.String() != "h\na\nb\nc\n" {
		t.Fatalf("Pull = %d, %v, %q", n, err, got.String())
	}
	if err := c.Append([]byte("d\n")); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if _, err := newChain(s, "run1").Pull(&again); err != nil || again.String() != "h\na\nb\nc\nd\n" {
		t.Fatalf("after a continued append: %v, %q", err, again.String())
	}
	if err := c.Delete(); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.List(context.Background(), c.Prefix); len(keys) != 1 {
		t.Fatalf("after Delete: %v, want the meta.json only", keys)
	}
}

func TestChainRefusesABadSegmentNamingIt(t *testing.T) {
	seg := func(n string) string { return "s3://b/r.csv.journal/" + n + ".csv" }
	for _, tc := range []struct {
		name  string
		spoil func(m *memStore)
		run   string
		want  string
	}{
		{"tampered", func(m *memStore) {
			m.objects[seg("00000002")] = bytes.Replace(m.objects[seg("00000002")], []byte("a\n"), []byte("x\n"), 1)
		}, "run1", "00000002.csv is damaged"},
		{"missing in the middle", func(m *memStore) { delete(m.objects, seg("00000002")) }, "run1", "00000002.csv is missing"},
		{"another run", func(m *memStore) {}, "run2", "00000001.csv belongs to another run"},
		{"foreign in place", func(m *memStore) {
			o := newMemStore()
			c := newChain(o, "run1")
			c.Append([]byte("h\n"))
			c.Append([]byte("z\nb\n"))
			m.objects[seg("00000002")] = o.objects[seg("00000002")]
		}, "run1", "00000003.csv does not follow"},
		{"renamed", func(m *memStore) {
			m.objects[seg("00000004")] = m.objects[seg("00000003")]
			delete(m.objects, seg("00000003"))
		}, "run1", "00000003.csv is missing"},
		{"not a segment", func(m *memStore) { m.objects[seg("00000003")] = []byte("c\n") }, "run1", "00000003.csv is damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore()
			fill(t, s)
			tc.spoil(s)
			_, err := newChain(s, tc.run).Pull(&bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Pull: %v, want an error with %q", err, tc.want)
			}
		})
	}
}
