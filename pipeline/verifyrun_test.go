package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"markimport/pipeline/mark"
	"markimport/pipeline/plan"
	"markimport/pipeline/report"
	"markimport/readers"
)

func TestCompare(t *testing.T) {
	ones := func(bits ...int) uint64 {
		var v uint64
		for _, b := range bits {
			v |= 1 << b
		}
		return v
	}
	item := mark.Item{Set: ones(0, 33), Clear: ones(2), Custom: "vip", Opt: mark.OptBoth}
	pattern := strings.Repeat(".", 30) + "1" + strings.Repeat(".", 30) + "0.1" // bit 33, bit 2, bit 0
	tests := []struct {
		name    string
		it      mark.Item
		got     mark.ServerMarks
		found   bool
		status  report.VerifyStatus
		message []string // substrings
	}{
		{"exact", item, mark.ServerMarks{Standard: ones(0, 33), Custom: "vip"}, true, report.VerifyMatch, nil},
		{"bits not mentioned are not compared", item, mark.ServerMarks{Standard: ones(0, 1, 33, 63), Custom: "vip"}, true, report.VerifyMatch, nil},
		{"a set bit is 0", item, mark.ServerMarks{Standard: ones(0), Custom: "vip"}, true, report.VerifyMismatch,
			[]string{"differs at bit 33 (want 1): ", "want " + pattern + " got " + fmt.Sprintf("%064b", 1)}},
		{"a cleared bit is 1", item, mark.ServerMarks{Standard: ones(0, 2, 33), Custom: "vip"}, true, report.VerifyMismatch, []string{"differs at bit 2 (want 0): "}},
		{"two bits and the custom mark", item, mark.ServerMarks{Standard: ones(2), Custom: "x"}, true, report.VerifyMismatch,
			[]string{"differs at bit 0 (want 1), 2 (want 0), 33 (want 1): ", `custom mark is "x", want "vip"`}},
		{"custom mark not written is not compared", mark.Item{Set: ones(5), Opt: mark.OptStandard}, mark.ServerMarks{Standard: ones(5), Custom: "other"}, true, report.VerifyMatch, nil},
		{"custom mark set to empty", mark.Item{Opt: mark.OptCustom}, mark.ServerMarks{Standard: ones(5), Custom: "left"}, true, report.VerifyMismatch, []string{`custom mark is "left", want ""`}},
		{"missing", item, mark.ServerMarks{}, false, report.VerifyMissing, []string{"no marks"}},
		{"clear-only item on a zero mark", mark.Item{Clear: ones(5), Opt: mark.OptStandard}, mark.ServerMarks{}, true, report.VerifyMatch, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := compare(&tt.it, tt.got, tt.found)
			if l.Status != tt.status {
				t.Fatalf("status %s (%s), want %s", l.Status, l.Message, tt.status)
			}
			for _, m := range tt.message {
				if !strings.Contains(l.Message, m) {
					t.Errorf("message %q does not contain %q", l.Message, m)
				}
			}
			if tt.status == report.VerifyMatch && l.Message != "" {
				t.Errorf("a match with message %q", l.Message)
			}
			if tt.found && l.Actual != fmt.Sprintf("standard=%064b custom=%q", tt.got.Standard, tt.got.Custom) {
				t.Errorf("actual %q", l.Actual)
			}
			if !tt.found && l.Actual != "" {
				t.Errorf("actual %q for a missing conversation", l.Actual)
			}
		})
	}
	if got := compare(&item, mark.ServerMarks{}, false).Expected; got != `set=0,33 clear=2 custom="vip"` {
		t.Errorf("expected %q", got)
	}
}

