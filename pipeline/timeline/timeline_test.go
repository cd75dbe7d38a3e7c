package timeline

import (
	"testing"
	"time"
)

func TestRecorderCountsPerSecond(t *testing.T) {
	start := time.Unix(1000, 0)
	r := New(start)
	for i := range 10 {
		r.Exchange(start.Add(time.Duration(i)*100*time.Millisecond), 100*time.Millisecond, i == 3)
	}
	r.Exchange(start.Add(2500*time.Millisecond), 2*time.Second, false)
	r.Items(start.Add(900*time.Millisecond), 95, 5)
	s := r.Series()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if s.IntervalSeconds != 1 || len(s.Points) != 3 {
		t.Fatalf("series %+v: want 3 one-second points", s)
	}
	p := s.Points[0]
	if p.Requests != 10 || p.Throttled != 1 || p.ItemsOK != 95 || p.ItemsFailed != 5 {
		t.Errorf("first second %+v", p)
	}
	if p.LatencyP50 < 95 || p.LatencyP50 > 105 || p.LatencyP99 < 95 || p.LatencyP99 > 105 {
		t.Errorf("latency of 100 ms answers read as p50 %g, p99 %g", p.LatencyP50, p.LatencyP99)
	}
	if q := s.Points[1]; q.Requests != 0 || q.LatencyP50 != 0 {
		t.Errorf("a second without requests shows %+v (a stall must show as zero)", q)
	}
	if q := s.Points[2]; q.Requests != 1 || q.LatencyP99 < 1900 || q.LatencyP99 > 2100 {
		t.Errorf("third second %+v", q)
	}
}

// A run longer than maxPoints seconds keeps at most maxPoints points, and
// merging loses no count.
func TestRecorderStaysBounded(t *testing.T) {
	start := time.Unix(0, 0)
	r := New(start)
	const secs = 5000
	for i := range secs {
		r.Exchange(start.Add(time.Duration(i)*time.Second), 10*time.Millisecond, i%7 == 0)
		r.Items(start.Add(time.Duration(i)*time.Second), 100, 1)
	}
	s := r.Series()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if len(s.Points) > maxPoints || s.IntervalSeconds != 16 {
		t.Fatalf("%d points of %d s for a %d s run", len(s.Points), s.IntervalSeconds, secs)
	}
	var req, thr, ok, failed int64
	for _, p := range s.Points {
		req, thr, ok, failed = req+p.Requests, thr+p.Throttled, ok+p.ItemsOK, failed+p.ItemsFailed
	}
	if req != secs || thr != (secs+6)/7 || ok != 100*secs || failed != secs {
		t.Errorf("totals after merging: %d requests, %d throttled, %d ok, %d failed", req, thr, ok, failed)
	}
}

func TestNilRecorderRecordsNothing(t *testing.T) {
	var r *Recorder
	r.Exchange(time.Now(), time.Second, true)
	r.Items(time.Now(), 1, 1)
	if s := r.Series(); s != nil {
		t.Errorf("nil recorder made %+v", s)
	}
}

func TestCheckRefusesWhatNoRecorderMakes(t *testing.T) {
	good := func() *Series {
		return &Series{IntervalSeconds: 2, Points: []Point{{AtSeconds: 0, Requests: 3, Throttled: 1, LatencyP50: 1, LatencyP99: 2}, {AtSeconds: 2}}}
	}
	if err := good().Check(); err != nil {
		t.Fatal(err)
	}
	for name, spoil := range map[string]func(*Series){
		"interval 0":       func(s *Series) { s.IntervalSeconds = 0 },
		"interval 3":       func(s *Series) { s.IntervalSeconds = 3 },
		"no points":        func(s *Series) { s.Points = nil },
		"a gap":            func(s *Series) { s.Points[1].AtSeconds = 4 },
		"negative":         func(s *Series) { s.Points[0].ItemsOK = -1 },
		"more throttles":   func(s *Series) { s.Points[0].Throttled = 4 },
		"p99 below p50":    func(s *Series) { s.Points[0].LatencyP99 = 0.5 },
		"too many points":  func(s *Series) { s.Points = make([]Point, maxPoints+1) },
		"negative latency": func(s *Series) { s.Points[0].LatencyP50 = -1 },
	} {
		s := good()
		spoil(s)
		if s.Check() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
