package main

import (
	"bufio"
	"encoding/csv"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"markimport/readers"
)

// main runs markgen with the process's arguments and exits with its code.
func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// inputRow is one generated input row, as text.
type inputRow struct {
	From, Type, ToAccount, ToGroupID, SetMark, ClearMark, CustomMark, OptType string
}

// header is the eight columns of a full CSV and of the Parquet file.
var header = []string{"from_account", "type", "to_account", "to_group_id", "set_mark", "clear_mark", "custom_mark", "opt_type"}

// fields are the row's values in the order of header.
func (r inputRow) fields() []string {
	return []string{r.From, r.Type, r.ToAccount, r.ToGroupID, r.SetMark, r.ClearMark, r.CustomMark, r.OptType}
}

// invalidRows is one row of each kind markimport's validation refuses: no
// from_account, an unknown type, no peer or two, a type that does not fit
// the peer, set_mark out of range or not a number, a bit both set and
// cleared, a custom_mark too long or not UTF-8, a row that changes nothing,
// and opt_type values that contradict the row or are unknown.
var invalidRows = []inputRow{
	{From: "", ToAccount: "peer", SetMark: "1"},
	{From: "bad", Type: "3", ToAccount: "peer", SetMark: "1"},
	{From: "bad", SetMark: "1"},
	{From: "bad", ToAccount: "p", ToGroupID: "g", SetMark: "1"},
	{From: "bad", Type: "1", ToGroupID: "g", SetMark: "1"},
	{From: "bad", Type: "group", ToAccount: "p", SetMark: "1"},
	{From: "bad", ToAccount: "p", SetMark: "[64]"},
	{From: "bad", ToAccount: "p", SetMark: "x"},
	{From: "bad", ToAccount: "p", SetMark: "2", ClearMark: "2"},
	{From: "bad", ToAccount: "p", CustomMark: strings.Repeat("é", 129)},
	{From: "bad", ToAccount: "p", CustomMark: "a\xffb"},
	{From: "bad", ToAccount: "p"},
	{From: "bad", ToAccount: "p", SetMark: "1", CustomMark: "c", OptType: "1"},
	{From: "bad", ToAccount: "p", SetMark: "1", OptType: "2"},
	{From: "bad", ToAccount: "p", CustomMark: "c", OptType: "3"},
	{From: "bad", ToAccount: "p", SetMark: "1", OptType: "9"},
}

// run is the whole program: it parses args, generates (or analyzes) and
// returns the exit code: 0 done, 1 a file that cannot be read or written,
// 2 a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("markgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 1_000_000, "rows")
	users := fs.Int("users", 0, "users (default n/10)")
	seed := fs.Uint64("seed", 1, "random seed")
	invalid := fs.Float64("invalid", 0, "fraction of invalid rows (one of each kind, repeated)")
	sorted := fs.Bool("sorted", false, "keep rows in generation order instead of shuffling (not grouped by user)")
	layout := fs.String("layout", "full", "CSV columns: full (all eight), narrow (from_account,to_account,set_mark; one bit, c2c) or quoted (five columns in another order, every field quoted, c2c)")
	ids := fs.String("ids", "short", "account and group ids: short (user12, peer3, group10) or uuid (a UUID as 32 hex digits without dashes, the longest a UserID may be)")
	out := fs.String("o", "-", "output file (.csv or .parquet; - for stdout CSV)")
	analyze := fs.String("analyze", "", "instead of generating, print the lower bound and a file-order streamer's request count for this CSV")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *analyze != "" {
		return runAnalyze(*analyze, stdout, stderr)
	}
	if *users <= 0 {
		*users = max(1, *n/10)
	}
	if *layout != "full" && *layout != "narrow" && *layout != "quoted" {
		fmt.Fprintf(stderr, "markgen: -layout %q: want full, narrow or quoted\n", *layout)
		return 2
	}
	if *layout != "full" && readers.IsParquetName(*out) {
		fmt.Fprintln(stderr, "markgen: -layout is for CSV output")
		return 2
	}
	if *ids != "short" && *ids != "uuid" {
		fmt.Fprintf(stderr, "markgen: -ids %q: want short or uuid\n", *ids)
		return 2
	}
	rows := generate(*n, *users, *seed, *invalid, *sorted)
	if *ids == "uuid" {
		for i := range rows {
			rows[i].From, rows[i].ToAccount, rows[i].ToGroupID = uuidOf(rows[i].From), uuidOf(rows[i].ToAccount), uuidOf(rows[i].ToGroupID)
		}
	}
	var err error
	if readers.IsParquetName(*out) {
		err = writeParquet(*out, rows)
	} else {
		err = writeCSV(*out, stdout, rows, *layout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "markgen:", err)
		return 1
	}
	return 0
}

