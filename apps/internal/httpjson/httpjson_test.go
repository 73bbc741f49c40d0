package httpjson

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRouterAnswersUnknownPathsAndWrongMethodsInJSON(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things", func(w http.ResponseWriter, _ *http.Request) {
		Write(w, http.StatusOK, map[string]int{"things": 3})
	})
	router := Router(mux)

	cases := []struct {
		method, path string
		status       int
		allow        string
		body         string
	}{
		{"GET", "/things", 200, "", `{"things":3}`},
		{"GET", "/nothing", 404, "", `{"error":"Not Found"}`},
		{"POST", "/things", 405, "GET, HEAD", `{"error":"Method Not Allowed"}`},
		{"DELETE", "/nothing", 404, "", `{"error":"Not Found"}`},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, rec.Code, c.status)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", c.method, c.path, ct)
		}
		if allow := rec.Header().Get("Allow"); allow != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, allow, c.allow)
		}
		var got any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Errorf("%s %s: body %q is not JSON", c.method, c.path, rec.Body)
			continue
		}
		if gotJSON, _ := json.Marshal(got); string(gotJSON) != c.body {
			t.Errorf("%s %s: body %s, want %s", c.method, c.path, gotJSON, c.body)
		}
	}
}

func TestWriteRefusesUnencodableValues(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, http.StatusOK, map[string]any{"f": func() {}})
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500 for a value JSON cannot encode", rec.Code)
	}
	var body ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
		t.Fatalf("body %q is not a JSON error", rec.Body)
	}
}

// A path that is not in canonical form ("..", "//") is not redirected by the router (the mux's
// 307 came without a Location through it): it is a JSON 404 like any unknown path.
func TestNonCanonicalPathsAreNotFound(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/1.0/payments", func(w http.ResponseWriter, _ *http.Request) { Write(w, http.StatusOK, "payments") })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { Write(w, http.StatusOK, "root") })
	router := Router(mux)
	for _, path := range []string{"/api/1.0/payments/..", "/api/1.0/payments/../payments", "/api/1.0//payments", "/api/1.0/./payments", "/api/1.0/payments/"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = path // as a raw request line carries it, uncleaned
		router.ServeHTTP(rec, req)
		var body ErrorBody
		if rec.Code != http.StatusNotFound || rec.Header().Get("Location") != "" || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error != "Not Found" {
			t.Errorf("GET %s: %d Location %q %s, want a JSON 404", path, rec.Code, rec.Header().Get("Location"), rec.Body)
		}
	}
}

// A query string that does not parse unambiguously is a JSON 400 on every route, before the
// handler runs (URL.Query would drop what it cannot parse, and the handler would serve its
// default page).
func TestMalformedQueryStringsAre400(t *testing.T) {
	handled := 0
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things", func(w http.ResponseWriter, _ *http.Request) { handled++; Write(w, http.StatusOK, "things") })
	router := Router(mux)
	many := strings.Repeat("a=1&", MaxQueryParams) + "a=1"
	cases := map[string]int{
		"limit=5;after=3":     http.StatusBadRequest,
		"limit=5&limit=6":     http.StatusBadRequest,
		"limit=5&LIMIT=6":     http.StatusOK, // keys are case-sensitive: two parameters
		"limit=%zz":           http.StatusBadRequest,
		"limit=5&after=3":     http.StatusOK,
		"limit=5%3B":          http.StatusOK, // an escaped ';' is data
		many:                  http.StatusBadRequest,
		distinctParams(10000): http.StatusOK,
		distinctParams(10001): http.StatusBadRequest,
	}
	for query, status := range cases {
		handled = 0
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest("GET", "/things?"+query, nil))
		var body ErrorBody
		short := query[:min(len(query), 40)]
		switch {
		case rec.Code != status:
			t.Errorf("?%s: status %d, want %d (%s)", short, rec.Code, status, rec.Body)
		case status == http.StatusBadRequest && (json.Unmarshal(rec.Body.Bytes(), &body) != nil || !strings.HasPrefix(body.Error, "query string: ") || handled != 0):
			t.Errorf("?%s: body %s, handler ran %d times; want a JSON error naming the query string, no handler", short, rec.Body, handled)
		}
	}
}

// distinctParams is a query string of n parameters p0=1&p1=1&...
func distinctParams(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte('&')
		}
		fmt.Fprintf(&b, "p%d=1", i)
	}
	return b.String()
}
