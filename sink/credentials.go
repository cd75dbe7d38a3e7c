package sink

import (
	"errors"
	"strings"
)

// Credentials supply the usersig of the admin account for each request.
type Credentials interface {
	// UserSig returns the usersig to use now.
	UserSig() (string, error)
	// Renew makes a new usersig after the server said the current one
	// expired. It returns false when no new one can be made.
	Renew() bool
}

// StaticSig is a ready-made usersig, given by the user; it cannot be renewed.
type StaticSig struct{ sig string }

// NewStaticSig returns credentials for a ready usersig (surrounding space is
// ignored). The usersig is registered for redaction.
func NewStaticSig(sig string) (*StaticSig, error) {
	sig = strings.TrimSpace(sig)
	if sig == "" {
		return nil, errors.New("the usersig is empty")
	}
	RegisterSecret(sig)
	return &StaticSig{sig: sig}, nil
}

// UserSig returns the usersig.
func (s *StaticSig) UserSig() (string, error) { return s.sig, nil }

// Renew returns false: a given usersig cannot be renewed.
func (s *StaticSig) Renew() bool { return false }
