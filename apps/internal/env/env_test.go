package env

import (
	"strings"
	"testing"
	"time"
)

func TestReaderDefaultsAndValues(t *testing.T) {
	r := NewReader(MapLookup(map[string]string{
		"SET": "value", "EMPTY": "", "PORT": "9090", "WAIT": "250ms", "ON": "true", "MODE": "b", "N": "7",
	}))
	if got := r.String("SET", "x"); got != "value" {
		t.Errorf("String(SET) = %q", got)
	}
	if got := r.String("EMPTY", "fallback"); got != "fallback" {
		t.Errorf("String(EMPTY) = %q, want the fallback: ECS may pass an empty value", got)
	}
	if got := r.String("UNSET", "fallback"); got != "fallback" {
		t.Errorf("String(UNSET) = %q", got)
	}
	if got := r.Port("PORT", 8080); got != 9090 {
		t.Errorf("Port(PORT) = %d", got)
	}
	if got := r.Port("NO_PORT", 8080); got != 8080 {
		t.Errorf("Port(NO_PORT) = %d", got)
	}
	if got := r.Duration("WAIT", time.Second); got != 250*time.Millisecond {
		t.Errorf("Duration(WAIT) = %s", got)
	}
	if got := r.Bool("ON", false); !got {
		t.Error("Bool(ON) = false")
	}
	if got := r.OneOf("MODE", "a", "a", "b"); got != "b" {
		t.Errorf("OneOf(MODE) = %q", got)
	}
	if got := r.IntBetween("N", 1, 0, 10); got != 7 {
		t.Errorf("IntBetween(N) = %d", got)
	}
	if got := r.IntBetween("NO_N", 3, 0, 10); got != 3 {
		t.Errorf("IntBetween(NO_N) = %d, want the fallback", got)
	}
	if got := r.Required("SET"); got != "value" {
		t.Errorf("Required(SET) = %q", got)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("Err() = %v after valid reads", err)
	}
}

func TestReaderNamesTheBadVariable(t *testing.T) {
	cases := map[string]func(r *Reader){
		"MISSING": func(r *Reader) { r.Required("MISSING") },
		"PORT":    func(r *Reader) { r.Port("PORT", 8080) },
		"WAIT":    func(r *Reader) { r.Duration("WAIT", time.Second) },
		"ON":      func(r *Reader) { r.Bool("ON", false) },
		"MODE":    func(r *Reader) { r.OneOf("MODE", "a", "a", "b") },
		"N":       func(r *Reader) { r.IntBetween("N", 1, 0, 10) },
		"M":       func(r *Reader) { r.IntBetween("M", 1, 0, 10) },
	}
	vars := map[string]string{"PORT": "70000", "WAIT": "-1s", "ON": "maybe", "MODE": "c", "N": "11", "M": "ten"}
	for key, read := range cases {
		r := NewReader(MapLookup(vars))
		read(r)
		if err := r.Err(); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("reading %s=%q: error %v, want one naming %s", key, vars[key], err, key)
		}
	}
}

func TestReaderKeepsTheFirstError(t *testing.T) {
	r := NewReader(MapLookup(nil))
	r.Required("FIRST")
	r.Required("SECOND")
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "FIRST") {
		t.Fatalf("Err() = %v, want the first missing variable", err)
	}
}
