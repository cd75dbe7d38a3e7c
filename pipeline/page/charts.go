package page

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/go-analyze/charts"

	"markimport/pipeline/timeline"
)

// chart is one inline SVG chart and what it shows, in words (the SVG's
// text is the chart library's, drawn as paths).
type chart struct {
	Title string
	SVG   template.HTML
}

// Chart sizes, in SVG pixels: wide enough for a printed A4 page at 96 dpi.
const (
	chartWidth  = 1000
	chartHeight = 260
)

// timelineCharts draws the sending timeline: requests and throttles per
// second, items ok and failed per second, and latency p50 and p99.
func timelineCharts(s *timeline.Series) ([]chart, error) {
	if s == nil {
		return nil, nil
	}
	labels := make([]string, len(s.Points))
	per := func(n int64) float64 { return float64(n) / float64(s.IntervalSeconds) }
	var req, thr, ok, failed, p50, p99 []float64
	for i, p := range s.Points {
		labels[i] = clock(p.AtSeconds)
		req, thr = append(req, per(p.Requests)), append(thr, per(p.Throttled))
		ok, failed = append(ok, per(p.ItemsOK)), append(failed, per(p.ItemsFailed))
		p50, p99 = append(p50, p.LatencyP50), append(p99, p.LatencyP99)
	}
	unit := "per second"
	if s.IntervalSeconds > 1 {
		unit = fmt.Sprintf("per second, averaged over %d s", s.IntervalSeconds)
	}
	specs := []struct {
		title  string
		names  []string
		values [][]float64
	}{
		{"Requests " + unit, []string{"requests/s", "throttled/s"}, [][]float64{req, thr}},
		{"Items " + unit, []string{"ok/s", "failed/s"}, [][]float64{ok, failed}},
		{"Latency of the answers (ms)", []string{"p50", "p99"}, [][]float64{p50, p99}},
	}
	out := make([]chart, 0, len(specs))
	for _, sp := range specs {
		svg, err := lineSVG(labels, sp.names, sp.values)
		if err != nil {
			return nil, fmt.Errorf("chart %q: %w", sp.title, err)
		}
		out = append(out, chart{Title: sp.title, SVG: svg})
	}
	return out, nil
}

// lineSVG draws one line chart as an SVG element.
func lineSVG(labels, names []string, values [][]float64) (template.HTML, error) {
	opt := charts.NewLineChartOptionWithData(values)
	opt.XAxis.Labels = labels
	opt.XAxis.LabelCount = min(len(labels), 12)
	opt.Legend.SeriesNames = names
	opt.Legend.Offset = charts.OffsetRight
	opt.Symbol = charts.Symbol{Shape: charts.SymbolNone}
	opt.LineStrokeWidth = 1.5
	opt.Padding = charts.NewBox(10, 20, 20, 10)
	p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: chartWidth, Height: chartHeight})
	if err := p.LineChart(opt); err != nil {
		return "", err
	}
	b, err := p.Bytes()
	if err != nil {
		return "", err
	}
	return inlineSVG(b), nil
}

// statusChart draws the rows by status as bars.
func statusChart(names []string, counts []float64) (template.HTML, error) {
	opt := charts.NewBarChartOptionWithData([][]float64{counts})
	opt.CategoryAxis.Labels = names
	opt.Legend.Show = charts.Ptr(false)
	opt.Padding = charts.NewBox(10, 20, 20, 10)
	opt.SeriesList[0].Label.Show = charts.Ptr(true)
	p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: chartWidth, Height: chartHeight})
	if err := p.BarChart(opt); err != nil {
		return "", err
	}
	b, err := p.Bytes()
	if err != nil {
		return "", err
	}
	return inlineSVG(b), nil
}

// inlineSVG makes the library's SVG document an element of the page: its
// XML declaration dropped, scaled to the page's width. The SVG is the
// library's drawing of numbers and of names this package chose (no value
// of the report), so it is trusted as HTML.
func inlineSVG(b []byte) template.HTML {
	s := string(b)
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	s = strings.Replace(s, "<svg ", `<svg role="img" preserveAspectRatio="xMinYMin meet" style="width:100%;height:auto" `, 1)
	return template.HTML(s)
}

// clock writes seconds as h:mm:ss (or m:ss under an hour).
func clock(sec int64) string {
	h, m, s := sec/3600, sec/60%60, sec%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}
