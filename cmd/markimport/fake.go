package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"markimport/pipeline/durable"
	"markimport/sink"
	"markimport/sink/fakeim"
)

// The identity the built-in emulator runs under for --fake.
const (
	fakeSDKAppID = 1400000000
	fakeAdmin    = "administrator"
)

// fakeRun is an emulator started in-process on loopback for `run --fake`.
type fakeRun struct {
	srv   *fakeim.Server
	state string // --fake-state, or ""
	http  *http.Server
	g     errgroup.Group // serves until Close
	url   string
	key   string
}

// startFake starts the emulator with a fresh random secret key, so that the
// rehearsal goes through the real usersig path: signing, verification,
// renewal. With a state file (--fake-state) it starts from the marks saved
// there, if the file exists.
func startFake(statePath string) (*fakeRun, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(b[:])
	srv := fakeim.New(fakeim.Config{SDKAppID: fakeSDKAppID, Admins: []string{fakeAdmin}, SecretKey: key})
	if statePath != "" {
		if err := loadFakeState(srv, statePath); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	f := &fakeRun{srv: srv, state: statePath, http: hs, url: "http://" + ln.Addr().String(), key: key}
	f.g.Go(func() error { return hs.Serve(srv.Listener(ln)) })
	return f, nil
}

func (f *fakeRun) clientConfig() sink.Config {
	creds, _ := sink.NewKeyedSig(f.key, fakeSDKAppID, fakeAdmin, 24*time.Hour)
	return sink.Config{Endpoint: f.url, SDKAppID: fakeSDKAppID, Admin: fakeAdmin, Credentials: creds}
}

func (f *fakeRun) describe() string {
	st := f.srv.Stats()
	return fmt.Sprintf("%d users, %d conversations (it answered %s)", f.srv.Users(), f.srv.TotalConversations(), st.String())
}

// fakeMark is one conversation's marks in a --fake-state file.
type fakeMark struct {
	Type      int    `json:"type"`
	Peer      string `json:"peer"`
	Standard  uint64 `json:"standard"`
	Custom    string `json:"custom,omitempty"`
	CustomSet bool   `json:"custom_set,omitempty"`
}

// loadFakeState gives the emulator the marks a --fake-state file holds; a
// file that does not exist yet is an empty state.
func loadFakeState(srv *fakeim.Server, path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--fake-state: %v", err)
	}
	var users map[string][]fakeMark
	if err := json.Unmarshal(b, &users); err != nil {
		return fmt.Errorf("--fake-state %s: not an emulator state saved by markimport: %v", path, err)
	}
	for user, marks := range users {
		for _, m := range marks {
			srv.SetMark(user, fakeim.Conversation{Type: m.Type, Peer: m.Peer}, fakeim.Mark{Standard: m.Standard, Custom: m.Custom, CustomSet: m.CustomSet})
		}
	}
	return nil
}

// save writes the emulator's marks to its --fake-state file, if it has
// one, through a file renamed into place.
func (f *fakeRun) save() error {
	if f.state == "" {
		return nil
	}
	users := map[string][]fakeMark{}
	for user, convs := range f.srv.Snapshot() {
		list := make([]fakeMark, 0, len(convs))
		for c, m := range convs {
			list = append(list, fakeMark{Type: c.Type, Peer: c.Peer, Standard: m.Standard, Custom: m.Custom, CustomSet: m.CustomSet})
		}
		slices.SortFunc(list, func(a, b fakeMark) int { return cmp.Or(cmp.Compare(a.Type, b.Type), strings.Compare(a.Peer, b.Peer)) })
		users[user] = list
	}
	b, err := json.Marshal(users)
	if err != nil {
		return err
	}
	if err := durable.WriteFile(nil, f.state, b); err != nil {
		return fmt.Errorf("--fake-state: %v", err)
	}
	return nil
}

// Close stops the emulator at once: the run using it is over, and a
// graceful shutdown would wait for connections the client dialed but never
// used.
func (f *fakeRun) Close() {
	f.http.Close()
	f.g.Wait() // http.ErrServerClosed
}