// uuidOf turns a short id into a UUID written as 32 hex digits without
// dashes (a UserID has at most 32 bytes), the same for the same id; ""
// stays "".
func uuidOf(id string) string {
	if id == "" {
		return ""
	}
	h := fnv.New128a()
	h.Write([]byte(id))
	b := h.Sum(nil)
	return fmt.Sprintf("%x", b[0:16])
}

// generate makes n rows over the given number of users, deterministically.
// Users have a skewed number of conversations (most a few, some hundreds);
// about one row in ten repeats an earlier conversation of its user with a
// different change. Unless sorted, the rows are shuffled.
func generate(n, users int, seed uint64, invalid float64, sorted bool) []inputRow {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rows := make([]inputRow, 0, n)
	nInvalid := int(float64(n) * invalid)
	for i := range nInvalid {
		rows = append(rows, invalidRows[i%len(invalidRows)])
	}
	perUser := make([]int, users) // conversations so far per user
	for len(rows) < n {
		u := r.IntN(users)
		if r.IntN(4) == 0 {
			u = r.IntN(max(1, users/50)) // heavy users
		}
		c := perUser[u]
		if c > 0 && r.IntN(10) == 0 {
			c = r.IntN(c) // repeat an earlier conversation
		} else {
			perUser[u]++
		}
		row := inputRow{From: "user" + strconv.Itoa(u)}
		if c%7 == 3 {
			row.ToGroupID = "group" + strconv.Itoa(c)
			if r.IntN(2) == 0 {
				row.Type = "2"
			}
		} else {
			row.ToAccount = "peer" + strconv.Itoa(c)
			if r.IntN(2) == 0 {
				row.Type = "c2c"
			}
		}
		switch r.IntN(3) {
		case 0:
			row.SetMark = "[" + strconv.Itoa(r.IntN(64)) + ", " + strconv.Itoa(32+r.IntN(32)) + "]"
		case 1:
			b := r.IntN(64)
			row.SetMark = strconv.Itoa(b)
			row.ClearMark = strconv.Itoa((b + 1 + r.IntN(62)) % 64)
			row.CustomMark = "tag-" + strconv.Itoa(r.IntN(1000))
		default:
			row.CustomMark = "note " + strconv.Itoa(r.IntN(100000))
		}
		rows = append(rows, row)
	}
	if !sorted {
		r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	}
	return rows
}

// writeCSV writes the rows as CSV to path ("-": stdout) in the given
// layout: all eight columns, or writeLayout's narrower ones.
func writeCSV(path string, stdout io.Writer, rows []inputRow, layout string) error {
	var w io.Writer = stdout
	var f *os.File
	if path != "-" {
		var err error
		if f, err = os.Create(path); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if layout != "full" {
		if err := writeLayout(w, rows, layout); err != nil {
			return err
		}
		if f != nil {
			return f.Close()
		}
		return nil
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := csv.NewWriter(bw)
	cw.Write(header)
	for _, r := range rows {
		cw.Write(r.fields())
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f != nil {
		return f.Close()
	}
	return nil
}

// writeLayout writes the rows in a narrower CSV layout: every row a c2c
// change of one bit (the first of its set_mark, or one from its number),
// the peer its to_account or else its to_group_id. "narrow" has three plain
// columns; "quoted" five columns in another order, every field quoted, the
// tag-* custom marks kept.
func writeLayout(w io.Writer, rows []inputRow, layout string) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	if layout == "narrow" {
		bw.WriteString("from_account,to_account,set_mark\n")
	} else {
		bw.WriteString(`"To_Account","From_Account","Set_Mark","Custom_Mark","Type"` + "\n")
	}
	for i, r := range rows {
		peer := r.ToAccount
		if peer == "" {
			peer = r.ToGroupID
		}
		bit := strings.TrimLeft(r.SetMark, "[")
		if j := strings.IndexAny(bit, ",]"); j >= 0 {
			bit = bit[:j]
		}
		if bit == "" {
			bit = strconv.Itoa(i % 64)
		}
		if layout == "narrow" {
			fmt.Fprintf(bw, "%s,%s,%s\n", r.From, peer, bit)
			continue
		}
		custom := ""
		if strings.HasPrefix(r.CustomMark, "tag-") {
			custom = r.CustomMark
		}
		fmt.Fprintf(bw, "%s,%s,%s,%s,%s\n", quote(peer), quote(r.From), quote("["+bit+"]"), quote(custom), quote("c2c"))
	}
	return bw.Flush()
}
