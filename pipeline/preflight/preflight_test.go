package preflight_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"markimport/pipeline/mark"
	"markimport/pipeline/preflight"
	"markimport/sink/fakeim"
)

var scratch = preflight.Scratch{From: "test_a", Conv: mark.Conversation{Type: mark.C2C, Peer: "test_b"}}

func findCheck(t *testing.T, res *preflight.Result, name string) preflight.Check {
	t.Helper()
	for _, c := range res.Checks {
		if strings.HasPrefix(c.Name, name) {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", name, res.Checks)
	return preflight.Check{}
}

// TestVariants runs preflight against each service the documentation
// allows and checks that it says which one it met, and that the scratch
// conversation ends exactly as it began.
func TestVariants(t *testing.T) {
	tests := []struct {
		name                       string
		cfg                        fakeim.Config
		order                      mark.BitOrder
		width                      int
		setClear, unknown, noMarks string
	}{
		{"binary padded", fakeim.Config{}, mark.BitZeroLast, 64, "refused 50002", "accepted", "zeros"},
		{"binary short", fakeim.Config{ShortStandardMark: true}, mark.BitZeroLast, 0, "refused 50002", "accepted", "empty"},
		{"bit 0 first padded", fakeim.Config{BitZeroFirst: true}, mark.BitZeroFirst, 64, "refused 50002", "accepted", "zeros"},
		{"bit 0 first short", fakeim.Config{BitZeroFirst: true, ShortStandardMark: true}, mark.BitZeroFirst, 0, "refused 50002", "accepted", "empty"},
		{"set wins", fakeim.Config{SetAndClear: fakeim.SetClearSetWins}, mark.BitZeroLast, 64, "set-wins", "accepted", "zeros"},
		{"clear wins", fakeim.Config{SetAndClear: fakeim.SetClearClearWins, BitZeroFirst: true}, mark.BitZeroFirst, 64, "clear-wins", "accepted", "zeros"},
		{"unknown from refused", fakeim.Config{Users: []string{"test_a", "test_b"}}, mark.BitZeroLast, 64, "refused 50002", "refused 50001", "zeros"},
		{"unknown from accepted", fakeim.Config{Users: []string{"test_a", "test_b"}, AcceptUnknownFrom: true}, mark.BitZeroLast, 64, "refused 50002", "accepted", "zeros"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(t, tt.cfg)
			// Bits 0, 3 and 40 and a custom mark: no reading of the
			// wrong order gives the same value back.
			svc.seed(scratch, []int64{0, 3, 40}, "before")
			before := svc.raw(scratch)
			res, err := preflight.Run(context.Background(), svc, scratch, options())
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Checks {
				if c.Fails {
					t.Errorf("check fails: %+v", c)
				}
			}
			if res.Failed() || !res.Restored {
				t.Fatalf("failed %v restored %v: %s", res.Failed(), res.Restored, res.Restore)
			}
			f := res.Findings
			if f.BitOrder != tt.order.String() || f.StandardMarkWidth != tt.width || f.SetAndClear != tt.setClear ||
				f.UnknownFrom != tt.unknown || f.NoMarksReadAs != tt.noMarks || !f.EmptyCustomClears || !f.CustomRoundTrip {
				t.Errorf("findings %+v", f)
			}
			if after := svc.raw(scratch); after != before {
				t.Errorf("scratch conversation %+v after preflight, %+v before", after, before)
			}
			if f.Concurrency < 1 || f.LatencyP99Ms < f.LatencyP50Ms {
				t.Errorf("latency findings %+v", f)
			}
		})
	}
}

// TestRestoresANewConversation: a scratch conversation without marks ends
// without marks.
func TestRestoresANewConversation(t *testing.T) {
	svc := newService(t, fakeim.Config{ShortStandardMark: true})
	res, err := preflight.Run(context.Background(), svc, scratch, options())
	if err != nil || !res.Restored {
		t.Fatalf("%v %+v", err, res)
	}
	if m := svc.raw(scratch); m.Found && (m.Standard != "" || m.Custom != "") {
		t.Errorf("after preflight %+v", m)
	}
}

// TestRestoresWhenCancelled: a cancellation in the middle of the probing
// still ends with the scratch conversation as it was.
func TestRestoresWhenCancelled(t *testing.T) {
	for _, at := range []int{2, 5, 9} {
		svc := newService(t, fakeim.Config{BitZeroFirst: true})
		svc.seed(scratch, []int64{1, 62}, "keep me")
		before := svc.raw(scratch)
		ctx, cancel := context.WithCancel(context.Background())
		svc.beforeWrite = func(n int) {
			if n == at {
				cancel()
			}
		}
		res, err := preflight.Run(ctx, svc, scratch, options())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel at write %d: err %v", at, err)
		}
		if !res.Restored {
			t.Errorf("cancel at write %d: not restored: %s", at, res.Restore)
		}
		if after := svc.raw(scratch); after != before {
			t.Errorf("cancel at write %d: %+v after, %+v before", at, after, before)
		}
		cancel()
	}
}