func TestSearchBatchesAreFewest(t *testing.T) {
	// u has 1000 conversations (10 mark requests), v 301, w 1.
	var changes []mark.Change
	add := func(from string, n int) {
		for i := range n {
			changes = append(changes, ch(int64(len(changes)+1), from, fmt.Sprint("p", i), 1, 0, "", mark.OptStandard))
		}
	}
	add("u", 1000)
	add("v", 301)
	add("w", 1)
	add("u", 5) // merges into u's first conversations
	reqs, _ := plan.Plan(changes, nil)
	var got []string
	for _, b := range searchBatches(reqs) {
		got = append(got, fmt.Sprintf("%s:%d", b.from, len(b.items)))
	}
	want := []string{"u:300", "u:300", "u:300", "u:100", "v:300", "v:1", "w:1"}
	if !slices.Equal(got, want) {
		t.Errorf("batches %v, want %v", got, want)
	}
}

// memVerifyReport collects verify lines by row.
type memVerifyReport struct{ lines map[int64]report.VerifyLine }

func (r *memVerifyReport) Write(l report.VerifyLine) error {
	if _, dup := r.lines[l.Row]; dup {
		return fmt.Errorf("row %d written twice", l.Row)
	}
	r.lines[l.Row] = l
	return nil
}
func (r *memVerifyReport) Close() error { return nil }

