package page

import (
	"bytes"
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// Options say what the page cannot know from the run's files.
type Options struct {
	// Explain says what a report code means and what to do about it.
	Explain func(code int) (meaning, action string)
	// Quota is the requests per second the API allows: the page says
	// what the run's requests take at it.
	Quota float64
	// ReportName names the report on the page when it is not reportPath
	// (a report read from where it waits for upload); "": reportPath.
	ReportName string
}

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{"num": num}).Parse(pageHTML))

// Make writes the sign-off page of the command whose summary JSON is
// summary and whose finished report is at reportPath (read once).
func Make(w io.Writer, summary []byte, reportPath string, o Options) error {
	s, err := readSummary(summary)
	if err != nil {
		return err
	}
	t, err := readReport(reportPath, s)
	if err != nil {
		return err
	}
	if err := t.agree(s, reportPath); err != nil {
		return err
	}
	v, err := build(s, t, reportPath, o)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, v); err != nil {
		return err
	}
	_, err = w.Write(b.Bytes())
	return err
}

// view is what the template shows.
type view struct {
	Title, Verdict string
	Good           bool // every row settled and nothing stopped
	S              *runSummary
	Report         string
	Verify         bool
	Elapsed        string
	AtQuota        string
	Quota          float64
	Started        string
	Facts          [][2]string
	StatusChart    template.HTML
	Statuses       []statusRow
	Groups         []groupView
	OtherRows      int64
	FileStatuses   []string
	Files          []fileView
	MoreFileRows   int64
	State          *stateView
	Charts         []chart
}

type statusRow struct {
	Name      string
	Rows      int64
	Share     string
	Attention bool
}

type groupView struct {
	*group
	Meaning, Action string
	Attention       bool
}

type fileView struct {
	Name  string
	Cells []int64
	Rows  int64
}

type stateView struct{ Unchanged, Sent, Saved int64 }

// build makes the view of a summary and its report's tally.
func build(s *runSummary, t *tally, reportPath string, o Options) (*view, error) {
	v := &view{S: s, Report: cmp.Or(o.ReportName, reportPath), Verify: s.verify(), Quota: o.Quota,
		Elapsed: duration(s.ElapsedSeconds), Started: s.StartedAt.UTC().Format(time.RFC3339)}
	v.Title = fmt.Sprintf("markimport %s of %s", s.Command, s.Input)
	v.Verdict, v.Good = verdict(s)
	if o.Quota > 0 {
		v.AtQuota = duration(float64(s.RequestsPlanned) / o.Quota)
	}
	v.Facts = facts(s)
	var names []string
	var counts []float64
	for _, st := range s.statusOrder() {
		n := s.Statuses[st]
		if n == 0 {
			continue
		}
		names, counts = append(names, st), append(counts, float64(n))
		v.Statuses = append(v.Statuses, statusRow{st, n, share(n, s.Rows), !s.settled(st)})
	}
	if len(counts) > 0 {
		svg, err := statusChart(names, counts)
		if err != nil {
			return nil, fmt.Errorf("chart of the statuses: %w", err)
		}
		v.StatusChart = svg
	}
	for _, g := range t.groups {
		gv := groupView{group: g, Attention: !s.settled(g.Status)}
		if !v.Verify && o.Explain != nil {
			gv.Meaning, gv.Action = o.Explain(g.Code)
		}
		v.Groups = append(v.Groups, gv)
	}
	v.OtherRows = t.other
	if len(t.files) > 0 {
		v.FileStatuses = names
		for _, f := range t.files {
			fv := fileView{Name: f.Name, Rows: f.Rows}
			for _, st := range names {
				fv.Cells = append(fv.Cells, f.Counts[st])
			}
			v.Files = append(v.Files, fv)
		}
		v.MoreFileRows = t.moreFile
	}
	if n := s.Statuses["unchanged"]; n > 0 || strings.Contains(s.CommandLine, "--state") {
		v.State = &stateView{Unchanged: n, Sent: s.Statuses["ok"] + s.Statuses["failed"], Saved: s.RequestsSaved}
	}
	charts, err := timelineCharts(s.Timeline)
	if err != nil {
		return nil, err
	}
	v.Charts = charts
	return v, nil
}

// verdict is the page's one line, and whether it is good news.
func verdict(s *runSummary) (string, bool) {
	var attention int64
	var which []string
	for _, st := range s.statusOrder() {
		if n := s.Statuses[st]; n > 0 && !s.settled(st) {
			attention += n
			which = append(which, fmt.Sprintf("%s %s", num(n), st))
		}
	}
	if s.Stopped != "" {
		why := s.StopMessage
		if why == "" {
			why = s.Stopped
		}
		if s.Stopped == "interrupted" {
			why = "interrupted (Ctrl-C or a signal); the report accounts for every row so far, and --resume continues"
		}
		return "Stopped: " + why, false
	}
	if attention > 0 {
		noun := "rows need"
		if attention == 1 {
			noun = "row needs"
		}
		return fmt.Sprintf("%s %s attention (%s)", num(attention), noun, strings.Join(which, ", ")), false
	}
	switch s.Command {
	case "validate":
		return fmt.Sprintf("All %s rows valid: nothing was sent", num(s.Rows)), true
	case "verify":
		return fmt.Sprintf("All %s checked rows match", num(s.Rows)), true
	}
	return fmt.Sprintf("All %s rows ok", num(s.Rows)), true
}

// facts are the input's and the sending's numbers, as label and value.
func facts(s *runSummary) [][2]string {
	f := [][2]string{{"rows", num(s.Rows)}, {"users", num(s.Users)}, {"conversations", num(s.Conversations)}}
	if s.verify() {
		f = append(f, [2]string{"read requests", fmt.Sprintf("%s planned; %s on the wire, %s retries, %s throttled", num(s.RequestsPlanned), num(s.HTTPRequests), num(s.Retries), num(s.Throttled))})
	} else {
		f = append(f, [2]string{"requests", fmt.Sprintf("%s planned, %s sent; %s on the wire, %s retries, %s throttled", num(s.RequestsPlanned), num(s.RequestsSent), num(s.HTTPRequests), num(s.Retries), num(s.Throttled))})
	}
	if s.RequestsPerSec > 0 {
		f = append(f, [2]string{"sending rate", fmt.Sprintf("%.1f requests/s over %s", s.RequestsPerSec, duration(s.SendSeconds))})
	}
	if s.Sample > 0 && s.Sample < 1 {
		f = append(f, [2]string{"sample", fmt.Sprintf("%g of users; %s users outside it", s.Sample, num(s.UsersLeftOut))})
	}
	return f
}

// num writes n with thousands separators.
func num(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// share is n of all as a percentage.
func share(n, all int64) string {
	if all == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f%%", 100*float64(n)/float64(all))
}

// duration writes seconds as a rounded duration (1h2m3s, 4.2s).
func duration(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
