package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// The API's limits the analysis counts with: items per mark_contact
// request, marked conversations per user, and conversations one
// search_contact_group request reads. Written here again, apart from
// pipeline/mark's, so that the analysis stays independent of the planner.
const (
	maxItemsPerRequest = 100
	maxConvsPerUser    = 1000
	maxSearchItems     = 300 // search_contact_group
)

// analysis is what `markgen -analyze` computes from a CSV file, with its own
// simple code, independently of markimport's planner: the bench compares the
// planner's figures with these.
type analysis struct {
	// Rows is the data records read; Skipped those without a from_account
	// or without exactly one of to_account and to_group_id (the generated
	// bench files have none).
	Rows, Skipped int64
	// Users is the distinct from_account values; Conversations the distinct
	// (from_account, type, peer) keys, OverLimit those beyond a user's
	// 1000th (rejected, never sent).
	Users, Conversations, OverLimit int64
	// LowerBound is Σ over users of ceil(min(conversations, 1000)/100):
	// the fewest requests the API allows.
	LowerBound int64
	// ReadLowerBound is Σ over users of ceil(min(conversations, 1000)/300):
	// the fewest search_contact_group requests that read every sendable
	// conversation back (run --backup on a file of new items).
	ReadLowerBound int64
	// Streamer is the requests a file-order streamer sends: it starts a new
	// request whenever from_account changes or its current request already
	// holds 100 distinct conversations, merging a repeated conversation only
	// inside its current request.
	Streamer int64
}

// runAnalyze prints the analysis of the CSV file at path as key=value lines.
func runAnalyze(path string, stdout, stderr io.Writer) int {
	if path == "" {
		fmt.Fprintln(stderr, "markgen: usage: markgen -analyze FILE.csv")
		return 2
	}
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, "markgen -analyze:", err)
		return 1
	}
	defer f.Close()
	a, err := analyzeCSV(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		fmt.Fprintf(stderr, "markgen -analyze: %s: %v\n", path, err)
		return 1
	}
	a.print(stdout)
	return 0
}

// print writes the analysis as key=value lines, the form the benchmark
// script reads.
func (a analysis) print(w io.Writer) {
	fmt.Fprintf(w, "rows=%d\n", a.Rows)
	fmt.Fprintf(w, "skipped=%d\n", a.Skipped)
	fmt.Fprintf(w, "users=%d\n", a.Users)
	fmt.Fprintf(w, "conversations=%d\n", a.Conversations)
	fmt.Fprintf(w, "over_limit=%d\n", a.OverLimit)
	fmt.Fprintf(w, "lower_bound=%d\n", a.LowerBound)
	fmt.Fprintf(w, "streamer=%d\n", a.Streamer)
	fmt.Fprintf(w, "read_lower_bound=%d\n", a.ReadLowerBound)
}

// normColumn is a column name as markimport matches it: case-insensitive,
// ignoring '_', '-' and spaces.
func normColumn(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(s))
}

// analyzeCSV reads a CSV file with a header row and counts users,
// conversations, the lower bound and the file-order streamer's requests.
func analyzeCSV(r io.Reader) (analysis, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	cols, err := readColumns(cr)
	if err != nil {
		return analysis{}, err
	}
	c := newCounter()
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return c.a, err
		}
		c.add(cols.get(rec, cols.from), cols.get(rec, cols.to), cols.get(rec, cols.group))
	}
	return c.finish(), nil
}

// columns are where the header puts the columns the analysis reads (-1:
// not there).
type columns struct{ from, to, group int }

// readColumns reads the header row and finds from_account, to_account
// and to_group_id in it, the first of each name as markimport matches
// names; from_account is required.
func readColumns(cr *csv.Reader) (columns, error) {
	head, err := cr.Read()
	if err == io.EOF {
		return columns{}, errors.New("empty file: no header row")
	}
	if err != nil {
		return columns{}, err
	}
	col := map[string]int{"fromaccount": -1, "toaccount": -1, "togroupid": -1}
	for i, h := range head {
		if j, ok := col[normColumn(h)]; ok && j < 0 {
			col[normColumn(h)] = i
		}
	}
	if col["fromaccount"] < 0 {
		return columns{}, errors.New("no from_account column")
	}
	return columns{from: col["fromaccount"], to: col["toaccount"], group: col["togroupid"]}, nil
}

// get is field i of rec, trimmed, or "" when the record has no such field.
func (columns) get(rec []string, i int) string {
	if i >= 0 && i < len(rec) {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// counter counts the analysis row by row.
type counter struct {
	a       analysis
	convs   map[string]int32    // conversation key → its ordinal for its user (1-based)
	perUser map[string]int32    // user → conversations so far
	current map[string]struct{} // conversations of the streamer's open request
	curFrom string              // the user of the streamer's open request
	open    bool                // whether the streamer has a request open
}

func newCounter() *counter {
	return &counter{convs: map[string]int32{}, perUser: map[string]int32{}, current: map[string]struct{}{}}
}

// add counts one data row.
func (c *counter) add(from, to, group string) {
	c.a.Rows++
	if from == "" || (to == "") == (group == "") {
		c.a.Skipped++
		return
	}
	key := from + "\x00c2c\x00" + to
	if group != "" {
		key = from + "\x00group\x00" + group
	}
	if c.ordinal(from, key) > maxConvsPerUser {
		return // rejected: neither the planner nor a streamer sends it
	}
	c.stream(from, key)
}

// ordinal is the conversation's rank among its user's, counting it (and
// its user) the first time it is seen.
func (c *counter) ordinal(from, key string) int32 {
	ord, seen := c.convs[key]
	if seen {
		return ord
	}
	n, known := c.perUser[from]
	if !known {
		c.a.Users++
	}
	n++
	c.perUser[from] = n
	c.convs[key] = n
	c.a.Conversations++
	if n > maxConvsPerUser {
		c.a.OverLimit++
	}
	return n
}

// stream counts the requests of a file-order streamer: a new one whenever
// from_account changes or the open one already holds 100 other
// conversations.
func (c *counter) stream(from, key string) {
	_, inCurrent := c.current[key]
	if !c.open || from != c.curFrom || (len(c.current) >= maxItemsPerRequest && !inCurrent) {
		c.a.Streamer++
		clear(c.current)
		c.curFrom, c.open = from, true
	}
	c.current[key] = struct{}{}
}

// finish adds the lower bounds, from each user's sendable conversations.
func (c *counter) finish() analysis {
	for _, n := range c.perUser {
		sendable := int64(min(n, maxConvsPerUser))
		c.a.LowerBound += (sendable + maxItemsPerRequest - 1) / maxItemsPerRequest
		c.a.ReadLowerBound += (sendable + maxSearchItems - 1) / maxSearchItems
	}
	return c.a
}
