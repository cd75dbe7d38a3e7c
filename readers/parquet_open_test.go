package readers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// openError opens path as Parquet and returns the message of its
// *InputError, failing the test if there is none or it names another file.
func openError(t *testing.T, path string) string {
	t.Helper()
	r, err := openParquet(path, Options{})
	if err == nil {
		r.Close()
		t.Fatal("openParquet succeeded; want an input error")
	}
	var ie *InputError
	if !errors.As(err, &ie) || ie.Path != path {
		t.Fatalf("err = %#v; want an *InputError for %s", err, path)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is more than one line", err)
	}
	return ie.Err.Error()
}

// An encrypted Parquet file (encrypted footer: PARE at both ends) is
// refused as such, not as "not a Parquet file".
func TestParquetEncrypted(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	writeParquet(t, good, []pqColumn{{name: "from_account", typ: arrow.BinaryTypes.String, vals: strs("a")}}, pqWrite{})
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	const want = "encrypted Parquet (magic PARE) is not supported: export it without encryption"
	for name, mangle := range map[string]func(b []byte){
		"both ends": func(b []byte) { copy(b, "PARE"); copy(b[len(b)-4:], "PARE") },
		"head":      func(b []byte) { copy(b, "PARE") },
		"tail":      func(b []byte) { copy(b[len(b)-4:], "PARE") },
	} {
		t.Run(name, func(t *testing.T) {
			b := append([]byte(nil), data...)
			mangle(b)
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".parquet")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if msg := openError(t, path); msg != want {
				t.Errorf("error %q; want %q", msg, want)
			}
		})
	}
}

// Content that is not Parquet is shown: its first bytes, escaped.
func TestParquetNotParquetShowsStart(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		data, want string
	}{
		{"from_account,to_account\nalice,bob\n", `not a Parquet file: it starts with "from_account,to_"`},
		{"\x1f\x8b\x08\x00binary gzip data", `not a Parquet file: it starts with "\x1f\x8b\b\x00binary gzip "`},
		{"PK\x03", `not a Parquet file: it starts with "PK\x03"`},
	} {
		path := filepath.Join(dir, "x.parquet")
		if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
			t.Fatal(err)
		}
		if msg := openError(t, path); !strings.HasPrefix(msg, tt.want) || !strings.Contains(msg, "--format csv") {
			t.Errorf("error %q; want it to start %q and mention --format csv", msg, tt.want)
		}
	}
}
