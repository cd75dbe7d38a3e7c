//go:build unix

package readers

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tree makes files (name: body; a body "-> target" makes a symlink, "=>
// target" a hard link, targets relative to root) under a new folder, in
// the order given, and returns it.
func tree(t *testing.T, files [][2]string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f[0]))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch body := f[1]; {
		case strings.HasPrefix(body, "-> "):
			err = os.Symlink(filepath.FromSlash(strings.TrimPrefix(body, "-> ")), p)
		case strings.HasPrefix(body, "=> "):
			err = os.Link(filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(body, "=> "))), p)
		case body == "/":
			err = os.MkdirAll(p, 0o755)
		default:
			err = os.WriteFile(p, []byte(body), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestSymlinkedFoldersFollowed: a symlink to a folder, inside an input
// folder or on a glob's way, is followed as find -L does: its files are
// read, named by the path through the link, its Hive folder names giving
// columns; the folder it points to becomes a root of the input, so that an
// output written there is known to be read by the next run. An input that
// is itself a symlink to a folder is read whole.
func TestSymlinkedFoldersFollowed(t *testing.T) {
	const part = "to_account,set_mark\np,1\n"
	root := tree(t, [][2]string{
		{"lake/elsewhere/alice/part-0.csv", part},
		{"lake/elsewhere/bob/part-0.csv", part},
		{"lake/in/from_account=carol/part-0.csv", part},
		{"lake/in/from_account=alice", "-> ../elsewhere/alice"},
		{"lake/in/nested/from_account=bob", "-> ../../elsewhere/bob"},
		{"lake/link-to-in", "-> in"},
	})
	lake := filepath.Join(root, "lake")
	for _, tc := range []struct {
		name  string
		spec  string
		parts []string
		froms []string
		roots []Root
	}{
		{"a folder", filepath.Join(lake, "in"),
			[]string{"from_account=alice/part-0.csv", "from_account=carol/part-0.csv", "nested/from_account=bob/part-0.csv"},
			[]string{"alice", "carol", "bob"},
			[]Root{{Dir: filepath.Join(lake, "in")}, {Dir: filepath.Join(lake, "in", "from_account=alice")}, {Dir: filepath.Join(lake, "in", "nested", "from_account=bob")}}},
		{"an input that is a symlink to a folder", filepath.Join(lake, "link-to-in"),
			[]string{"from_account=alice/part-0.csv", "from_account=carol/part-0.csv", "nested/from_account=bob/part-0.csv"},
			[]string{"alice", "carol", "bob"},
			[]Root{{Dir: filepath.Join(lake, "link-to-in")}, {Dir: filepath.Join(lake, "link-to-in", "from_account=alice")}, {Dir: filepath.Join(lake, "link-to-in", "nested", "from_account=bob")}}},
		{"a glob through a link", filepath.Join(lake, "in", "from_account=*", "*.csv"),
			[]string{"from_account=alice/part-0.csv", "from_account=carol/part-0.csv"},
			[]string{"alice", "carol"},
			[]Root{{Dir: filepath.Join(lake, "in"), Pattern: []string{"from_account=*", "*.csv"}}, {Dir: filepath.Join(lake, "in", "from_account=alice"), Pattern: []string{"*.csv"}}}},
		{"a glob that matches a link", filepath.Join(lake, "in", "from_account=a*"),
			[]string{"from_account=alice/part-0.csv"},
			[]string{"alice"},
			[]Root{{Dir: filepath.Join(lake, "in"), Pattern: []string{"from_account=a*"}}, {Dir: filepath.Join(lake, "in", "from_account=alice")}}},
		{"a ** glob through links", filepath.Join(lake, "in", "**", "*.csv"),
			[]string{"from_account=alice/part-0.csv", "from_account=carol/part-0.csv", "nested/from_account=bob/part-0.csv"},
			[]string{"alice", "carol", "bob"},
			[]Root{{Dir: filepath.Join(lake, "in"), Pattern: []string{"**", "*.csv"}}, {Dir: filepath.Join(lake, "in", "from_account=alice")}, {Dir: filepath.Join(lake, "in", "nested", "from_account=bob")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := ResolveInput([]string{tc.spec}, "")
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range in.Parts {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, tc.parts) {
				t.Fatalf("parts %q, want %q", names, tc.parts)
			}
			if !slices.EqualFunc(in.Roots, tc.roots, func(a, b Root) bool { return a.Dir == b.Dir && slices.Equal(a.Pattern, b.Pattern) }) {
				t.Errorf("roots %+v, want %+v", in.Roots, tc.roots)
			}
			r, err := in.Open(Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var froms []string
			for _, rec := range drain(t, r) {
				froms = append(froms, rec.Fields[FromAccount])
			}
			if !slices.Equal(froms, tc.froms) {
				t.Errorf("from_account %q, want %q", froms, tc.froms)
			}
		})
	}
}

// TestSymlinkLoopsRefused: a symlink that leads back to a folder above it,
// a second way into a folder already read, a loop of links and a link
// that points nowhere are each an input error naming the link, found in a
// folder and on a glob's way alike; a broken link a glob would not read
// is no matter.
func TestSymlinkLoopsRefused(t *testing.T) {
	const data = "from_account,to_account,set_mark\nu,p,1\n"
	for _, tc := range []struct {
		name  string
		files [][2]string
		spec  string // below the tree's root
		link  string // the link the error names, below the root
		want  string
	}{
		{"a link to a folder above", [][2]string{{"in/a.csv", data}, {"in/sub/up", "-> .."}}, "in", "in/sub/up", "symlink loop"},
		{"a link to its own folder", [][2]string{{"in/a.csv", data}, {"in/self", "-> ."}}, "in", "in/self", "symlink loop"},
		{"a link above the input folder", [][2]string{{"in/a.csv", data}, {"in/up", "-> .."}}, "in", "in/up", "symlink loop"},
		{"a loop through a link outside", [][2]string{{"in/a.csv", data}, {"in/out", "-> ../out"}, {"out/back", "-> ../in"}}, "in", "in/out/back", "symlink loop"},
		{"a second way into a folder", [][2]string{{"in/a/x.csv", data}, {"in/b", "-> a"}}, "in", "in/b", "is read already"},
		{"a loop of links", [][2]string{{"in/a.csv", data}, {"in/l1", "-> l2"}, {"in/l2", "-> l1"}}, "in", "in/l1", "cannot be followed"},
		{"a link to nothing", [][2]string{{"in/a.csv", data}, {"in/gone", "-> nothere"}}, "in", "in/gone", "cannot be followed"},
		{"a glob's way", [][2]string{{"in/k=1/a.csv", data}, {"in/k=1/up", "-> .."}}, "in/*/*/*.csv", "in/k=1/up", "symlink loop"},
		{"a folder a glob matches", [][2]string{{"in/k=1/a.csv", data}, {"in/k=2", "-> k=1"}}, "in/k=*", "in/k=2", "is read already"},
		{"a broken link on a glob's way", [][2]string{{"in/k=1/a.csv", data}, {"in/k=2", "-> nothere"}}, "in/k=*/*.csv", "in/k=2", "cannot be followed"},
		{"a broken link a glob matches", [][2]string{{"in/a.csv", data}, {"in/b.csv", "-> nothere"}}, "in/*.csv", "in/b.csv", "cannot be followed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(t, tc.files)
			_, err := ResolveInput([]string{filepath.Join(root, tc.spec)}, "")
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an *InputError", err)
			}
			if want := filepath.Join(root, tc.link); ie.Path != want || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want one naming %s: %s", err, want, tc.want)
			}
		})
	}
	root := tree(t, [][2]string{{"in/a.csv", data}, {"in/latest", "-> nothere"}})
	if in, err := ResolveInput([]string{filepath.Join(root, "in", "*.csv")}, ""); err != nil || len(in.Parts) != 1 {
		t.Errorf("a glob beside a broken link it does not match: %v", err)
	}
}