// cmdFakeServer runs the emulator until interrupted.
func cmdFakeServer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, listen, code, ok := parseFakeServer(args, stdout, stderr)
	if !ok {
		return code
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil || !sink.IsLoopback(host) {
		fmt.Fprintf(stderr, "markimport fake-server: --listen %q: the emulator listens on loopback addresses only\n", listen)
		return exitUsage
	}
	srv := fakeim.New(cfg)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(stderr, "markimport fake-server: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "fake-server listening on http://%s\n", ln.Addr())
	if err := serveFake(ctx, srv, ln); err != nil {
		fmt.Fprintf(stderr, "markimport fake-server: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "fake-server stopped: %d users, %d conversations; %s\n", srv.Users(), srv.TotalConversations(), srv.Stats().String())
	return exitOK
}

// fakeServerFlags are fake-server's flags: the emulator's configuration
// and what becomes part of it once parsed.
type fakeServerFlags struct {
	cfg                            fakeim.Config
	listen, admins, keyFile, users string
	bitOrder, setClear, config     string
	quiet                          bool
}

// define defines fake-server's flags into s.
func (s *fakeServerFlags) define() *flag.FlagSet {
	cfg := &s.cfg
	fs := flag.NewFlagSet("fake-server", flag.ContinueOnError)
	fs.StringVar(&s.listen, "listen", "127.0.0.1:8080", "address to listen on (loopback)")
	fs.Uint64Var(&cfg.SDKAppID, "sdkappid", 0, "the app's SDKAppID; others are refused (0: any)")
	fs.StringVar(&s.admins, "admin", "", "comma-separated admin identifiers; others get 50003 (empty: any)")
	fs.StringVar(&s.keyFile, "secret-key-file", "", "verify usersigs with the secret key in this file (or env MARKIMPORT_SECRET_KEY)")
	fs.StringVar(&s.users, "users-file", "", "file of imported accounts, one per line; others get 50001")
	fs.BoolVar(&cfg.NoStandardMarks, "no-standard-marks", false, "emulate an edition without standard marks (51013)")
	fs.IntVar(&cfg.RateLimit, "rate-limit", 0, "calls per second per API (default 200; negative: none)")
	fs.IntVar(&cfg.MaxConversations, "max-conversations", 0, "marked conversations per user (default 1000)")
	fs.DurationVar(&cfg.SigTTL, "sig-ttl", 0, "answer 70001 for usersigs issued longer ago than this (test renewal)")
	fs.DurationVar(&cfg.Latency, "latency", 0, "delay every answer by this much")
	fs.DurationVar(&cfg.LatencyJitter, "latency-jitter", 0, "plus a random delay up to this much")
	fs.Float64Var(&cfg.TransientRate, "transient-rate", 0, "probability of a request-level transient error (50004/70500)")
	fs.Float64Var(&cfg.ItemTransientRate, "item-transient-rate", 0, "probability of an item-level transient error (50004/50005)")
	fs.Float64Var(&cfg.HTTP502Rate, "http502-rate", 0, "probability of an HTTP 502")
	fs.Float64Var(&cfg.LostResponseRate, "lost-response-rate", 0, "probability of applying a request and dropping its answer")
	fs.Int64Var(&cfg.Seed, "seed", 1, "random seed of the faults")
	fs.BoolVar(&s.quiet, "quiet", false, "do not log faults and errors")
	// Where the API's documentation is silent, the emulator can play each
	// reading, so that what markimport (and its preflight) does is tested
	// against every service the documentation allows.
	fs.StringVar(&s.bitOrder, "bit-order", "last", "which end of StandardMark is bit 0 in reads: last (binary notation) or first")
	fs.BoolVar(&cfg.ShortStandardMark, "short-standard-mark", false, "drop StandardMark's zeros beyond the highest set bit in reads (\"\" for none) instead of 64 characters")
	fs.StringVar(&s.setClear, "set-and-clear", "refuse", "an item that sets and clears one bit: refuse (50002), set-wins or clear-wins")
	fs.BoolVar(&cfg.AcceptUnknownFrom, "accept-unknown-from", false, "with --users-file, accept a From_Account not in it instead of answering 50001")
	fs.StringVar(&s.config, "config", "", configHelp("fake-server"))
	return fs
}

// parseFakeServer parses fake-server's flags, then fills in those the
// command line did not give from the environment and the config file,
// into the emulator's configuration and the address to listen on. When
// it returns false the command is over, with the exit code given.
func parseFakeServer(args []string, stdout, stderr io.Writer) (fakeim.Config, string, int, bool) {
	s := &fakeServerFlags{}
	fs := s.define()
	all := func(string) bool { return true }
	help, err := parseFlags("fake-server", fs, args, all)
	if help {
		printHelp(stdout, "markimport fake-server runs the emulator of the API (sink/fakeim) on loopback until interrupted.",
			"  markimport fake-server --listen 127.0.0.1:8080 [flags]\n", fs, all, nil, "Exit codes:\n  0    stopped by an interrupt\n  2    usage, or the address cannot be listened on\n")
		return s.cfg, "", exitOK, false
	}
	if err == nil {
		err = new(importFlags).applySettings("fake-server", fs)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "markimport fake-server: %s\n%s\n", ue.msg, ue.hint)
		return s.cfg, "", exitUsage, false
	}
	if err := s.finish(stderr); err != nil {
		fmt.Fprintf(stderr, "markimport fake-server: %v\n", err)
		return s.cfg, "", exitUsage, false
	}
	return s.cfg, s.listen, exitOK, true
}

// finish completes the emulator's configuration from the flags that are
// not fields of it: the variants, the admins, the secret key, the users
// and the log (on w, unless --quiet).
func (s *fakeServerFlags) finish(w io.Writer) error {
	cfg := &s.cfg
	if err := variantFlags(cfg, s.bitOrder, s.setClear); err != nil {
		return err
	}
	if s.admins != "" {
		cfg.Admins = strings.Split(s.admins, ",")
	}
	key, err := secretFrom(s.keyFile, "MARKIMPORT_SECRET_KEY", "--secret-key-file")
	if err != nil {
		return err
	}
	cfg.SecretKey = key
	if cfg.Users, err = readUsers(s.users); err != nil {
		return err
	}
	if !s.quiet {
		cfg.Logf = func(format string, a ...any) { fmt.Fprintf(w, "fake-server: "+format+"\n", a...) }
	}
	return nil
}

// variantFlags sets the emulator's reading of what the documentation leaves
// open from --bit-order and --set-and-clear.
func variantFlags(cfg *fakeim.Config, bitOrder, setClear string) error {
	switch bitOrder {
	case "last":
	case "first":
		cfg.BitZeroFirst = true
	default:
		return fmt.Errorf("--bit-order %q: want last or first", bitOrder)
	}
	switch setClear {
	case "refuse":
		cfg.SetAndClear = fakeim.SetClearRefuse
	case "set-wins":
		cfg.SetAndClear = fakeim.SetClearSetWins
	case "clear-wins":
		cfg.SetAndClear = fakeim.SetClearClearWins
	default:
		return fmt.Errorf("--set-and-clear %q: want refuse, set-wins or clear-wins", setClear)
	}
	return nil
}

// readUsers reads --users-file: one account a line, blank lines skipped
// (nil without the flag).
func readUsers(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, u := range strings.Split(string(b), "\n") {
		if u = strings.TrimSpace(u); u != "" {
			users = append(users, u)
		}
	}
	return users, nil
}

// serveFake serves srv on ln until ctx ends (Ctrl-C), then shuts the
// server down, giving the requests in progress 5 seconds.
func serveFake(ctx context.Context, srv *fakeim.Server, ln net.Listener) error {
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	// One goroutine serves; the other shuts it down when ctx ends.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := hs.Serve(srv.Listener(ln)); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		return nil
	})
	return g.Wait()
}
