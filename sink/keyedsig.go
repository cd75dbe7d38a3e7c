package sink

import (
	"errors"
	"sync"
	"time"

	"markimport/sink/usersig"
)

// KeyedSig makes the admin's usersigs from the app's secret key (TLS sig
// v2) and renews them well before they expire: a new one is made once half
// of the lifetime has passed, so a migration of many hours never sends an
// expired signature. It is safe for concurrent use by every worker.
type KeyedSig struct {
	key      string
	sdkAppID uint64
	admin    string
	ttl      time.Duration
	now      func() time.Time

	mu   sync.Mutex
	sig  string
	made time.Time
}

// NewKeyedSig returns credentials that sign for admin of sdkAppID with key,
// each usersig valid for ttl (default 24 h). The key is registered for
// redaction.
func NewKeyedSig(key string, sdkAppID uint64, admin string, ttl time.Duration) (*KeyedSig, error) {
	if key == "" {
		return nil, errors.New("the secret key is empty")
	}
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	if ttl < 2*time.Second {
		return nil, errors.New("--sig-ttl must be at least 2s")
	}
	RegisterSecret(key)
	return &KeyedSig{key: key, sdkAppID: sdkAppID, admin: admin, ttl: ttl, now: time.Now}, nil
}

// UserSig returns the current usersig, making a new one when half of its
// lifetime has passed.
func (k *KeyedSig) UserSig() (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.sig == "" || k.now().Sub(k.made) >= k.ttl/2 {
		if err := k.makeLocked(); err != nil {
			return "", err
		}
	}
	return k.sig, nil
}

// Renew makes a new usersig now.
func (k *KeyedSig) Renew() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.makeLocked() == nil
}

func (k *KeyedSig) makeLocked() error {
	now := k.now()
	sig, err := usersig.Generate(k.key, k.sdkAppID, k.admin, now, k.ttl)
	if err != nil {
		return err
	}
	RegisterSecret(sig)
	k.sig, k.made = sig, now
	return nil
}