// TestSameFileTwiceRefused: one file reached twice, whatever the paths
// (hard links, a symlink beside it, --input values that overlap), is an
// input error naming both paths; two files of equal content are fine.
func TestSameFileTwiceRefused(t *testing.T) {
	const data = "from_account,to_account,set_mark\nu,p,1\n"
	root := tree(t, [][2]string{
		{"hard/a.csv", data}, {"hard/b.csv", "=> hard/a.csv"},
		{"soft/a.csv", data}, {"soft/b.csv", "-> a.csv"},
		{"one/a.csv", data}, {"one/sub/b.csv", data},
		{"outside.csv", "=> one/a.csv"},
		{"copy/a.csv", data}, {"copy/b.csv", data},
	})
	at := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	for _, tc := range []struct {
		name  string
		specs []string
		both  [2]string // the paths the error names, first reached first
	}{
		{"hard links in a folder", []string{at("hard")}, [2]string{at("hard/a.csv"), at("hard/b.csv")}},
		{"a symlink beside its file", []string{at("soft")}, [2]string{at("soft/a.csv"), at("soft/b.csv")}},
		{"one path twice", []string{at("one/a.csv"), at("one") + "/./a.csv"}, [2]string{at("one/a.csv"), at("one") + "/./a.csv"}},
		{"a folder and a file in it", []string{at("one"), at("one/sub/b.csv")}, [2]string{at("one/sub/b.csv"), at("one/sub/b.csv")}},
		{"a folder and a glob", []string{at("one"), at("one/*.csv")}, [2]string{at("one/a.csv"), at("one/a.csv")}},
		{"a folder and a hard link outside it", []string{at("one"), at("outside.csv")}, [2]string{at("one/a.csv"), at("outside.csv")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ResolveInput(tc.specs, "")
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an *InputError", err)
			}
			msg := err.Error()
			if ie.Path != tc.both[1] || !strings.Contains(msg, "the same file as "+tc.both[0]) || !strings.Contains(msg, "read twice") {
				t.Errorf("err = %v; want %s named as the same file as %s", err, tc.both[1], tc.both[0])
			}
			if len(tc.specs) > 1 {
				for _, s := range tc.specs {
					if !strings.Contains(msg, "--input "+s) {
						t.Errorf("err = %v; want it to name --input %s", err, s)
					}
				}
			}
		})
	}
	if _, err := ResolveInput([]string{at("copy")}, ""); err != nil {
		t.Errorf("two files of equal content: %v", err)
	}
}
