package httpjson

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
