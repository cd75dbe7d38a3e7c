package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"markimport/pipeline/mark"
	"markimport/pipeline/preflight"
)

// checkProfile decides how reads take StandardMark apart. Commands that
// read marks back (verify, run --backup, run --mode insert) need the bit
// order: the built-in emulator's is known; any endpoint's, a fake-server
// on loopback included (a port-forward looks the same), comes from the
// --profile that markimport preflight wrote for this SDKAppID, checked
// before anything connects.
func (f *importFlags) checkProfile(reads bool) error {
	switch {
	case !reads && f.profile == "":
		return nil
	case f.fake:
		if f.profile != "" {
			return errors.New("--profile describes a real service; the built-in emulator of --fake reads StandardMark with bit 0 last")
		}
		f.bitOrder = mark.BitZeroLast
		return nil
	case f.profile == "":
		app := "N"
		if id, err := strconv.ParseUint(strings.TrimSpace(f.sdkappid), 10, 64); err == nil && id > 0 {
			app = strconv.FormatUint(id, 10)
		}
		return fmt.Errorf("reading marks back needs the service profile: the API's documentation does not say which end of StandardMark is bit 0, "+
			"and a wrong guess corrupts backups and rollbacks. Run once: markimport preflight --scratch FROM:c2c:PEER (two test accounts) "+
			"with these connection flags, then give --profile markimport-profile-%s.json", app)
	}
	id, err := strconv.ParseUint(strings.TrimSpace(f.sdkappid), 10, 64)
	if err != nil || id == 0 {
		return fmt.Errorf("--sdkappid %q is not a positive number", f.sdkappid)
	}
	p, err := preflight.ReadProfile(f.profile, id, time.Now())
	if err != nil {
		return err
	}
	f.bitOrder = p.Order()
	return nil
}
