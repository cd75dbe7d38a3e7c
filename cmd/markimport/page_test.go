package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"markimport/sink/fakeim"
)

// hostile are values a row may hold that must show on the page as text.
var hostile = []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`}

// pageInput writes an input of valid rows and of invalid rows that carry
// hostile values into their messages and columns.
func pageInput(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("from_account,type,to_account,to_group_id,set_mark,clear_mark,custom_mark,opt_type\n")
	for i := range 300 {
		fmt.Fprintf(&b, "u%d,c2c,p%d,,%d,,,\n", i%40, i, i%4)
	}
	for i := range 25 {
		h := hostile[i%2]
		q := `"` + strings.ReplaceAll(h, `"`, `""`) + `"`
		fmt.Fprintf(&b, "%s,c2c,x%d,,%s,,,\n", q, i, q) // an unknown mark name
		fmt.Fprintf(&b, "bad%d,c2c,%s,,1,,,9\n", i, q)  // opt_type 9
	}
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return in
}

// parsedPage is what a test reads of a page: the rows per status and per
// status and code of its tables, its verdict and its sample cells.
type parsedPage struct {
	statuses map[string]int64
	codes    map[string]int64 // "status code"
	verdict  string
	samples  []string // every cell of the sample tables, as text
	elements map[string]int
}

func parsePage(t *testing.T, path string) (*parsedPage, *html.Node) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := html.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	p := &parsedPage{statuses: map[string]int64{}, codes: map[string]int64{}, elements: map[string]int{}}
	var walk func(n *html.Node, table string)
	walk = func(n *html.Node, table string) {
		if n.Type == html.ElementNode {
			p.elements[n.Data]++
			switch {
			case n.Data == "table" && attr(n, "id") != "":
				table = attr(n, "id")
			case n.Data == "table" && attr(n, "class") == "samples":
				table = "samples"
			case n.Data == "div" && attr(n, "id") == "verdict":
				p.verdict = strings.TrimSpace(text(n))
			case n.Data == "td" && attr(n, "data-rows") != "":
				n2, err := strconv.ParseInt(attr(n, "data-rows"), 10, 64)
				if err != nil {
					t.Fatalf("data-rows %q", attr(n, "data-rows"))
				}
				tr := n.Parent
				switch table {
				case "statuses":
					p.statuses[attr(tr, "data-status")] += n2
				case "codes":
					p.codes[attr(tr, "data-status")+" "+attr(tr, "data-code")] += n2
				}
			case n.Data == "td" && table == "samples":
				p.samples = append(p.samples, text(n))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, table)
		}
	}
	walk(doc, "")
	return p, doc
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(text(c))
	}
	return b.String()
}

