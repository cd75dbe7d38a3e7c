package usersig

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// The known answer: a usersig made by a reference implementation.
const (
	katKey        = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	katAppID      = 1400000000
	katIdentifier = "administrator"
	katTime       = 1700000000
	katExpire     = 86400
	katSig        = "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60="
	katUserSig    = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwokpuZl5mcUlRYkl*UVQBcUp2YkFBZkpSlaGJgZQAJFJrSjILEpVsrIwM4EJlWTmAgUMzVEVFmemAw2v9HFM1S43Dw9NDS0tTAqzzNAPiTC3KDUyzA9xz9TOtIwqMCw1DijIizQzsFWqBQC8iDOS"
)

func TestKnownAnswerParse(t *testing.T) {
	s, err := Parse(katUserSig)
	if err != nil {
		t.Fatal(err)
	}
	want := Sig{
		Version:    "2.0",
		Identifier: katIdentifier,
		SDKAppID:   katAppID,
		Time:       time.Unix(katTime, 0).UTC(),
		Expire:     katExpire * time.Second,
		Signature:  katSig,
	}
	if s != want {
		t.Fatalf("Parse = %+v, want %+v", s, want)
	}
	if got := s.ExpiresAt(); !got.Equal(time.Unix(katTime+katExpire, 0)) {
		t.Fatalf("ExpiresAt = %v", got)
	}
}

