package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// version is the only TLS sig version this package makes and accepts.
const version = "2.0"

// Errors returned by Parse and Verify. Test for them with errors.Is; the
// returned errors wrap them with a short reason that never contains the
// secret key or the usersig.
var (
	// ErrMalformed means the usersig is not a TLS sig v2: not the URL-safe
	// base64 alphabet, not zlib, not JSON, or a required field is missing.
	ErrMalformed = errors.New("usersig: malformed")
	// ErrBadSignature means the HMAC does not match: the usersig was made
	// with another secret key, or its fields were altered.
	ErrBadSignature = errors.New("usersig: signature does not match the secret key")
	// ErrIdentifier means the usersig is genuine but was issued for another
	// identifier than the one it is presented with.
	ErrIdentifier = errors.New("usersig: identifier differs")
	// ErrSDKAppID means the usersig is genuine but was issued for another
	// SDKAppID.
	ErrSDKAppID = errors.New("usersig: sdkappid differs")
	// ErrExpired means the usersig is genuine but its lifetime has passed.
	ErrExpired = errors.New("usersig: expired")
)

// maxPayload bounds the inflated JSON so that a hostile input cannot make
// Parse allocate without limit; real payloads are about 200 bytes.
const maxPayload = 64 << 10

// urlSafe maps the standard base64 alphabet to the one TLS sig uses in URLs,
// and fromURLSafe maps it back.
var (
	urlSafe     = strings.NewReplacer("+", "*", "/", "-", "=", "_")
	fromURLSafe = strings.NewReplacer("*", "+", "-", "/", "_", "=")
)

// Sig is the content of a usersig.
type Sig struct {
	// Version is the TLS sig version, always "2.0".
	Version string
	// Identifier is the account the usersig was issued for.
	Identifier string
	// SDKAppID is the application the usersig was issued for.
	SDKAppID uint64
	// Time is when the usersig was issued, to the second.
	Time time.Time
	// Expire is how long the usersig is valid after Time, to the second.
	Expire time.Duration
	// Signature is the standard base64 of the HMAC-SHA256 over the other
	// fields.
	Signature string
	// UserBuf is the optional TLS.userbuf field (base64, as on the wire),
	// which the HMAC then also covers. Usersigs made by Generate have none.
	UserBuf string
}

// ExpiresAt reports the last instant at which the usersig is still valid.
func (s Sig) ExpiresAt() time.Time {
	return s.Time.Add(s.Expire)
}

// payload is the JSON object inside a usersig. Field order follows the
// reference implementations; it does not matter to Verify.
type payload struct {
	Version    string  `json:"TLS.ver"`
	Identifier string  `json:"TLS.identifier"`
	SDKAppID   *number `json:"TLS.sdkappid"`
	Expire     *number `json:"TLS.expire"`
	Time       *number `json:"TLS.time"`
	Signature  string  `json:"TLS.sig"`
	UserBuf    string  `json:"TLS.userbuf,omitempty"`
}

// number is a non-negative integer that some third-party generators write as
// a JSON string rather than a JSON number; both forms are accepted.
type number uint64

func (n number) MarshalJSON() ([]byte, error) {
	return strconv.AppendUint(nil, uint64(n), 10), nil
}

func (n *number) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return errors.New("not a non-negative integer")
	}
	*n = number(v)
	return nil
}

