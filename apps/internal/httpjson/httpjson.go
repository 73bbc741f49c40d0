// Package httpjson writes JSON answers, and makes the router's own 404 and 405 answers JSON too,
// so that clients of both services only ever parse one error shape: {"error": "..."}.
package httpjson

import (
	"encoding/json"
	"net/http"
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
// exists with another method get a JSON 405 with the Allow header the mux computed.
func Router(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No pattern: the mux would answer 404 or 405 in plain text. Let it decide which,
		// keep its status and Allow header, and replace the body.
		decision := &statusOnly{header: http.Header{}}
		mux.ServeHTTP(decision, r)
		if allow := decision.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		WriteError(w, decision.status, http.StatusText(decision.status))
	})
}

// statusOnly records the status and headers of an answer and drops its body.
type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(status int)      { s.status = status }
