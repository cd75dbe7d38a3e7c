package main

import (
	"io"
	"testing"

	"markimport/sink/fakeim"
)

// TestFakeServerVariantFlags: fake-server plays each reading of what the
// API's documentation leaves open, and refuses a reading it does not know.
func TestFakeServerVariantFlags(t *testing.T) {
	cfg, _, _, ok := parseFakeServer(nil, io.Discard, io.Discard)
	if !ok || cfg.BitZeroFirst || cfg.ShortStandardMark || cfg.SetAndClear != fakeim.SetClearRefuse || cfg.AcceptUnknownFrom {
		t.Fatalf("defaults %+v", cfg)
	}
	cfg, _, _, ok = parseFakeServer([]string{"--bit-order", "first", "--short-standard-mark", "--set-and-clear", "clear-wins", "--accept-unknown-from"}, io.Discard, io.Discard)
	if !ok || !cfg.BitZeroFirst || !cfg.ShortStandardMark || cfg.SetAndClear != fakeim.SetClearClearWins || !cfg.AcceptUnknownFrom {
		t.Fatalf("variants %+v", cfg)
	}
	if cfg, _, _, _ = parseFakeServer([]string{"--set-and-clear", "set-wins"}, io.Discard, io.Discard); cfg.SetAndClear != fakeim.SetClearSetWins {
		t.Errorf("set-wins %+v", cfg.SetAndClear)
	}
	for _, bad := range [][]string{{"--bit-order", "middle"}, {"--set-and-clear", "toggle"}} {
		if _, _, code, ok := parseFakeServer(bad, io.Discard, io.Discard); ok || code != exitUsage {
			t.Errorf("%v: ok %v code %d", bad, ok, code)
		}
	}
}
