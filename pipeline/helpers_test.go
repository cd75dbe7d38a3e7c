package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"markimport/pipeline/mark/marktest"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"markimport/pipeline/mark"
	"markimport/pipeline/report"
)

// Helpers shared by the package's tests: inputs, an in-memory report, a
// sender and a mark reader that record what they are given.

// writeGenInput writes a shuffled CSV with many users, merged rows, a user
// over the conversation limit and invalid rows.
func writeGenInput(t testing.TB, path string, n int, sorted bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	var rows [][]string
	for i := range n {
		u := fmt.Sprint("user", r.IntN(n/5+1))
		rows = append(rows, []string{u, fmt.Sprint("peer", r.IntN(30)), fmt.Sprint(r.IntN(64)), "", fmt.Sprint("c", i%7)})
		if i%97 == 0 {
			rows = append(rows, []string{u, "", "64", "", ""}) // invalid
		}
	}
	for i := range 1003 {
		rows = append(rows, []string{"heavy", fmt.Sprint("h", i), "1", "", ""})
	}
	if sorted {
		slices.SortStableFunc(rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	} else {
		r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	}
	writeCSV(t, path, []string{"from_account", "to_account", "set_mark", "clear_mark", "custom_mark"}, rows)
}

// writeCSV writes a CSV file of header and rows, quoted where they need it.
func writeCSV(t testing.TB, path string, header []string, rows [][]string) {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(header); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// memReport collects report lines.
type memReport struct {
	mu    sync.Mutex
	lines []report.Line
}

func (m *memReport) Write(l report.Line) error {
	m.mu.Lock()
	m.lines = append(m.lines, l)
	m.mu.Unlock()
	return nil
}
func (m *memReport) Sync() error  { return nil }
func (m *memReport) Close() error { return nil }

// recordingSender answers every item ok and records the requests, as
// "from: conv/set/clear/custom/opt ...". check, when set, is called with
// each request as the sender receives it, before it is answered.
type recordingSender struct {
	check func(req *mark.Request)

	mu   sync.Mutex
	reqs []string
}

func (s *recordingSender) Send(ctx context.Context, reqs <-chan *mark.Request, done func(*mark.Request, []mark.Outcome)) error {
	for req := range reqs {
		if s.check != nil {
			s.check(req)
		}
		out := make([]mark.Outcome, len(req.Items))
		var b strings.Builder
		fmt.Fprintf(&b, "%s:", req.From)
		for i, it := range req.Items {
			out[i] = mark.Outcome{Sent: true, Attempts: 1}
			fmt.Fprintf(&b, " %v/%x/%x/%q/%d", it.Conv, it.Set, it.Clear, it.Custom, it.Opt)
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, b.String())
		s.mu.Unlock()
		done(req, out)
	}
	return ctx.Err()
}

// sent is how many requests the sender received.
func (s *recordingSender) sent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// memMarks is a MarkReader over a map, recording the batches it is asked.
type memMarks struct {
	mu      sync.Mutex
	state   map[string]map[mark.Conversation]mark.ServerMarks
	calls   []int
	users   []string         // who was read, in order
	failFor map[string]error // users whose reads fail
	// onSearch, when set, is called by every read (a test interrupts
	// with it).
	onSearch func()
}

func (m *memMarks) Search(ctx context.Context, from string, convs []mark.Conversation) (map[mark.Conversation]mark.ServerMarks, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, len(convs))
	m.users = append(m.users, from)
	if m.onSearch != nil {
		m.onSearch()
	}
	if err := m.failFor[from]; err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[mark.Conversation]mark.ServerMarks{}
	for _, c := range convs {
		if s, ok := m.state[from][c]; ok {
			out[c] = s
		}
	}
	return out, nil
}

// fiveUsersThreeRows writes an input of 5 users with 3 conversations
// each, one request a user: u0..u4 to p0..p2, bit 1 set.
func fiveUsersThreeRows(t *testing.T) string {
	t.Helper()
	lines := []string{"from_account,to_account,set_mark,clear_mark,custom_mark"}
	for u := range 5 {
		for k := range 3 {
			lines = append(lines, fmt.Sprintf("u%d,p%d,1,,", u, k))
		}
	}
	return writeInput(t, lines...)
}

// writeInput writes lines as an input file and returns its path.
func writeInput(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// ch is a c2c change (see marktest.C2C).
var ch = marktest.C2C
