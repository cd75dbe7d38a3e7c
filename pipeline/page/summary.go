package page

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"markimport/pipeline/report"
	"markimport/pipeline/timeline"
)

// runSummary is what the page takes from a command's summary JSON: the
// fields of validate's, run's and verify's summaries, and the invocation
// (the command line with its secrets masked, the version, the profile,
// the backup and its rollback command) that the command writes with them.
type runSummary struct {
	Command     string `json:"command"`
	CommandLine string `json:"command_line"`
	Version     string `json:"version"`
	Profile     string `json:"profile,omitempty"`
	Backup      string `json:"backup,omitempty"`
	Rollback    string `json:"rollback_command,omitempty"`

	RunID     string    `json:"run_id"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	Input     string    `json:"input"`
	DryRun    bool      `json:"dry_run"`
	Rows      int64     `json:"rows"`
	// Statuses are rows per status: the report's, or the verify report's.
	Statuses        map[string]int64 `json:"statuses"`
	Users           int64            `json:"users"`
	Conversations   int64            `json:"conversations"`
	RequestsPlanned int64            `json:"requests_planned"`
	RequestsSent    int64            `json:"requests_sent"`
	HTTPRequests    int64            `json:"http_requests"`
	Retries         int64            `json:"retries"`
	Throttled       int64            `json:"throttled"`
	ElapsedSeconds  float64          `json:"elapsed_seconds"`
	SendSeconds     float64          `json:"send_seconds"`
	RequestsPerSec  float64          `json:"requests_per_second"`
	RequestsSaved   int64            `json:"requests_saved"`
	BackupRows      int64            `json:"backup_rows"`
	ReadRequests    int64            `json:"read_requests"`
	Sample          float64          `json:"sample"`
	UsersLeftOut    int64            `json:"users_left_out"`
	Stopped         string           `json:"stopped"`
	StopMessage     string           `json:"stop_message"`
	ExitCode        *int             `json:"exit_code"`
	Timeline        *timeline.Series `json:"timeline"`
}

// readSummary decodes a summary JSON and checks it: a summary of
// validate, run or verify, with its counts in range.
func readSummary(data []byte) (*runSummary, error) {
	var s runSummary
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("not a markimport summary: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not a markimport summary: more than one JSON value")
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("not a summary markimport wrote: %v", err)
	}
	return &s, nil
}

// verify reports whether the summary is a verify's.
func (s *runSummary) verify() bool { return s.Command == "verify" }

// check refuses a summary no command of markimport writes.
func (s *runSummary) check() error {
	switch s.Command {
	case "validate", "run", "verify":
	case "":
		return fmt.Errorf("it names no command (a summary of an older markimport: run the command again to make the page)")
	default:
		return fmt.Errorf("command %q is not validate, run or verify", s.Command)
	}
	if s.ExitCode == nil {
		return fmt.Errorf("it has no exit_code")
	}
	if s.EndedAt.Before(s.StartedAt) {
		return fmt.Errorf("it ended (%s) before it started (%s)", s.EndedAt, s.StartedAt)
	}
	for name, n := range map[string]int64{"rows": s.Rows, "users": s.Users, "conversations": s.Conversations,
		"requests_planned": s.RequestsPlanned, "requests_sent": s.RequestsSent, "http_requests": s.HTTPRequests,
		"retries": s.Retries, "throttled": s.Throttled, "backup_rows": s.BackupRows, "read_requests": s.ReadRequests,
		"requests_saved": s.RequestsSaved, "users_left_out": s.UsersLeftOut} {
		if n < 0 {
			return fmt.Errorf("%s is %d", name, n)
		}
	}
	if s.ElapsedSeconds < 0 || s.SendSeconds < 0 || s.RequestsPerSec < 0 || s.Sample < 0 || s.Sample > 1 {
		return fmt.Errorf("times, rate or sample out of range")
	}
	var lines int64
	for st, n := range s.Statuses {
		if !knownStatus(s.verify(), st) {
			return fmt.Errorf("status %q is not one of %s's", st, s.Command)
		}
		if n < 0 {
			return fmt.Errorf("status %s counts %d rows", st, n)
		}
		lines += n
	}
	if lines > s.Rows {
		return fmt.Errorf("its statuses count %d rows, more than the %d read", lines, s.Rows)
	}
	return s.Timeline.Check()
}

// knownStatus reports whether st is a status of a run's report (or, for
// verify, of a verify report).
func knownStatus(verify bool, st string) bool {
	if verify {
		for _, v := range report.VerifyStatuses {
			if string(v) == st {
				return true
			}
		}
		return false
	}
	for _, v := range report.Statuses {
		if string(v) == st {
			return true
		}
	}
	return false
}

// statusOrder is the statuses of the summary's command in report order.
func (s *runSummary) statusOrder() []string {
	var out []string
	if s.verify() {
		for _, v := range report.VerifyStatuses {
			out = append(out, string(v))
		}
		return out
	}
	for _, v := range report.Statuses {
		out = append(out, string(v))
	}
	return out
}

// settled reports whether rows of status st need nothing more.
func (s *runSummary) settled(st string) bool {
	if s.verify() {
		return st == string(report.VerifyMatch) || st == string(report.VerifyNotChecked)
	}
	return report.Status(st).Settled()
}
