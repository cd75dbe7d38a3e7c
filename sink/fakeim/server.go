package fakeim

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// The documented limits, which are also the defaults of the zero Config.
const (
	// defaultRateLimit is the documented limit of each API: 200 calls/s.
	defaultRateLimit = 200
	// defaultMaxConversations is the documented limit of marked
	// conversations per user.
	defaultMaxConversations = 1000
	// maxMarkItems is the most MarkItems one mark_contact request may carry.
	maxMarkItems = 100
	// maxSearchItems is the most conversations one search_contact_group
	// request may name.
	maxSearchItems = 300
	// maxCustomMarkBytes is the longest custom mark, in bytes of UTF-8.
	maxCustomMarkBytes = 256
	// pageSize is the most conversations one get_contact_group page holds.
	pageSize = 100
	// maxBody bounds a request body; a full mark_contact request is ~40 KB.
	maxBody = 1 << 20
)

// Config describes the emulated application. The zero value is a permissive
// app on the Ultimate edition: any sdkappid, identifier and non-empty
// usersig, any user, 200 calls/s per API, 1000 conversations per user, no
// faults.
type Config struct {
	// SDKAppID is the application's id; requests for another sdkappid are
	// answered 70020. 0 accepts any.
	SDKAppID uint64
	// Admins are the App admin identifiers; any other identifier is
	// answered 50003. Empty accepts any identifier.
	Admins []string
	// SecretKey, when set, makes the emulator verify every usersig as the
	// service does: unparseable 70003, made with another key 70009, for
	// another identifier 70013, for another SDKAppID 70014, expired 70001.
	SecretKey string
	// UserSig, when set and SecretKey is not, is the only usersig accepted;
	// another one is answered 70009 (70003 if it does not even parse). If
	// it is a TLS sig v2 its expiry is enforced (70001). When neither
	// SecretKey nor UserSig is set any non-empty usersig is accepted.
	UserSig string
	// SigTTL, when positive, answers 70001 for a usersig issued (TLS.time)
	// longer than SigTTL ago, even if its own lifetime is longer, so that
	// tests can exercise renewal within seconds. It applies to any usersig
	// that parses, so it is meant to be used with SecretKey.
	SigTTL time.Duration
	// Expired, when set, decides instead of the clock whether a genuine
	// usersig has expired: one whose TLS.time (issued, in whole seconds)
	// makes it say true is answered 70001, any other is accepted whatever
	// its lifetime, and SigTTL is ignored. It is meant for tests, which can
	// then expire usersigs at a point of the run they choose (by a count
	// of requests, say) rather than by age, which a slow machine stretches.
	// It is called from every request's goroutine.
	Expired func(issued time.Time) bool
	// Users, when non-empty, lists the imported accounts. A From_Account not
	// in it is answered 50001 for the whole request; a c2c To_Account not in
	// it is answered ResultCode 50001 for its item.
	Users []string
	// Groups, when non-empty, lists the existing groups. An item whose
	// ToGroupId is not in it is answered ResultCode 51007.
	Groups []string
	// NoStandardMarks emulates an app that is not on the Ultimate/Pro
	// edition: a mark_contact request with any item changing standard marks
	// (OptType 1 or 3) is answered 51013 and nothing in it is applied.
	// Custom marks (OptType 2) work on every edition.
	NoStandardMarks bool
	// RateLimit is each API's limit in calls per second, counted per API
	// over a sliding one-second window; a request beyond it is answered
	// 60007 and not applied. 0 means 200; negative disables.
	RateLimit int
	// MaxConversations is the most marked conversations per user; an item
	// that would add one more is answered 51008. 0 means 1000; negative
	// disables.
	MaxConversations int
	// ShortStandardMark renders StandardMark in the read APIs without
	// leading zeros ("" for no marks), as the documentation's examples do,
	// instead of the 64 characters of FormatStandardMark. Clients must
	// accept both.
	ShortStandardMark bool
	// BitZeroFirst renders StandardMark with bit 0 as the FIRST character
	// instead of the last (see FormatStandardMark): the other reading of
	// the documentation, so that a client's check of the order can be
	// tested against both. With ShortStandardMark the zeros dropped are
	// then the trailing ones.
	BitZeroFirst bool
	// SetAndClear says what an item that sets and clears the same bit
	// does: SetClearRefuse (the zero value) answers it ResultCode 90001 and
	// applies nothing; SetClearSetWins and SetClearClearWins apply it with
	// that bit set or cleared. The documentation is silent on it.
	SetAndClear SetClear
	// AcceptUnknownFrom makes a From_Account that is not in Users
	// acceptable (its marks are kept as for any user) instead of answering
	// 50001; To_Account is still checked. The documentation does not say
	// what the service does with marks of an account not yet imported.
	AcceptUnknownFrom bool

	// Latency delays every accepted answer by Latency plus a uniformly
	// random part of LatencyJitter. A client that gives up meanwhile gets
	// nothing and nothing is applied.
	Latency, LatencyJitter time.Duration
	// TransientRate is the probability that a request is answered 50004 or
	// 70500 (at random) and not applied.
	TransientRate float64
	// ItemTransientRate is the probability that an otherwise successful
	// mark_contact item is answered 50004 or 50005 (at random) and not
	// applied; the request's other items are applied.
	ItemTransientRate float64
	// HTTP502Rate is the probability that a request is answered with a bare
	// HTTP 502 and not applied, as a failing gateway would.
	HTTP502Rate float64
	// LostResponseRate is the probability that a request is applied and
	// then its connection closed without an answer, so that the client sees
	// a connection error for a change that did happen.
	LostResponseRate float64
	// Seed seeds the random source behind faults, jitter and the order of
	// results, so that a run can be repeated exactly.
	Seed int64

	// Now is the clock for rate limiting, usersig expiry and timestamps;
	// nil means time.Now. Tests freeze it to make timing exact.
	Now func() time.Time
	// Logf, when set, receives one line per request answered with an
	// error, per throttled request and per injected fault. Lines never
	// contain the usersig or the secret key.
	Logf func(format string, args ...any)
}

