// Package httpjson writes JSON answers, and makes the router's own 404 and 405 answers JSON too,
// so that clients of both services only ever parse one error shape: {"error": "..."}.
package httpjson

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// ErrorBody is the body of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// Write answers with status and v encoded as JSON.
func Write(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error (an unencodable type) gets here.
		status = http.StatusInternalServerError
		body = []byte(`{"error":"internal error: response not encodable"}`)
	}
	WriteRaw(w, status, body)
}

// WriteRaw answers with status and body, which must already be JSON.
func WriteRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

// WriteError answers with status and {"error": message}.
func WriteError(w http.ResponseWriter, status int, message string) {
	Write(w, status, ErrorBody{Error: message})
}

// Router wraps mux so that requests it has no route for get a JSON 404, and requests whose path
// exists with another method get a JSON 405 with the Allow header the mux computed. A query
// string that does not parse unambiguously gets a JSON 400 before any route runs (QueryProblem).
func Router(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if problem := QueryProblem(r.URL.RawQuery); problem != "" {
			WriteError(w, http.StatusBadRequest, problem)
			return
		}
		// A path not in canonical form ("/api/1.0/payments/..", "/api//x") names nothing here:
		// the mux would redirect it (307) to its cleaned form, or, when that has no route
		// either, answer a 307 whose Location the writer below drops. Our APIs do not redirect.
		if !canonical(r.URL.Path) {
			WriteError(w, http.StatusNotFound, http.StatusText(http.StatusNotFound))
			return
		}
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No pattern: the mux would answer 404 or 405 in plain text. Let it decide which, keep
		// its status (anything but 405 is a 404) and Allow header, and replace the body.
		decision := &statusOnly{header: http.Header{}}
		mux.ServeHTTP(decision, r)
		status := decision.status
		if status != http.StatusMethodNotAllowed {
			status = http.StatusNotFound
		} else if allow := decision.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		WriteError(w, status, http.StatusText(status))
	})
}

// canonical reports whether p is what the mux would clean it to (path.Clean, keeping a
// trailing slash).
func canonical(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean == p
}

// MaxQueryParams is the most parameters a query string may have (Go's own url.ParseQuery
// default, which a GODEBUG setting could change; here it is fixed).
const MaxQueryParams = 10_000

// QueryProblem says what is wrong with a raw query string, or "" when nothing is: more than
// MaxQueryParams parameters, a ';' (not a separator since Go 1.17, silently dropped by
// URL.Query), a bad escape, or a parameter given twice (which value counts would be a guess,
// and proxies guess differently).
func QueryProblem(raw string) string {
	if raw == "" {
		return ""
	}
	if strings.Count(raw, "&")+1 > MaxQueryParams {
		return "query string: more than " + strconv.Itoa(MaxQueryParams) + " parameters"
	}
	if strings.Contains(raw, ";") {
		return "query string: ';' is not a separator, use '&' (or escape it as %3B)"
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return "query string: malformed escape"
	}
	for key, v := range values {
		if len(v) > 1 {
			if len(key) > 64 {
				key = key[:64] + "..."
			}
			return "query string: parameter " + strconv.Quote(key) + " is given more than once"
		}
	}
	return ""
}

// statusOnly records the status and headers of an answer and drops its body.
type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(status int)      { s.status = status }