// Generate makes a usersig for identifier in the application sdkAppID, issued
// at now and valid for expire (whole seconds, at least one).
func Generate(secretKey string, sdkAppID uint64, identifier string, now time.Time, expire time.Duration) (string, error) {
	switch {
	case secretKey == "":
		return "", errors.New("usersig: empty secret key")
	case identifier == "":
		return "", errors.New("usersig: empty identifier")
	case expire < time.Second:
		return "", fmt.Errorf("usersig: lifetime %v is shorter than one second", expire)
	}
	issued := now.Unix()
	if issued < 0 {
		return "", errors.New("usersig: issue time before 1970")
	}
	seconds := int64(expire / time.Second)
	p := payload{
		Version:    version,
		Identifier: identifier,
		SDKAppID:   ptr(number(sdkAppID)),
		Expire:     ptr(number(seconds)),
		Time:       ptr(number(issued)),
		Signature:  sign(secretKey, identifier, sdkAppID, issued, seconds, ""),
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("usersig: encode: %w", err)
	}
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return "", fmt.Errorf("usersig: compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("usersig: compress: %w", err)
	}
	return urlSafe.Replace(base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

func ptr[T any](v T) *T { return &v }

// sign returns the standard base64 of the HMAC-SHA256, keyed with the secret
// key's own bytes (not hex-decoded), over the fields in the order the service
// hashes them.
func sign(secretKey, identifier string, sdkAppID uint64, issued, expireSeconds int64, userBuf string) string {
	var b strings.Builder
	b.WriteString("TLS.identifier:" + identifier + "\n")
	b.WriteString("TLS.sdkappid:" + strconv.FormatUint(sdkAppID, 10) + "\n")
	b.WriteString("TLS.time:" + strconv.FormatInt(issued, 10) + "\n")
	b.WriteString("TLS.expire:" + strconv.FormatInt(expireSeconds, 10) + "\n")
	if userBuf != "" {
		b.WriteString("TLS.userbuf:" + userBuf + "\n")
	}
	mac := hmac.New(sha256.New, []byte(secretKey))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Parse decodes a usersig without checking its signature. Any input that is
// not a well-formed TLS sig v2 gives an error wrapping ErrMalformed.
func Parse(usersig string) (Sig, error) {
	if usersig == "" {
		return Sig{}, fmt.Errorf("%w: empty", ErrMalformed)
	}
	std := fromURLSafe.Replace(usersig)
	compressed, err := base64.StdEncoding.DecodeString(std)
	if err != nil {
		// Some generators drop the padding.
		compressed, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(std, "="))
		if err != nil {
			return Sig{}, fmt.Errorf("%w: not base64", ErrMalformed)
		}
	}
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return Sig{}, fmt.Errorf("%w: not zlib", ErrMalformed)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxPayload+1))
	if err != nil {
		return Sig{}, fmt.Errorf("%w: corrupt zlib stream", ErrMalformed)
	}
	if len(raw) > maxPayload {
		return Sig{}, fmt.Errorf("%w: payload larger than %d bytes", ErrMalformed, maxPayload)
	}
	var p payload
	// The decoder's own messages may quote payload bytes; report a fixed reason.
	if err := json.Unmarshal(raw, &p); err != nil {
		return Sig{}, fmt.Errorf("%w: payload is not the TLS sig JSON object", ErrMalformed)
	}
	switch {
	case p.Version != version:
		return Sig{}, fmt.Errorf("%w: TLS.ver is not %q", ErrMalformed, version)
	case p.Identifier == "":
		return Sig{}, fmt.Errorf("%w: TLS.identifier missing", ErrMalformed)
	case p.SDKAppID == nil:
		return Sig{}, fmt.Errorf("%w: TLS.sdkappid missing", ErrMalformed)
	case p.Time == nil:
		return Sig{}, fmt.Errorf("%w: TLS.time missing", ErrMalformed)
	case p.Expire == nil:
		return Sig{}, fmt.Errorf("%w: TLS.expire missing", ErrMalformed)
	case p.Signature == "":
		return Sig{}, fmt.Errorf("%w: TLS.sig missing", ErrMalformed)
	// Bounds keep time.Unix and the Duration arithmetic far from overflow.
	case uint64(*p.Time) > 1<<40:
		return Sig{}, fmt.Errorf("%w: TLS.time out of range", ErrMalformed)
	case uint64(*p.Expire) > 1<<32:
		return Sig{}, fmt.Errorf("%w: TLS.expire out of range", ErrMalformed)
	}
	return Sig{
		Version:    p.Version,
		Identifier: p.Identifier,
		SDKAppID:   uint64(*p.SDKAppID),
		Time:       time.Unix(int64(*p.Time), 0).UTC(),
		Expire:     time.Duration(*p.Expire) * time.Second,
		Signature:  p.Signature,
		UserBuf:    p.UserBuf,
	}, nil
}

// Verify checks that usersig was made with secretKey for identifier in the
// application sdkAppID and is still valid at now (valid up to and including
// its ExpiresAt instant). The checks run in that order, so an error wrapping
// ErrIdentifier, ErrSDKAppID or ErrExpired is only returned for a genuine
// usersig. Errors wrap ErrMalformed, ErrBadSignature, ErrIdentifier,
// ErrSDKAppID or ErrExpired.
func Verify(usersig, secretKey string, sdkAppID uint64, identifier string, now time.Time) error {
	if secretKey == "" {
		return errors.New("usersig: empty secret key")
	}
	s, err := Parse(usersig)
	if err != nil {
		return err
	}
	got, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil {
		return fmt.Errorf("%w: TLS.sig is not base64", ErrMalformed)
	}
	want, _ := base64.StdEncoding.DecodeString(sign(secretKey, s.Identifier, s.SDKAppID,
		s.Time.Unix(), int64(s.Expire/time.Second), s.UserBuf))
	if !hmac.Equal(got, want) {
		return ErrBadSignature
	}
	if s.Identifier != identifier {
		return fmt.Errorf("%w: issued for %q, presented for %q", ErrIdentifier, s.Identifier, identifier)
	}
	if s.SDKAppID != sdkAppID {
		return fmt.Errorf("%w: issued for %d, presented for %d", ErrSDKAppID, s.SDKAppID, sdkAppID)
	}
	if now.After(s.ExpiresAt()) {
		return fmt.Errorf("%w: valid until %s", ErrExpired, s.ExpiresAt().Format(time.RFC3339))
	}
	return nil
}
