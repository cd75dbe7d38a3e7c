package bucket

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestOutputAppearsOnlyWhenCommitted(t *testing.T) {
	st := newMemStore()
	dst := NewDestination(context.Background(), st, parseURL, false)
	out, err := dst.Create("s3://b/out/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	out.Write([]byte("{}"))
	if len(st.keys()) != 0 {
		t.Fatalf("before commit the bucket holds %v", st.keys())
	}
	if err := out.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := st.Get(context.Background(), Object{"b", "out/summary.json"}); string(b) != "{}" {
		t.Fatalf("object = %q", b)
	}
}

func TestOutputNeverReplacesWithoutOverwrite(t *testing.T) {
	st := newMemStore()
	o := Object{"b", "r.csv"}
	st.Put(context.Background(), o, []byte("finished"), false)
	for _, overwrite := range []bool{false, true} {
		out, err := NewDestination(context.Background(), st, parseURL, overwrite).Create(o.String())
		if err != nil {
			t.Fatal(err)
		}
		out.Write([]byte("new"))
		err = out.Commit()
		b, _ := st.Get(context.Background(), o)
		switch {
		case !overwrite && (err == nil || !strings.Contains(err.Error(), "--overwrite") || string(b) != "finished"):
			t.Fatalf("without --overwrite: err %v, object %q", err, b)
		case overwrite && (err != nil || string(b) != "new"):
			t.Fatalf("with --overwrite: err %v, object %q", err, b)
		}
	}
}

func TestOutputAbortLeavesTheObject(t *testing.T) {
	st := newMemStore()
	o := Object{"b", "r.csv"}
	st.Put(context.Background(), o, []byte("finished"), false)
	out, _ := NewDestination(context.Background(), st, parseURL, true).Create(o.String())
	out.Write([]byte("half"))
	out.Abort()
	if b, _ := st.Get(context.Background(), o); string(b) != "finished" {
		t.Fatalf("object = %q after an abort", b)
	}
	if err := out.Commit(); err == nil {
		t.Fatal("commit after abort succeeded")
	}
	if _, err := st.Get(context.Background(), Object{"b", "none"}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}
