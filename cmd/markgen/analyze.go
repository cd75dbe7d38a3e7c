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

// The API's limits the analysis counts with (SPEC §1).
const (
	maxItemsPerRequest = 100
	maxConvsPerUser    = 1000
	maxSearchItems     = 300 // search_contact_group
)

// Analysis is what `markgen -analyze` computes from a CSV file, with its own
// simple code, independently of markimport's planner: the bench compares the
// planner's figures with these.
type Analysis struct {
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

func (a Analysis) print(w io.Writer) {
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
func analyzeCSV(r io.Reader) (Analysis, error) {
	var a Analysis
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err == io.EOF {
		return a, errors.New("empty file: no header row")
	}
	if err != nil {
		return a, err
	}
	col := map[string]int{"fromaccount": -1, "toaccount": -1, "togroupid": -1}
	for i, h := range head {
		if j, ok := col[normColumn(h)]; ok && j < 0 {
			col[normColumn(h)] = i
		}
	}
	if col["fromaccount"] < 0 {
		return a, errors.New("no from_account column")
	}
	get := func(rec []string, name string) string {
		if i := col[name]; i >= 0 && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}

	convs := make(map[string]int32)      // conversation key → its ordinal for its user (1-based)
	perUser := make(map[string]int32)    // user → conversations so far
	current := make(map[string]struct{}) // conversations of the streamer's open request
	curFrom, open := "", false
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return a, err
		}
		a.Rows++
		from, to, group := get(rec, "fromaccount"), get(rec, "toaccount"), get(rec, "togroupid")
		if from == "" || (to == "") == (group == "") {
			a.Skipped++
			continue
		}
		key := from + "\x00c2c\x00" + to
		if group != "" {
			key = from + "\x00group\x00" + group
		}
		ord, seen := convs[key]
		if !seen {
			n, known := perUser[from]
			if !known {
				a.Users++
			}
			n++
			perUser[from] = n
			ord = n
			convs[key] = ord
			a.Conversations++
			if ord > maxConvsPerUser {
				a.OverLimit++
			}
		}
		if ord > maxConvsPerUser {
			continue // rejected: neither the planner nor a streamer sends it
		}
		_, inCurrent := current[key]
		if !open || from != curFrom || (len(current) >= maxItemsPerRequest && !inCurrent) {
			a.Streamer++
			clear(current)
			curFrom, open = from, true
		}
		current[key] = struct{}{}
	}
	for _, n := range perUser {
		sendable := int64(min(n, maxConvsPerUser))
		a.LowerBound += (sendable + maxItemsPerRequest - 1) / maxItemsPerRequest
		a.ReadLowerBound += (sendable + maxSearchItems - 1) / maxSearchItems
	}
	return a, nil
}
