package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"markimport/pipeline/mark"
	"markimport/sink"
)

// applyPacing sets the flags of pacing, retries and timeouts, which run and
// verify share, on cfg; the concurrency, when not given, is the default
// for the rate.
func (f *importFlags) applyPacing(cfg *sink.Config, ctr *mark.Counters, log *slog.Logger) {
	cfg.Rate = f.rate
	cfg.Margin = f.rateMargin
	cfg.Concurrency = f.concurrency
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = sink.DefaultConcurrency(f.rate)
	}
	cfg.MaxAttempts = f.maxAttempts
	cfg.Timeout = f.timeout
	cfg.Counters = ctr
	cfg.Log = log
}

// clientConfig builds the connection settings of a real run from flags and
// the environment.
func (f *importFlags) clientConfig() (sink.Config, error) {
	var cfg sink.Config
	if f.sdkappid == "" {
		return cfg, errors.New("--sdkappid (or MARKIMPORT_SDKAPPID) is required")
	}
	id, err := strconv.ParseUint(strings.TrimSpace(f.sdkappid), 10, 64)
	if err != nil || id == 0 {
		return cfg, fmt.Errorf("--sdkappid %q is not a positive number", f.sdkappid)
	}
	cfg.SDKAppID = id
	cfg.Admin = strings.TrimSpace(f.admin)
	if cfg.Admin == "" {
		return cfg, errors.New("--admin (or MARKIMPORT_ADMIN) is required")
	}
	switch {
	case f.region != "" && f.endpoint != "":
		return cfg, errors.New("give --region or --endpoint, not both")
	case f.region != "":
		if cfg.Endpoint, err = sink.RegionEndpoint(f.region); err != nil {
			return cfg, err
		}
	case f.endpoint != "":
		cfg.Endpoint = f.endpoint
	default:
		return cfg, fmt.Errorf("--region or --endpoint is required (regions: %s)", strings.Join(sink.RegionNames(), ", "))
	}
	key, err := secretFrom(f.secretKeyFile, "MARKIMPORT_SECRET_KEY", "--secret-key-file")
	if err != nil {
		return cfg, err
	}
	sig, err := secretFrom(f.usersigFile, "MARKIMPORT_USERSIG", "--usersig-file")
	if err != nil {
		return cfg, err
	}
	switch {
	case key != "":
		cfg.Credentials, err = sink.NewKeyedSig(key, id, cfg.Admin, f.sigTTL)
	case sig != "":
		cfg.Credentials, err = sink.NewStaticSig(sig)
	default:
		err = errors.New("no credentials: set MARKIMPORT_SECRET_KEY or --secret-key-file (usersigs are then made and renewed), or MARKIMPORT_USERSIG or --usersig-file")
	}
	return cfg, err
}

// secretFrom reads a secret from a file flag or else an environment variable.
func secretFrom(file, env, flagName string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: %v", flagName, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("%s %s: the file is empty", flagName, file)
		}
		sink.RegisterSecret(s)
		return s, nil
	}
	s := strings.TrimSpace(os.Getenv(env))
	if s != "" {
		sink.RegisterSecret(s)
	}
	return s, nil
}

// checkPacing refuses a number of pacing, retries or timeouts that is out
// of range, naming the flag and the range. validate has --rate and
// --read-rate only (for its time estimate).
func (f *importFlags) checkPacing(dry bool, log *slog.Logger) error {
	if err := sink.CheckRate(f.rate); err != nil {
		return fmt.Errorf("--rate %g: %w", f.rate, err)
	}
	if err := sink.CheckRate(f.readRate); err != nil {
		return fmt.Errorf("--read-rate %g: %w", f.readRate, err)
	}
	if dry {
		return nil
	}
	if err := sink.CheckMargin(f.rateMargin); err != nil {
		return fmt.Errorf("--rate-margin %g: %w", f.rateMargin, err)
	}
	if f.concurrency != 0 { // 0: the default for the rate
		if err := sink.CheckConcurrency(f.concurrency); err != nil {
			return fmt.Errorf("--concurrency %d: %w", f.concurrency, err)
		}
	}
	if err := sink.CheckMaxAttempts(f.maxAttempts); err != nil {
		return fmt.Errorf("--max-attempts %d: %w", f.maxAttempts, err)
	}
	if err := sink.CheckTimeout(f.timeout); err != nil {
		return fmt.Errorf("--timeout %v: %w", f.timeout, err)
	}
	if f.timeout <= serverTimeout {
		log.Warn(fmt.Sprintf("--timeout %v is not above the server's own %v: an answer that takes longer is cut short and its request sent again", f.timeout, serverTimeout))
	}
	return nil
}

// serverTimeout is how long the API itself may take to answer.
const serverTimeout = 3 * time.Second
