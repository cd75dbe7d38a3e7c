package readers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestHiveFolderAgreesWithColumn: a Hive folder name that gives a column
// the file has too must agree with each row's value: a row that differs is
// invalid, naming the file's value and column and the folder's value and
// name; equal values (URL-decoding, Hive's null as empty and surrounding
// spaces of a trimmed field aside) are fine. Column names match as headers
// do: case, '_', '-', spaces and --map. The same holds for CSV and
// Parquet.
func TestHiveFolderAgreesWithColumn(t *testing.T) {
	cases := []struct {
		name   string
		folder string // the folder name, key=value
		column string // the file's column of the same field
		value  string // its value in the row
		opts   Options
		field  Field
		want   []string // the row's Problem holds each; none: no problem
	}{
		{"equal", "from_account=alice", "from_account", "alice", Options{}, FromAccount, nil},
		{"equal, another spelling of the name", "From-Account=alice", "FromAccount", "alice", Options{}, FromAccount, nil},
		{"equal once URL-decoded", "from_account=a%20b%2Fc", "from_account", "a b/c", Options{}, FromAccount, nil},
		{"equal but for spaces", "from_account=alice", "from_account", " alice ", Options{}, FromAccount, nil},
		{"both null", "from_account=__HIVE_DEFAULT_PARTITION__", "from_account", "", Options{}, FromAccount, nil},
		{"different", "from_account=alice", "from_account", "bob", Options{}, FromAccount,
			[]string{`"bob"`, "from_account", `"alice"`, "folder from_account=alice"}},
		{"different, another spelling of the name", "FROM_ACCOUNT=alice", "From Account", "bob", Options{}, FromAccount,
			[]string{`"bob"`, "column From Account", `"alice"`, "folder FROM_ACCOUNT=alice"}},
		{"different once URL-decoded", "from_account=a%2Bb", "from_account", "a%2Bb", Options{}, FromAccount,
			[]string{`"a%2Bb"`, `"a+b"`, "folder from_account=a%2Bb"}},
		{"a null folder, a value in the file", "from_account=__HIVE_DEFAULT_PARTITION__", "from_account", "bob", Options{}, FromAccount,
			[]string{`"bob"`, `""`, "__HIVE_DEFAULT_PARTITION__"}},
		{"a folder value, an empty cell", "from_account=alice", "from_account", "", Options{}, FromAccount,
			[]string{`""`, `"alice"`}},
		{"--map renames the file's column", "from_account=alice", "legacy_user", "bob", Options{Map: map[string]string{"legacy_user": "from_account"}}, FromAccount,
			[]string{`"bob"`, "legacy_user", `"alice"`}},
		{"--map renames the folder's key", "legacy_user=alice", "from_account", "bob", Options{Map: map[string]string{"legacy_user": "from_account"}}, FromAccount,
			[]string{`"bob"`, "from_account", `"alice"`, "legacy_user=alice"}},
		{"another column", "type=group", "type", "c2c", Options{}, Type, []string{`"c2c"`, `"group"`, "type=group"}},
		{"custom_mark is verbatim", "custom_mark=vip", "custom_mark", "vip ", Options{}, CustomMark, []string{`"vip "`, `"vip"`}},
	}
	for _, format := range []Format{CSV, Parquet} {
		for _, tc := range cases {
			t.Run(string(format)+"/"+tc.name, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), tc.folder)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				// The file has the folder's column, and from_account or a
				// peer besides.
				names := []string{tc.column, "to_account", "set_mark"}
				vals := []string{tc.value, "p", "1"}
				if tc.field != FromAccount {
					names, vals = append(names, "from_account"), append(vals, "u")
				}
				path := filepath.Join(dir, "part-0."+string(format))
				if format == CSV {
					body := strings.Join(names, ",") + "\n" + strings.Join(vals, ",") + "\n"
					if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
						t.Fatal(err)
					}
				} else {
					var cols []pqColumn
					for i, n := range names {
						cols = append(cols, pqColumn{name: n, typ: arrow.BinaryTypes.String, vals: strs(vals[i])})
					}
					writeParquet(t, path, cols, pqWrite{})
				}
				in, err := ResolveInput([]string{filepath.Dir(dir)}, "")
				if err != nil {
					t.Fatal(err)
				}
				r, err := in.Open(tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				recs := drain(t, r)
				if len(recs) != 1 {
					t.Fatalf("%d records, want 1", len(recs))
				}
				rec := recs[0]
				if rec.Fields[tc.field] != tc.value {
					t.Errorf("%s = %q, want the file's %q", tc.field, rec.Fields[tc.field], tc.value)
				}
				if tc.want == nil {
					if rec.Problem != "" {
						t.Errorf("problem %q; want none", rec.Problem)
					}
					return
				}
				if rec.ProblemColumn != tc.field.String() {
					t.Errorf("problem column %q, want %s (problem %q)", rec.ProblemColumn, tc.field, rec.Problem)
				}
				for _, w := range tc.want {
					if !strings.Contains(rec.Problem, w) {
						t.Errorf("problem %q lacks %q", rec.Problem, w)
					}
				}
			})
		}
	}
}

// TestHiveFoldersDisagree: two folder names that give one column
// different values are an input error naming both; the same value twice
// is fine.
func TestHiveFoldersDisagree(t *testing.T) {
	for _, tc := range []struct {
		path string
		err  []string
	}{
		{"from_account=alice/FromAccount=bob/part-0.csv", []string{"from_account=alice", "FromAccount=bob", "from_account"}},
		{"from_account=alice/from-account=alice/part-0.csv", nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			root := t.TempDir()
			p := filepath.Join(root, filepath.FromSlash(tc.path))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte("to_account,set_mark\np,1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			in, err := ResolveInput([]string{root}, "")
			if err != nil {
				t.Fatal(err)
			}
			r, err := in.Open(Options{})
			if tc.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				if recs := drain(t, r); len(recs) != 1 || recs[0].Fields[FromAccount] != "alice" || recs[0].Problem != "" {
					t.Errorf("records %+v", recs)
				}
				return
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an *InputError", err)
			}
			for _, w := range tc.err {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}
