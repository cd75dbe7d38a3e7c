package fakeim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// fail answers a request-level error and counts it.
func (s *Server) fail(w http.ResponseWriter, api API, code int, info string) {
	s.record(api, code, info)
	writeJSON(w, failure(code, info))
}

// record counts and logs a request-level error.
func (s *Server) record(api API, code int, info string) {
	s.stats.update(func(c *counters) {
		c.errorCodes[code]++
		if isClientBug(code) {
			c.malformedRequests++
		}
	})
	s.logf("fakeim: %s: ErrorCode %d: %s", api, code, info)
}

func (s *Server) fault(api API, f Fault) {
	s.stats.update(func(c *counters) {
		c.faults[f]++
		c.api(api, func(a *APIStats) { a.Faults++ })
	})
	s.logf("fakeim: %s: injected fault %s", api, f)
}

func ok() Status { return Status{ActionStatus: "OK"} }

func failure(code int, info string) Status {
	return Status{ActionStatus: "FAIL", ErrorCode: code, ErrorInfo: info}
}

// statusOf returns the head of an answer.
func statusOf(answer any) Status {
	switch a := answer.(type) {
	case Status:
		return a
	case MarkContactResponse:
		return a.Status
	case SearchContactGroupResponse:
		return a.Status
	case GetContactGroupResponse:
		return a.Status
	}
	return Status{}
}

func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// decodeStrict decodes a request body into v, refusing anything the real
// service would not take and a sloppy client might send: a body that is not
// one JSON object, unknown fields, fields spelled in another case, values of
// the wrong type. The error text is for ErrorInfo.
func decodeStrict(body []byte, v any) error {
	var generic any
	if err := json.Unmarshal(body, &generic); err != nil {
		return fmt.Errorf("body is not JSON: %v", err)
	}
	if _, isObject := generic.(map[string]any); !isObject {
		return errors.New("body is not a JSON object")
	}
	if name, bad := wrongName(generic); bad {
		return fmt.Errorf("unknown field %q", name)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body does not match the API: %v", err)
	}
	return nil
}

// wrongName finds an object key, at any depth, that is not exactly one of
// the wire names.
func wrongName(v any) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if !wireNames[k] {
				return k, true
			}
			if name, bad := wrongName(e); bad {
				return name, true
			}
		}
	case []any:
		for _, e := range v {
			if name, bad := wrongName(e); bad {
				return name, true
			}
		}
	}
	return "", false
}