// SetClear is what the emulator does with an item that sets and clears the
// same bit (Config.SetAndClear).
type SetClear uint8

// The alternatives for Config.SetAndClear.
const (
	SetClearRefuse SetClear = iota
	SetClearSetWins
	SetClearClearWins
)

// Server is the emulator: an http.Handler serving
// POST /v4/recentcontact/{mark_contact,search_contact_group,get_contact_group}
// with per-user mark state in memory. Use it with httptest.NewServer or any
// http.Server. All methods are safe for concurrent use.
type Server struct {
	cfg      Config
	now      func() time.Time
	admins   map[string]bool
	accounts map[string]bool
	groups   map[string]bool
	windows  map[API]*window

	rngMu sync.Mutex
	rng   *rand.Rand

	mu    sync.Mutex // guards users
	users map[string]*userState

	stats counters
	conns stamps // connections of Listener, with their arrival stamps
}

// New returns an emulator for the application cfg describes.
func New(cfg Config) *Server {
	if cfg.RateLimit == 0 {
		cfg.RateLimit = defaultRateLimit
	}
	if cfg.MaxConversations == 0 {
		cfg.MaxConversations = defaultMaxConversations
	}
	s := &Server{
		cfg:      cfg,
		now:      cfg.Now,
		admins:   set(cfg.Admins),
		accounts: set(cfg.Users),
		groups:   set(cfg.Groups),
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		users:    make(map[string]*userState),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.windows = map[API]*window{
		MarkContact:        newWindow(cfg.RateLimit),
		SearchContactGroup: newWindow(cfg.RateLimit),
		GetContactGroup:    newWindow(cfg.RateLimit),
	}
	return s
}

func set(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]bool, len(list))
	for _, v := range list {
		m[v] = true
	}
	return m
}