func TestVerifyJudgesEveryRow(t *testing.T) {
	in := writeInput(t,
		"from_account,to_account,to_group_id,set_mark,clear_mark,custom_mark,opt_type",
		"a,p1,,1|2,,,",   // 1: merged with row 3
		"a,p2,,,5,,",     // 2: a clear on a conversation the server lacks
		"a,p1,,,2,vip,",  // 3: merged with row 1: set 1, clear 2, custom vip
		"a,,g1,7,,,",     // 4: mismatch: bit 7 is 0 on the server
		"b,p1,,3,,,",     // 5: match, user b
		",p1,,1,,,",      // 6: invalid
		"c,p9,,1,,,",     // 7: its read fails
		"a,,g1,,,note,2", // 8: merged with row 4
		"b,p2,,63,,x,",   // 9: match
		"b,p3,,,,,2",     // 10: custom mark cleared; the server has "old"
		"d,p1,,1,,,",     // 11: missing (user d has nothing)
		"b,p4,,0,,,",     // 12: matches, bits not mentioned differ
		"b,p5,,0,1,,",    // 13: match
		"b,p6,,62,,,",    // 14: match on bit 62
		"a,p1,,,,vip,2",  // 15: merged with rows 1 and 3
		"a,p3,,,,\"\",2", // 16: custom "" on the server: match
		"a,p4,,,,z,2",    // 17: the server has no custom mark: mismatch
		"b,p1,,,4,,",     // 18: merged with row 5
	)
	mr := &memMarks{
		state: map[string]map[mark.Conversation]mark.ServerMarks{
			"a": {
				{Type: mark.C2C, Peer: "p1"}:   {Standard: 0b10, Custom: "vip"},
				{Type: mark.Group, Peer: "g1"}: {Standard: 0, Custom: "note"},
				{Type: mark.C2C, Peer: "p3"}:   {Standard: 0xff},
				{Type: mark.C2C, Peer: "p4"}:   {},
			},
			"b": {
				{Type: mark.C2C, Peer: "p1"}: {Standard: 0b1000},
				{Type: mark.C2C, Peer: "p2"}: {Standard: 1 << 63, Custom: "x"},
				{Type: mark.C2C, Peer: "p3"}: {Custom: "old"},
				{Type: mark.C2C, Peer: "p4"}: {Standard: 0xf0f1},
				{Type: mark.C2C, Peer: "p5"}: {Standard: 1},
				{Type: mark.C2C, Peer: "p6"}: {Standard: 1 << 62},
			},
		},
		failFor: map[string]error{"c": errors.New("gave up after 6 attempts: busy")},
	}
	rep := &memVerifyReport{lines: map[int64]report.VerifyLine{}}
	ctr := &mark.Counters{}
	sum, err := Verify(context.Background(), VerifyOptions{Input: in, Report: rep, Marks: mr, Counters: ctr, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]report.VerifyStatus{
		1: report.VerifyMatch, 2: report.VerifyMissing, 3: report.VerifyMatch, 4: report.VerifyMismatch, 5: report.VerifyMatch, 6: report.VerifyNotChecked,
		7: report.VerifyUnread, 8: report.VerifyMismatch, 9: report.VerifyMatch, 10: report.VerifyMismatch, 11: report.VerifyMissing, 12: report.VerifyMatch,
		13: report.VerifyMatch, 14: report.VerifyMatch, 15: report.VerifyMatch, 16: report.VerifyMatch, 17: report.VerifyMismatch, 18: report.VerifyMatch,
	}
	if len(rep.lines) != len(want) {
		t.Errorf("%d report lines, want %d", len(rep.lines), len(want))
	}
	for row, st := range want {
		if l := rep.lines[row]; l.Status != st {
			t.Errorf("row %d: %s %q, want %s", row, l.Status, l.Message, st)
		}
	}
	if l := rep.lines[3]; l.Expected != `set=1 clear=2 custom="vip"` || l.From != "a" || l.Type != "c2c" || l.Peer != "p1" {
		t.Errorf("row 3: %+v", l)
	}
	if l := rep.lines[8]; !strings.Contains(l.Message, "bit 7 (want 1)") || l.Type != "group" || l.Peer != "g1" {
		t.Errorf("row 8: %+v", l)
	}
	if l := rep.lines[6]; !strings.HasPrefix(l.Message, "invalid: from_account") || l.Expected != "" || l.Actual != "" {
		t.Errorf("row 6: %+v", l)
	}
	if l := rep.lines[7]; l.Message != "read failed: gave up after 6 attempts: busy" {
		t.Errorf("row 7: %+v", l)
	}
	// One read per user: a (5 conversations), b (6), c, d.
	slices.Sort(mr.calls)
	if !slices.Equal(mr.calls, []int{1, 1, 5, 6}) || sum.Requests != 4 {
		t.Errorf("reads %v, %d planned; want one per user", mr.calls, sum.Requests)
	}
	if sum.Rows != 18 || sum.Statuses[report.VerifyMatch] != 10 || sum.Statuses[report.VerifyMismatch] != 4 || sum.Statuses[report.VerifyMissing] != 2 ||
		sum.Statuses[report.VerifyNotChecked] != 1 || sum.Statuses[report.VerifyUnread] != 1 || sum.AllMatch() {
		t.Errorf("summary %+v", sum)
	}
	if ctr.RowsDone.Load() != 18 || ctr.RequestsDone.Load() != 4 {
		t.Errorf("counters: rows done %d, requests done %d", ctr.RowsDone.Load(), ctr.RequestsDone.Load())
	}
}

func TestVerifyRejectedRowsAreNotChecked(t *testing.T) {
	lines := []string{"from_account,to_account,set_mark"}
	state := map[mark.Conversation]mark.ServerMarks{}
	for i := range 1001 {
		lines = append(lines, fmt.Sprintf("u,p%d,1", i))
		state[mark.Conversation{Type: mark.C2C, Peer: fmt.Sprint("p", i)}] = mark.ServerMarks{Standard: 1 << 1}
	}
	rep := &memVerifyReport{lines: map[int64]report.VerifyLine{}}
	mr := &memMarks{state: map[string]map[mark.Conversation]mark.ServerMarks{"u": state}}
	sum, err := Verify(context.Background(), VerifyOptions{Input: writeInput(t, lines...), Report: rep, Marks: mr})
	if err != nil {
		t.Fatal(err)
	}
	if l := rep.lines[1001]; l.Status != report.VerifyNotChecked || !strings.Contains(l.Message, "rejected") {
		t.Errorf("row 1001: %+v", l)
	}
	if sum.Statuses[report.VerifyMatch] != 1000 || !sum.AllMatch() || sum.Requests != 4 {
		t.Errorf("summary %+v", sum)
	}
}

func TestVerifyStops(t *testing.T) {
	lines := []string{"from_account,to_account,set_mark"}
	for u := range 50 {
		lines = append(lines, fmt.Sprintf("u%d,p,1", u))
	}
	in := writeInput(t, lines...)

	t.Run("fatal", func(t *testing.T) {
		fatal := &mark.FatalError{Code: 70009, Info: "bad sig"}
		mr := &memMarks{failFor: map[string]error{"u3": fatal}}
		rep := &memVerifyReport{lines: map[int64]report.VerifyLine{}}
		sum, err := Verify(context.Background(), VerifyOptions{Input: in, Report: rep, Marks: mr, Concurrency: 1})
		if !errors.Is(err, fatal) {
			t.Fatalf("err %v, want the fatal error", err)
		}
		if len(rep.lines) != 50 {
			t.Fatalf("%d lines, want 50", len(rep.lines))
		}
		if l := rep.lines[4]; l.Status != report.VerifyUnread || !strings.Contains(l.Message, "70009") {
			t.Errorf("row 4: %+v", l)
		}
		// With one worker the reads stop right after the fatal answer: the
		// users read before it are missing, every other row is unread.
		if last := mr.users[len(mr.users)-1]; last != "u3" {
			t.Errorf("a read of %s after the fatal answer for u3 (reads %v)", last, mr.users)
		}
		if sum.Statuses[report.VerifyMissing] != int64(len(mr.calls)-1) || sum.Statuses[report.VerifyUnread] != int64(50-len(mr.calls)+1) {
			t.Errorf("%d reads; summary %+v", len(mr.calls), sum.Statuses)
		}
		for row, l := range rep.lines {
			if l.Status == report.VerifyUnread && row != 4 && l.Message != "not read: the verify stopped on API error 70009" {
				t.Errorf("row %d: %+v", row, l)
			}
		}
	})
	t.Run("interrupted before it began", func(t *testing.T) {
		// No read is made; the stages stop at their first check, and any row
		// planned by then is unread saying why.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rep := &memVerifyReport{lines: map[int64]report.VerifyLine{}}
		mr := &memMarks{}
		sum, err := Verify(ctx, VerifyOptions{Input: in, Report: rep, Marks: mr})
		if !errors.Is(err, context.Canceled) || sum.Stopped != stoppedInterrupted || len(mr.calls) != 0 {
			t.Fatalf("err %v, stopped %q, %d reads, %d lines", err, sum.Stopped, len(mr.calls), len(rep.lines))
		}
		for row, l := range rep.lines {
			if l.Status != report.VerifyUnread || l.Message != "not read: the verify was interrupted" {
				t.Errorf("row %d: %+v", row, l)
			}
		}
	})
	t.Run("interrupted while reading back", func(t *testing.T) {
		// The first read interrupts the verify: rows read say what was
		// read, rows planned and not read are unread saying why.
		ctx, cancel := context.WithCancel(context.Background())
		rep := &memVerifyReport{lines: map[int64]report.VerifyLine{}}
		mr := &memMarks{onSearch: cancel}
		sum, err := Verify(ctx, VerifyOptions{Input: in, Report: rep, Marks: mr, Concurrency: 1})
		if !errors.Is(err, context.Canceled) || sum.Stopped != stoppedInterrupted {
			t.Fatalf("err %v, stopped %q", err, sum.Stopped)
		}
		if len(mr.users) != 1 || sum.Statuses[report.VerifyUnread] == 0 {
			t.Fatalf("reads %v, summary %+v", mr.users, sum.Statuses)
		}
		for row, l := range rep.lines {
			if l.Status == report.VerifyUnread && (l.Message != "not read: the verify was interrupted" || l.Expected != "set=1") {
				t.Errorf("row %d: %+v", row, l)
			}
		}
	})
	t.Run("input error", func(t *testing.T) {
		_, err := Verify(context.Background(), VerifyOptions{Input: filepath.Join(t.TempDir(), "absent.csv"),
			Report: &memVerifyReport{lines: map[int64]report.VerifyLine{}}, Marks: &memMarks{}})
		var ie *readers.InputError
		if !errors.As(err, &ie) {
			t.Fatalf("err %v, want an input error", err)
		}
	})
}
