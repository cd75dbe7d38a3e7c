package fakeim

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"markimport/sink/usersig"
)

// checkRequest validates the method and the query parameters and
// authenticates the caller, in the order the service reports problems.
func (s *Server) checkRequest(r *http.Request) (int, string) {
	if r.Method != http.MethodPost {
		return codeBadURL, "HTTP method must be POST, not " + r.Method
	}
	q := r.URL.Query()
	one := func(name string) (string, bool) {
		v := q[name]
		return firstOrEmpty(v), len(v) == 1 && v[0] != ""
	}

	appStr, ok := one("sdkappid")
	if !ok {
		if len(q["sdkappid"]) > 1 {
			return codeBadURL, "sdkappid given more than once"
		}
		return codeNoSDKAppID, "sdkappid missing from the URL"
	}
	appID, err := strconv.ParseUint(appStr, 10, 64)
	if err != nil {
		return codeBadURL, "sdkappid is not a number"
	}
	if s.cfg.SDKAppID != 0 && appID != s.cfg.SDKAppID {
		return codeSDKAppIDNotFound, fmt.Sprintf("sdkappid %d not found (wrong region?)", appID)
	}
	identifier, ok := one("identifier")
	if !ok {
		return codeBadURL, "identifier missing, empty or repeated in the URL"
	}
	if randStr, ok := one("random"); !ok {
		return codeBadURL, "random missing, empty or repeated in the URL"
	} else if _, err := strconv.ParseUint(randStr, 10, 32); err != nil {
		return codeBadURL, "random must be a decimal integer in 0-4294967295"
	}
	if ct, ok := one("contenttype"); !ok || ct != "json" {
		return codeBadURL, `contenttype must be "json"`
	}
	sig, ok := one("usersig")
	if !ok {
		return codeSigInvalid, "usersig missing, empty or repeated in the URL"
	}
	if code, info := s.checkSig(sig, appID, identifier); code != codeOK {
		return code, info
	}
	if s.admins != nil && !s.admins[identifier] {
		return codeNotAdmin, fmt.Sprintf("identifier %q is not an App admin", identifier)
	}
	return codeOK, ""
}

func firstOrEmpty(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// checkSig authenticates the usersig. Its messages name the problem, never
// the usersig or the key. With Config.Expired, the test decides expiry
// instead of the clock.
func (s *Server) checkSig(sig string, appID uint64, identifier string) (int, string) {
	if s.cfg.Expired == nil {
		return s.verifySig(sig, appID, identifier, s.now())
	}
	p, err := usersig.Parse(sig)
	if err != nil {
		return s.verifySig(sig, appID, identifier, s.now())
	}
	// Checked as of its issue, a usersig cannot have expired by the clock.
	if code, info := s.verifySig(sig, appID, identifier, p.Time); code != codeOK {
		return code, info
	}
	if s.cfg.Expired(p.Time) {
		return codeSigExpired, "usersig expired (issued before the test's cutoff)"
	}
	return codeOK, ""
}

// verifySig authenticates the usersig as of now.
func (s *Server) verifySig(sig string, appID uint64, identifier string, now time.Time) (int, string) {
	switch {
	case s.cfg.SecretKey != "":
		err := usersig.Verify(sig, s.cfg.SecretKey, appID, identifier, now)
		switch {
		case errors.Is(err, usersig.ErrMalformed):
			return codeSigInvalid, "usersig is not a valid TLS sig v2"
		case errors.Is(err, usersig.ErrBadSignature):
			return codeSigMismatch, "usersig verification failed: not made with this app's secret key"
		case errors.Is(err, usersig.ErrIdentifier):
			return codeSigIdentifier, "usersig was made for another identifier"
		case errors.Is(err, usersig.ErrSDKAppID):
			return codeSigSDKAppID, "usersig was made for another sdkappid"
		case errors.Is(err, usersig.ErrExpired):
			return codeSigExpired, "usersig expired"
		case err != nil:
			return codeSigInvalid, "usersig rejected"
		}
	case s.cfg.UserSig != "":
		if sig != s.cfg.UserSig {
			if _, err := usersig.Parse(sig); err != nil {
				return codeSigInvalid, "usersig is not a valid TLS sig v2"
			}
			return codeSigMismatch, "usersig verification failed"
		}
		if p, err := usersig.Parse(sig); err == nil && now.After(p.ExpiresAt()) {
			return codeSigExpired, "usersig expired"
		}
	}
	if ttl := s.cfg.SigTTL; ttl > 0 && s.cfg.Expired == nil {
		if p, err := usersig.Parse(sig); err == nil && now.Sub(p.Time) > ttl {
			return codeSigExpired, "usersig expired (older than the emulator's SigTTL)"
		}
	}
	return codeOK, ""
}