// checkOffline fails for any reference the page makes to another
// document: a src or href, a CSS @import or url(), and any script.
func checkOffline(t *testing.T, doc *html.Node, raw string) {
	t.Helper()
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "script" || n.Data == "link" || n.Data == "iframe" || n.Data == "img" || n.Data == "object" {
				t.Errorf("the page holds a <%s> element", n.Data)
			}
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				if k == "src" || k == "href" || strings.HasSuffix(k, ":href") || strings.HasPrefix(k, "on") {
					t.Errorf("the page has %s=%q on <%s>", a.Key, a.Val, n.Data)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	low := strings.ToLower(raw)
	for _, bad := range []string{"@import", "url(", "<script", "javascript:"} {
		if strings.Contains(low, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
}

// reportCounts counts a run report's rows by status and by status and code.
func reportCounts(t *testing.T, path string) (map[string]int64, map[string]int64) {
	t.Helper()
	statuses, codes := map[string]int64{}, map[string]int64{}
	for _, r := range readRows(t, path, "row,from_account,type,peer,status,code,message,attempts") {
		statuses[r[4]]++
		codes[r[4]+" "+r[5]]++
	}
	return statuses, codes
}

func sameCounts(t *testing.T, what string, page, report map[string]int64) {
	t.Helper()
	if fmt.Sprint(page) != fmt.Sprint(report) {
		t.Errorf("%s: the page says %v, the report %v", what, page, report)
	}
}

func TestPageOfARunIsTheReport(t *testing.T) {
	dir := t.TempDir()
	in := pageInput(t, dir)
	rep, sum, pg := filepath.Join(dir, "r.csv"), filepath.Join(dir, "s.json"), filepath.Join(dir, "p.html")
	code, _, stderr := runCLI(t, "run", "--fake", "--fake-state", filepath.Join(dir, "im.json"), "--input", in, "--report", rep,
		"--summary", sum, "--html", pg, "--backup", filepath.Join(dir, "b.csv"), "--quiet")
	if code != exitSomeNotOK {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	p, doc := parsePage(t, pg)
	statuses, codes := reportCounts(t, rep)
	sameCounts(t, "rows by status", p.statuses, statuses)
	sameCounts(t, "rows by code", p.codes, codes)
	if want := fmt.Sprintf("%d rows need attention", statuses["invalid"]); !strings.HasPrefix(p.verdict, want) {
		t.Errorf("verdict %q, want %q…", p.verdict, want)
	}
	if n := len(p.samples); n == 0 {
		t.Fatal("no sample rows")
	}
	raw, err := os.ReadFile(pg)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hostile {
		shown := false
		for _, cell := range p.samples {
			shown = shown || strings.Contains(cell, h) || strings.Contains(cell, strings.ReplaceAll(h, `"`, `""`))
		}
		if !shown {
			t.Errorf("%s is not shown as text in any sample", h)
		}
	}
	checkOffline(t, doc, string(raw))
	if !strings.Contains(string(raw), "markimport run --input") || !strings.Contains(string(raw), "b-rollback.csv") {
		t.Error("the page does not give the rollback command")
	}

	// Made again from the report and the summary: the same page.
	again := filepath.Join(dir, "again.html")
	if code, _, stderr := runCLI(t, "page", "--report", rep, "--summary", sum, "--html", again); code != exitOK {
		t.Fatalf("page: exit %d\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(again); string(b) != string(raw) {
		t.Error("the page made again differs from the run's")
	}
	if code, _, _ := runCLI(t, "page", "--report", rep, "--summary", sum, "--html", again); code != exitUsage {
		t.Errorf("an existing page replaced without --overwrite: exit %d", code)
	}
	// A report of another run is refused, not shown beside this summary.
	other := filepath.Join(dir, "other.csv")
	if err := os.WriteFile(other, []byte("row,from_account,type,peer,status,code,message,attempts\n1,a,c2c,b,ok,0,,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "page", "--report", other, "--summary", sum, "--html", filepath.Join(dir, "x.html")); code != exitUsage || !strings.Contains(stderr, "not the summary's") {
		t.Errorf("a report of another run: exit %d\n%s", code, stderr)
	}

	// verify's page: match, mismatch, missing as its report says.
	vrep, vpg := filepath.Join(dir, "v.csv"), filepath.Join(dir, "v.html")
	code, _, stderr = runCLI(t, "verify", "--fake", "--fake-state", filepath.Join(dir, "im.json"), "--input", in, "--report", vrep, "--html", vpg, "--quiet")
	if code != exitOK {
		t.Fatalf("verify: exit %d\n%s", code, stderr)
	}
	vp, vdoc := parsePage(t, vpg)
	vcounts := map[string]int64{}
	for _, l := range readVerifyReport(t, vrep) {
		vcounts[l.status]++
	}
	sameCounts(t, "verify rows by status", vp.statuses, vcounts)
	if !strings.HasPrefix(vp.verdict, "All ") {
		t.Errorf("verify verdict %q", vp.verdict)
	}
	vraw, _ := os.ReadFile(vpg)
	checkOffline(t, vdoc, string(vraw))
}

func TestPageOfAStoppedRunSaysWhy(t *testing.T) {
	dir := t.TempDir()
	in := pageInput(t, dir)
	_, url := startEmulator(t, fakeim.Config{NoStandardMarks: true})
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	rep, pg := filepath.Join(dir, "r.csv"), filepath.Join(dir, "p.html")
	code, _, stderr := runCLI(t, "run", "--input", in, "--report", rep, "--html", pg,
		"--endpoint", url, "--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet")
	if code != exitFatal {
		t.Fatalf("exit %d, want 3\n%s", code, stderr)
	}
	p, _ := parsePage(t, pg)
	if !strings.HasPrefix(p.verdict, "Stopped: ") || !strings.Contains(p.verdict, "51013") {
		t.Errorf("verdict %q: want why it stopped (51013)", p.verdict)
	}
	statuses, codes := reportCounts(t, rep)
	sameCounts(t, "rows by status", p.statuses, statuses)
	sameCounts(t, "rows by code", p.codes, codes)
	raw, _ := os.ReadFile(pg)
	if strings.Contains(string(raw), testKey) {
		t.Error("the page holds the secret key")
	}
}

func TestHTMLNeedsAReport(t *testing.T) {
	dir := t.TempDir()
	in := pageInput(t, dir)
	code, _, stderr := runCLI(t, "validate", "--input", in, "--html", filepath.Join(dir, "p.html"))
	if code != exitUsage || !strings.Contains(stderr, "--html needs --report") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "p.html")); err == nil {
		t.Error("a page was written")
	}
}
