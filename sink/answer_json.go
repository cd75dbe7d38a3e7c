package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// object is a JSON object's members, by exact name, each value undecoded.
type object map[string]json.RawMessage

// decodeObject decodes one JSON object (and nothing after it), refusing a
// member named twice, in any letter case: encoding/json would keep the
// last, and match names in any case, so that {"ResultCode":51007,
// "resultCode":0} would read as a success. Members are then looked up by
// their exact names.
func decodeObject(raw []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, errors.New("not JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%s, not a JSON object", kind(raw))
	}
	o := object{}
	folded := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errors.New("not JSON")
		}
		key, _ := tok.(string) // json.Decoder gives object keys as strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errors.New("not JSON")
		}
		if f := strings.ToLower(key); folded[f] {
			return nil, fmt.Errorf("member %q given twice", key)
		} else {
			folded[f] = true
		}
		o[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, errors.New("not JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return o, nil
}

// arrayMember returns the elements of a required array member.
func arrayMember(o object, name string) ([]json.RawMessage, error) {
	raw, ok := o[name]
	if !ok {
		return nil, protocolf("%s is missing", name)
	}
	if len(raw) == 0 || raw[0] != '[' {
		return nil, protocolf("%s is %s, not an array", name, kind(raw))
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, protocolf("%s: not JSON", name)
	}
	return elems, nil
}

// jsonInt reads an integer: a JSON number without fraction or exponent
// that fits an int. Its error completes a sentence naming the member.
func jsonInt(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, fmt.Errorf("is %s, not an integer", kind(raw))
	}
	n, err := strconv.ParseInt(string(raw), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("is %s, not a 32-bit integer", short(raw))
	}
	return int(n), nil
}

// jsonString reads a JSON string that holds valid UTF-8. encoding/json
// would replace invalid bytes and unpaired surrogate escapes with U+FFFD,
// silently changing a custom mark that a backup is to restore. Its error
// completes a sentence naming the member.
func jsonString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", fmt.Errorf("is %s, not a string", kind(raw))
	}
	if !utf8.Valid(raw) {
		return "", errors.New("is not valid UTF-8")
	}
	if err := checkSurrogates(raw); err != nil {
		return "", err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("is %s, not a JSON string", short(raw))
	}
	return s, nil
}

// checkSurrogates refuses a \u escape of a UTF-16 surrogate that is not
// one half of a pair. raw is a JSON string literal the decoder accepted.
func checkSurrogates(raw []byte) error {
	hex := func(i int) rune {
		if i+4 > len(raw) {
			return -1
		}
		v, err := strconv.ParseUint(string(raw[i:i+4]), 16, 16)
		if err != nil {
			return -1
		}
		return rune(v)
	}
	bad := errors.New("holds an unpaired UTF-16 surrogate escape")
	for i := 1; i < len(raw)-1; i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if raw[i] != 'u' {
			continue
		}
		r := hex(i + 1)
		i += 4
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if lo := hex(i + 3); lo >= 0xDC00 && lo < 0xE000 {
					i += 6
					continue
				}
			}
			return bad
		case r >= 0xDC00 && r < 0xE000:
			return bad
		}
	}
	return nil
}

// infoMember returns a text member that is only ever printed, or "".
func infoMember(o object, name string) string {
	if raw, ok := o[name]; ok {
		if s, err := jsonString(raw); err == nil {
			return s
		}
	}
	return ""
}

// kind names the JSON type of a value for a message, with the value when it
// is short.
func kind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean (" + short(raw) + ")"
	case '"':
		return "a string (" + short(raw) + ")"
	case '[':
		return "an array"
	case '{':
		return "an object"
	}
	return "the number " + short(raw)
}

// short is a value for a message: its JSON text, cut after 40 bytes.
func short(raw []byte) string {
	s, cut := raw, ""
	if len(s) > 40 {
		s, cut = s[:40], "…"
	}
	return strings.ToValidUTF8(string(s), "?") + cut
}
