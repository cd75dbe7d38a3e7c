package preflight_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"markimport/pipeline/mark"
	"markimport/pipeline/preflight"
	"markimport/sink/fakeim"
)

// httpService is a Service over the emulator's HTTP API, written from the
// API's documentation alone so that the engine is tested without the
// project's client.
type httpService struct {
	t      *testing.T
	srv    *fakeim.Server
	url    string
	writes int
	// beforeWrite, when set, runs before each write with its number.
	beforeWrite func(n int)
	// inFlight, when set, runs once write n has left and before its
	// answer. If the write's context is done by then, the client gave up
	// on it, and the server, which had it already, applies it late:
	// right after the next write, as a real server may.
	inFlight func(n int)
	late     func()
}

func newService(t *testing.T, cfg fakeim.Config) *httpService {
	t.Helper()
	srv := fakeim.New(cfg)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &httpService{t: t, srv: srv, url: ts.URL}
}

func (s *httpService) call(ctx context.Context, api fakeim.API, body, out any) error {
	q := url.Values{"sdkappid": {"1400000001"}, "identifier": {"admin"}, "usersig": {"sig"},
		"random": {"7"}, "contenttype": {"json"}}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/v4/recentcontact/"+string(api)+"?"+q.Encode(), bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

func contact(c mark.Conversation) fakeim.ContactItem {
	if c.Type == mark.Group {
		return fakeim.ContactItem{Type: 2, ToGroupID: c.Peer}
	}
	return fakeim.ContactItem{Type: 1, ToAccount: c.Peer}
}

func (s *httpService) Write(ctx context.Context, from string, it mark.Item) (int, string, error) {
	s.writes++
	if s.beforeWrite != nil {
		s.beforeWrite(s.writes)
	}
	if err := ctx.Err(); err != nil {
		return 0, "", err
	}
	m := fakeim.MarkItem{OptType: int(it.Opt), ContactItem: contact(it.Conv)}
	if it.Opt&mark.OptStandard != 0 {
		for _, b := range mark.Bits(it.Set) {
			m.SetMark = append(m.SetMark, int64(b))
		}
		for _, b := range mark.Bits(it.Clear) {
			m.ClearMark = append(m.ClearMark, int64(b))
		}
	}
	if it.Opt&mark.OptCustom != 0 {
		c := it.Custom
		m.CustomMark = &c
	}
	body := fakeim.MarkContactRequest{FromAccount: from, MarkItem: []fakeim.MarkItem{m}}
	if s.inFlight != nil {
		s.inFlight(s.writes)
		if err := ctx.Err(); err != nil {
			s.late = func() { s.call(context.Background(), fakeim.MarkContact, body, &fakeim.MarkContactResponse{}) }
			return 0, "", err
		}
	}
	var r fakeim.MarkContactResponse
	err := s.call(ctx, fakeim.MarkContact, body, &r)
	if late := s.late; late != nil && err == nil {
		s.late = nil
		late()
	}
	if err != nil {
		return 0, "", err
	}
	if r.ErrorCode == 51013 {
		return 0, "", &mark.FatalError{Code: r.ErrorCode, Info: r.ErrorInfo}
	}
	if r.ErrorCode != 0 {
		return r.ErrorCode, r.ErrorInfo, nil
	}
	if len(r.ResultItem) != 1 {
		return 0, "", fmt.Errorf("%d results", len(r.ResultItem))
	}
	return r.ResultItem[0].ResultCode, r.ResultItem[0].ResultInfo, nil
}

func (s *httpService) Read(ctx context.Context, from string, c mark.Conversation) (preflight.Marks, error) {
	var r fakeim.SearchContactGroupResponse
	err := s.call(ctx, fakeim.SearchContactGroup, map[string]any{"From_Account": from, "ContactItem": []fakeim.ContactItem{contact(c)}}, &r)
	if err != nil {
		return preflight.Marks{}, err
	}
	if r.ErrorCode != 0 {
		return preflight.Marks{}, &mark.FatalError{Code: r.ErrorCode, Info: r.ErrorInfo}
	}
	if len(r.ContactResultItem) == 0 {
		return preflight.Marks{}, nil
	}
	e := r.ContactResultItem[0]
	return preflight.Marks{Found: true, Standard: e.StandardMark, Custom: e.CustomMark}, nil
}

// raw reads the scratch conversation as the emulator renders it.
func (s *httpService) raw(sc preflight.Scratch) preflight.Marks {
	s.t.Helper()
	m, err := s.Read(context.Background(), sc.From, sc.Conv)
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

// seed writes marks on the scratch conversation before preflight.
func (s *httpService) seed(sc preflight.Scratch, bits []int64, custom string) {
	s.t.Helper()
	var r fakeim.MarkContactResponse
	it := fakeim.MarkItem{OptType: 3, ContactItem: contact(sc.Conv), SetMark: bits, CustomMark: &custom}
	if err := s.call(context.Background(), fakeim.MarkContact, fakeim.MarkContactRequest{FromAccount: sc.From, MarkItem: []fakeim.MarkItem{it}}, &r); err != nil ||
		r.ErrorCode != 0 || r.ResultItem[0].ResultCode != 0 {
		s.t.Fatalf("seed: %v %+v", err, r)
	}
}

func options() preflight.Options {
	return preflight.Options{Rate: 200, DefaultConcurrency: 64, Ghost: "never-imported", LatencyReads: 5, RestoreTimeout: 10e9}
}

// seed2 writes a custom mark only (for an edition without standard marks).
func (s *httpService) seed2(sc preflight.Scratch, custom string) {
	s.t.Helper()
	var r fakeim.MarkContactResponse
	it := fakeim.MarkItem{OptType: 2, ContactItem: contact(sc.Conv), CustomMark: &custom}
	if err := s.call(context.Background(), fakeim.MarkContact, fakeim.MarkContactRequest{FromAccount: sc.From, MarkItem: []fakeim.MarkItem{it}}, &r); err != nil ||
		r.ErrorCode != 0 || r.ResultItem[0].ResultCode != 0 {
		s.t.Fatalf("seed: %v %+v", err, r)
	}
}