// routes maps the URL paths to the APIs.
var routes = map[string]API{
	"/v4/recentcontact/mark_contact":         MarkContact,
	"/v4/recentcontact/search_contact_group": SearchContactGroup,
	"/v4/recentcontact/get_contact_group":    GetContactGroup,
}

// ServeHTTP answers one request. The stages follow what a request meets on
// its way through the real service: the per-API rate limit at the door, the
// network (latency, 502s from a gateway), the credentials, then the API
// itself, whose answer may still be lost on the way back.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	api, ok := routes[r.URL.Path]
	defer s.stats.update(func(c *counters) { c.inFlight-- })
	s.stats.update(func(c *counters) {
		c.inFlight++
		c.requests++
		if !ok {
			c.notFound++
			return
		}
		c.api(api, func(a *APIStats) { a.Requests++ })
	})
	if !ok {
		http.NotFound(w, r)
		return
	}

	if !s.windows[api].arrive(s.arrival(r)) {
		s.stats.update(func(c *counters) { c.api(api, func(a *APIStats) { a.Throttled++ }) })
		s.fail(w, api, codeRateLimited, fmt.Sprintf("%s: more than %d calls in one second", api, s.cfg.RateLimit))
		return
	}
	s.stats.update(func(c *counters) { c.api(api, func(a *APIStats) { a.Accepted++ }) })

	// The whole request is received before it is processed. Reading the body
	// first also lets net/http notice a client that hangs up during the
	// latency below, which cancels the request's context.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	gone := err != nil && !errors.As(err, &tooLarge)
	if gone || !s.delay(r) {
		// The client went away mid-body or gave up waiting: nothing applied.
		s.stats.update(func(c *counters) { c.abandoned++ })
		return
	}
	if s.chance(s.cfg.HTTP502Rate) {
		s.fault(api, FaultHTTP502)
		http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
		return
	}
	if code, info := s.checkRequest(r); code != codeOK {
		s.fail(w, api, code, info)
		return
	}
	if tooLarge != nil {
		s.fail(w, api, codeInvalidParam, fmt.Sprintf("request body larger than %d bytes", maxBody))
		return
	}
	if s.chance(s.cfg.TransientRate) {
		s.fault(api, FaultTransient)
		code := codeInternal
		if s.chance(0.5) {
			code = codeServerError
		}
		s.fail(w, api, code, "internal server error, please retry")
		return
	}
	lost := s.chance(s.cfg.LostResponseRate)

	var answer any
	switch api {
	case MarkContact:
		answer = s.markContact(body)
	case SearchContactGroup:
		answer = s.searchContactGroup(body)
	case GetContactGroup:
		answer = s.getContactGroup(body)
	}
	if st := statusOf(answer); st.ErrorCode != codeOK {
		s.record(api, st.ErrorCode, st.ErrorInfo)
	}
	if lost {
		s.fault(api, FaultLostResponse)
		s.dropConnection(w)
		return
	}
	writeJSON(w, answer)
}

// delay sleeps for the configured latency; false means the request's
// context ended first.
func (s *Server) delay(r *http.Request) bool {
	d := s.cfg.Latency
	if j := s.cfg.LatencyJitter; j > 0 {
		s.rngMu.Lock()
		d += time.Duration(s.rng.Int64N(int64(j)))
		s.rngMu.Unlock()
	}
	if d <= 0 {
		return r.Context().Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// chance draws from the seeded source. A disabled fault (p <= 0) draws
// nothing, so runs with the same Seed and the same faults repeat exactly.
func (s *Server) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64() < p
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// dropConnection closes the connection without a response, so that the
// client sees EOF or a reset. Hijacking works for HTTP/1; elsewhere
// http.ErrAbortHandler makes the server abort the response.
func (s *Server) dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}