// TestWriteInFlightFinishesBeforeRestore: a cancellation while a write is
// on its way does not abandon it: a write the client gave up on may still
// be applied by the server after the restore, and undo it. The write gets
// its answer, then the conversation is restored.
func TestWriteInFlightFinishesBeforeRestore(t *testing.T) {
	for _, at := range []int{1, 4, 8} {
		svc := newService(t, fakeim.Config{})
		svc.seed(scratch, []int64{3, 40}, "as before")
		before := svc.raw(scratch)
		ctx, cancel := context.WithCancel(context.Background())
		svc.inFlight = func(n int) {
			if n == at {
				cancel()
			}
		}
		res, err := preflight.Run(ctx, svc, scratch, options())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel in write %d: err %v", at, err)
		}
		if !res.Restored {
			t.Errorf("cancel in write %d: not restored: %s", at, res.Restore)
		}
		if after := svc.raw(scratch); after != before {
			t.Errorf("cancel in write %d: %+v after, %+v before", at, after, before)
		}
		if svc.writes != at+1 {
			t.Errorf("cancel in write %d: %d writes, want the one in flight and the restore", at, svc.writes)
		}
		cancel()
	}
}

// TestEditionIsFatal: an app without standard marks stops preflight with
// the fatal code and nothing changed.
func TestEditionIsFatal(t *testing.T) {
	svc := newService(t, fakeim.Config{NoStandardMarks: true})
	svc.seed2(scratch, "custom only")
	before := svc.raw(scratch)
	res, err := preflight.Run(context.Background(), svc, scratch, options())
	var fatal *mark.FatalError
	if !errors.As(err, &fatal) || fatal.Code != 51013 {
		t.Fatalf("err %v", err)
	}
	if !res.Restored {
		t.Errorf("not restored: %s", res.Restore)
	}
	if after := svc.raw(scratch); after != before {
		t.Errorf("%+v after, %+v before", after, before)
	}
}

// scrambled reads StandardMark with its characters rotated by three, an
// order no reading explains.
type scrambled struct{ *httpService }

func (s scrambled) Read(ctx context.Context, from string, c mark.Conversation) (preflight.Marks, error) {
	m, err := s.httpService.Read(ctx, from, c)
	if len(m.Standard) > 3 {
		m.Standard = m.Standard[3:] + m.Standard[:3]
	}
	return m, err
}

// TestUnexplainedOrder: an order that is neither end fails the check and
// the restore, which cannot know what to write, says what to put back.
func TestUnexplainedOrder(t *testing.T) {
	svc := newService(t, fakeim.Config{})
	svc.seed(scratch, []int64{0, 3, 40}, "before")
	res, err := preflight.Run(context.Background(), scrambled{svc}, scratch, options())
	if err != nil {
		t.Fatal(err)
	}
	if c := findCheck(t, res, "bit order"); !c.Fails || !strings.Contains(c.Consequence, "cannot read standard marks back") {
		t.Errorf("bit order check %+v", c)
	}
	if !res.Failed() || res.Restored || !strings.Contains(res.Restore, "test_a:c2c:test_b") || !strings.Contains(res.Restore, `"before"`) {
		t.Errorf("failed %v restored %v: %s", res.Failed(), res.Restored, res.Restore)
	}
	if res.Findings.BitOrder != "" {
		t.Errorf("findings %+v", res.Findings)
	}
}

// TestUnexplainedOrderNothingToRestore: with no marks before, the restore
// needs no order.
func TestUnexplainedOrderNothingToRestore(t *testing.T) {
	svc := newService(t, fakeim.Config{})
	res, err := preflight.Run(context.Background(), scrambled{svc}, scratch, options())
	if err != nil || !res.Restored || !res.Failed() {
		t.Fatalf("%v restored %v failed %v: %s", err, res.Restored, res.Failed(), res.Restore)
	}
	if m := svc.raw(scratch); strings.Contains(m.Standard, "1") || m.Custom != "" {
		t.Errorf("after preflight %+v", m)
	}
}

// dropsCustom stores at most 200 bytes of a custom mark, as a service with
// a smaller limit than documented would.
type dropsCustom struct{ *httpService }

func (s dropsCustom) Read(ctx context.Context, from string, c mark.Conversation) (preflight.Marks, error) {
	m, err := s.httpService.Read(ctx, from, c)
	if len(m.Custom) > 200 {
		m.Custom = m.Custom[:200]
	}
	return m, err
}

func TestCustomRoundTripFails(t *testing.T) {
	svc := newService(t, fakeim.Config{})
	res, err := preflight.Run(context.Background(), dropsCustom{svc}, scratch, options())
	if err != nil {
		t.Fatal(err)
	}
	if c := findCheck(t, res, "256-byte ASCII"); !c.Fails {
		t.Errorf("check %+v", c)
	}
	if !res.Failed() || !res.Restored || res.Findings.CustomRoundTrip {
		t.Errorf("failed %v restored %v %+v", res.Failed(), res.Restored, res.Findings)
	}
}

// dropsBoth answers ResultCode 0 to items of OptType 3 without applying
// them (preflight's restore is the only such item).
type dropsBoth struct{ *httpService }

func (s dropsBoth) Write(ctx context.Context, from string, it mark.Item) (int, string, error) {
	if it.Opt == mark.OptBoth {
		return 0, "", nil
	}
	return s.httpService.Write(ctx, from, it)
}

// TestRestoreNotConfirmed: a restore the read-back contradicts is reported
// with the marks to put back by hand.
func TestRestoreNotConfirmed(t *testing.T) {
	svc := newService(t, fakeim.Config{})
	svc.seed(scratch, []int64{0, 3, 40}, "before")
	res, err := preflight.Run(context.Background(), dropsBoth{svc}, scratch, options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Restored || !res.Failed() {
		t.Fatalf("restored %v failed %v", res.Restored, res.Failed())
	}
	for _, want := range []string{"put back by hand", `set_mark "0;3;40"`, `custom_mark "before"`, "test_a:c2c:test_b"} {
		if !strings.Contains(res.Restore, want) {
			t.Errorf("restore message %q lacks %q", res.Restore, want)
		}
	}
}