func TestKnownAnswerGenerate(t *testing.T) {
	u, err := Generate(katKey, katAppID, katIdentifier, time.Unix(katTime, 0), katExpire*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if s.Signature != katSig {
		t.Fatalf("TLS.sig = %q, want %q", s.Signature, katSig)
	}
	if strings.ContainsAny(u, "+/=") {
		t.Fatalf("usersig %q is not URL-safe", u)
	}
}

func TestKnownAnswerVerify(t *testing.T) {
	last := time.Unix(katTime+katExpire, 0)
	if err := Verify(katUserSig, katKey, katAppID, katIdentifier, time.Unix(katTime, 0)); err != nil {
		t.Errorf("at issue time: %v", err)
	}
	if err := Verify(katUserSig, katKey, katAppID, katIdentifier, last); err != nil {
		t.Errorf("at the last valid second: %v", err)
	}
	if err := Verify(katUserSig, katKey, katAppID, katIdentifier, last.Add(time.Second)); !errors.Is(err, ErrExpired) {
		t.Errorf("one second later: %v, want ErrExpired", err)
	}
}

func TestVerifyErrors(t *testing.T) {
	now := time.Unix(katTime+60, 0)
	// A genuine usersig whose fields were altered after signing.
	tampered := encode(t, `{"TLS.ver":"2.0","TLS.identifier":"administrator","TLS.sdkappid":1400000000,`+
		`"TLS.expire":999999,"TLS.time":1700000000,"TLS.sig":"`+katSig+`"}`)
	tests := []struct {
		name       string
		usersig    string
		key        string
		appID      uint64
		identifier string
		want       error
	}{
		{"wrong key", katUserSig, strings.Repeat("0", 64), katAppID, katIdentifier, ErrBadSignature},
		{"key hex-decoded is not the key", katUserSig, string(mustHex(katKey)), katAppID, katIdentifier, ErrBadSignature},
		{"altered fields", tampered, katKey, katAppID, katIdentifier, ErrBadSignature},
		{"other identifier", katUserSig, katKey, katAppID, "admin", ErrIdentifier},
		{"other sdkappid", katUserSig, katKey, 1400000001, katIdentifier, ErrSDKAppID},
		{"garbage", "not a usersig!", katKey, katAppID, katIdentifier, ErrMalformed},
		{"empty", "", katKey, katAppID, katIdentifier, ErrMalformed},
		{"truncated", katUserSig[:40], katKey, katAppID, katIdentifier, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.usersig, tt.key, tt.appID, tt.identifier, now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			assertNoSecrets(t, err, tt.key, tt.usersig)
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := map[string]string{
		"empty":              "",
		"not base64":         "%%%%",
		"base64, not zlib":   base64.StdEncoding.EncodeToString([]byte("hello world")),
		"zlib, not JSON":     encode(t, "hello"),
		"JSON array":         encode(t, `[1,2]`),
		"wrong version":      encode(t, `{"TLS.ver":"1.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1,"TLS.sig":"x"}`),
		"no identifier":      encode(t, `{"TLS.ver":"2.0","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1,"TLS.sig":"x"}`),
		"no sdkappid":        encode(t, `{"TLS.ver":"2.0","TLS.identifier":"a","TLS.expire":1,"TLS.time":1,"TLS.sig":"x"}`),
		"no time":            encode(t, `{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1,"TLS.sig":"x"}`),
		"no expire":          encode(t, `{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.time":1,"TLS.sig":"x"}`),
		"no sig":             encode(t, `{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1}`),
		"negative time":      encode(t, `{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":-1,"TLS.sig":"x"}`),
		"huge expire":        encode(t, `{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1e30,"TLS.time":1,"TLS.sig":"x"}`),
		"sdkappid not a num": encode(t, `{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":"abc","TLS.expire":1,"TLS.time":1,"TLS.sig":"x"}`),
		"zip bomb":           encode(t, `{"TLS.ver":"2.0","TLS.identifier":"`+strings.Repeat("a", maxPayload)+`"}`),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %v, want ErrMalformed", err)
			}
			assertNoSecrets(t, err, in)
			if err := Verify(in, katKey, 1, "a", time.Unix(1, 0)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseAcceptsStringNumbersAndNoPadding(t *testing.T) {
	u := encode(t, `{"TLS.ver":"2.0","TLS.identifier":"administrator","TLS.sdkappid":"1400000000",`+
		`"TLS.expire":"86400","TLS.time":"1700000000","TLS.sig":"`+katSig+`"}`)
	u = strings.TrimRight(u, "_")
	if err := Verify(u, katKey, katAppID, katIdentifier, time.Unix(katTime, 0)); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	key := "a secret key with spaces & symbols +/="
	for _, id := range []string{"admin", "管理员", `we"ird<id>`} {
		u, err := Generate(key, 1600012345, id, now, 2*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(u, key, 1600012345, id, now.Add(2*time.Hour)); err != nil {
			t.Errorf("%s: %v", id, err)
		}
		if err := Verify(u, key, 1600012345, id, now.Add(2*time.Hour+time.Second)); !errors.Is(err, ErrExpired) {
			t.Errorf("%s: after expiry: %v", id, err)
		}
		s, err := Parse(u)
		if err != nil || s.Identifier != id || !s.Time.Equal(now) || s.Expire != 2*time.Hour {
			t.Errorf("%s: Parse = %+v, %v", id, s, err)
		}
	}
}

func TestGenerateRejects(t *testing.T) {
	now := time.Unix(katTime, 0)
	for name, f := range map[string]func() error{
		"empty key":        func() error { _, err := Generate("", 1, "a", now, time.Hour); return err },
		"empty identifier": func() error { _, err := Generate("k", 1, "", now, time.Hour); return err },
		"short lifetime":   func() error { _, err := Generate("k", 1, "a", now, time.Millisecond); return err },
		"verify empty key": func() error { return Verify(katUserSig, "", katAppID, katIdentifier, now) },
	} {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(katUserSig)
	f.Add("")
	f.Add("eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwokpuZl5mcUlRYkl")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse error %v does not wrap ErrMalformed", err)
			}
			return
		}
		_ = s.ExpiresAt()
		_ = Verify(in, katKey, s.SDKAppID, s.Identifier, s.Time)
	})
}

// encode packs a JSON text the way a usersig is packed.
func encode(t *testing.T, js string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write([]byte(js))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return urlSafe.Replace(base64.StdEncoding.EncodeToString(buf.Bytes()))
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if len(s) >= 8 && strings.Contains(err.Error(), s) {
			t.Fatalf("error %q contains a secret", err)
		}
	}
}
