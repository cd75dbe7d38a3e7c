package page

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"markimport/pipeline/report"
	"markimport/readers"
)

// The page's bounds, whatever the report holds.
const (
	// maxSamples is the most sample rows shown per code (per status, for
	// verify).
	maxSamples = 10
	// maxFiles is the most input files given a row of their own.
	maxFiles = 200
	// maxGroups is the most codes given a row of their own.
	maxGroups = 100
	// maxValue is the most bytes of a value shown (longer ones are cut
	// with "…").
	maxValue = 200
)

// sample is one report line shown on the page.
type sample struct {
	File, Row, From, Type, Peer, Message string
	Expected, Actual                     string // verify
}

// group is the rows of one status and code (verify: one status).
type group struct {
	Status  string
	Code    int
	Rows    int64
	Samples []sample
}

// fileRows is one input file's rows by status.
type fileRows struct {
	Name   string
	Counts map[string]int64
	Rows   int64
}

// tally is what the page keeps of a report read once.
type tally struct {
	lines    int64
	statuses map[string]int64
	groups   []*group // in order of first appearance
	byKey    map[[2]string]*group
	other    int64 // rows of codes beyond maxGroups
	files    []*fileRows
	byFile   map[string]*fileRows
	moreFile int64 // rows of files beyond maxFiles
}

// columns are the positions of a report's columns (-1: absent).
type columns struct {
	file, row, from, typ, peer, status, code, message, expected, actual int
}

// reportColumns returns the columns of a run report's or a verify
// report's header, or an error for any other header.
func reportColumns(header []string, verify bool) (columns, error) {
	want := "row,from_account,type,peer,status,code,message,attempts"
	if verify {
		want = "row,from_account,type,peer,status,expected,actual,message"
	}
	got := strings.Join(header, ",")
	c := columns{file: -1, code: -1, expected: -1, actual: -1}
	off := 0
	switch got {
	case want:
	case "file," + want:
		c.file, off = 0, 1
	default:
		return c, fmt.Errorf("its header is %s, not a %s report's (%s)", readers.Quote(got), kind(verify), want)
	}
	c.row, c.from, c.typ, c.peer, c.status = off, off+1, off+2, off+3, off+4
	if verify {
		c.expected, c.actual, c.message = off+5, off+6, off+7
	} else {
		c.code, c.message = off+5, off+6
	}
	return c, nil
}

func kind(verify bool) string {
	if verify {
		return "verify"
	}
	return "run"
}

// readReport reads the report at path once (CSV; a run's Parquet report
// by its name) and keeps the page's counts and samples.
func readReport(path string, s *runSummary) (*tally, error) {
	t := &tally{statuses: map[string]int64{}, byKey: map[[2]string]*group{}, byFile: map[string]*fileRows{}}
	var cols *columns
	add := func(header, rec []string) error {
		if cols == nil {
			c, err := reportColumns(header, s.verify())
			if err != nil {
				return err
			}
			cols = &c
		}
		return t.add(cols, rec, s)
	}
	var err error
	if readers.IsParquetName(path) && !s.verify() {
		err = report.EachParquetLine(path, add)
	} else {
		err = eachCSVLine(path, add)
	}
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", path, err)
	}
	return t, nil
}

// eachCSVLine calls fn with the header and each record of a CSV report.
func eachCSVLine(path string, fn func(header, rec []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("no header: %v", err)
	}
	header = append([]string(nil), header...)
	cr.FieldsPerRecord = len(header)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(header, rec); err != nil {
			line, _ := cr.FieldPos(0)
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
}

// add counts one report line and keeps it as a sample when its code has
// fewer than maxSamples and its rows need attention.
func (t *tally) add(c *columns, rec []string, s *runSummary) error {
	status := rec[c.status]
	if !knownStatus(s.verify(), status) {
		return fmt.Errorf("status %s is not a %s report's", readers.Quote(status), kind(s.verify()))
	}
	if _, err := strconv.ParseInt(rec[c.row], 10, 64); err != nil {
		return fmt.Errorf("row %s is not a number", readers.Quote(rec[c.row]))
	}
	code := 0
	if c.code >= 0 {
		var err error
		if code, err = strconv.Atoi(rec[c.code]); err != nil {
			return fmt.Errorf("code %s is not a number", readers.Quote(rec[c.code]))
		}
	}
	t.lines++
	t.statuses[status]++
	if c.file >= 0 {
		t.addFile(rec[c.file], status)
	}
	g := t.group(status, code)
	if g == nil {
		t.other++
		return nil
	}
	g.Rows++
	if len(g.Samples) < maxSamples && !s.settled(status) {
		g.Samples = append(g.Samples, sampleOf(c, rec))
	}
	return nil
}

// group is the group of status and code, made on its first row (nil
// beyond maxGroups).
func (t *tally) group(status string, code int) *group {
	key := [2]string{status, strconv.Itoa(code)}
	if g, ok := t.byKey[key]; ok {
		return g
	}
	if len(t.groups) >= maxGroups {
		return nil
	}
	g := &group{Status: status, Code: code}
	t.byKey[key] = g
	t.groups = append(t.groups, g)
	return g
}

// addFile counts a row of the named input file.
func (t *tally) addFile(name, status string) {
	f, ok := t.byFile[name]
	if !ok {
		if len(t.files) >= maxFiles {
			t.moreFile++
			return
		}
		f = &fileRows{Name: cut(name), Counts: map[string]int64{}}
		t.byFile[name] = f
		t.files = append(t.files, f)
	}
	f.Counts[status]++
	f.Rows++
}

// sampleOf is the sample of a report line, each value cut to maxValue.
func sampleOf(c *columns, rec []string) sample {
	at := func(i int) string {
		if i < 0 {
			return ""
		}
		return cut(rec[i])
	}
	return sample{File: at(c.file), Row: at(c.row), From: at(c.from), Type: at(c.typ), Peer: at(c.peer),
		Message: at(c.message), Expected: at(c.expected), Actual: at(c.actual)}
}

// cut shortens v to at most maxValue bytes, at a character boundary.
func cut(v string) string {
	if len(v) <= maxValue {
		return v
	}
	i := maxValue
	for i > 0 && !isStart(v[i]) {
		i--
	}
	return v[:i] + "…"
}

// isStart reports whether b starts a UTF-8 character.
func isStart(b byte) bool { return b&0xC0 != 0x80 }

// agree refuses a report whose counts by status are not the summary's:
// they would be two runs' numbers.
func (t *tally) agree(s *runSummary, path string) error {
	for _, st := range s.statusOrder() {
		if t.statuses[st] != s.Statuses[st] {
			return fmt.Errorf("the report %s is not the summary's: it has %d rows %s, the summary %d (give the report and the summary of one run)", path, t.statuses[st], st, s.Statuses[st])
		}
	}
	return nil
}
