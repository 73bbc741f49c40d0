// Package env reads the services' configuration from environment variables, the way ECS hands
// it over, and names the variable in every error so a misconfigured task says what to fix.
package env

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// LookupFunc finds an environment variable; os.LookupEnv in production, a map in tests.
type LookupFunc func(key string) (string, bool)

// Reader reads variables through a LookupFunc and remembers the first error, so a config
// loader can read every variable and check once at the end.
type Reader struct {
	lookup LookupFunc
	err    error
}

// NewReader returns a Reader over lookup (os.LookupEnv when nil).
func NewReader(lookup LookupFunc) *Reader {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return &Reader{lookup: lookup}
}

// Err returns the first error met so far.
func (r *Reader) Err() error { return r.err }

func (r *Reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// String returns the variable, or fallback when it is unset or empty.
func (r *Reader) String(key, fallback string) string {
	if v, ok := r.lookup(key); ok && v != "" {
		return v
	}
	return fallback
}

// Required returns the variable and records an error when it is unset or empty.
func (r *Reader) Required(key string) string {
	v, ok := r.lookup(key)
	if !ok || v == "" {
		r.fail(fmt.Errorf("%s is required", key))
	}
	return v
}

// OneOf returns the variable, or fallback when unset, and records an error when the value is
// not one of allowed.
func (r *Reader) OneOf(key, fallback string, allowed ...string) string {
	v := r.String(key, fallback)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(fmt.Errorf("%s=%q must be one of %v", key, v, allowed))
	return fallback
}

// Port returns the variable as a TCP port number (1-65535), or fallback when unset.
func (r *Reader) Port(key string, fallback int) int {
	v := r.String(key, "")
	if v == "" {
		return fallback
	}
	port, err := strconv.Atoi(v)
	if err != nil || port < 1 || port > 65535 {
		r.fail(fmt.Errorf("%s=%q is not a TCP port", key, v))
		return fallback
	}
	return port
}

// IntBetween returns the variable as an integer from min to max, or fallback when unset.
func (r *Reader) IntBetween(key string, fallback, min, max int) int {
	v := r.String(key, "")
	if v == "" {
		return fallback
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		r.fail(fmt.Errorf("%s=%q is not an integer from %d to %d", key, v, min, max))
		return fallback
	}
	return n
}

// Duration returns the variable parsed by time.ParseDuration (e.g. "500ms", "3s"), or
// fallback when unset. Zero or negative durations are refused: every caller uses it as a limit.
func (r *Reader) Duration(key string, fallback time.Duration) time.Duration {
	v := r.String(key, "")
	if v == "" {
		return fallback
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(fmt.Errorf("%s=%q is not a positive duration such as 500ms or 3s", key, v))
		return fallback
	}
	return d
}

// Bool returns the variable parsed by strconv.ParseBool, or fallback when unset.
func (r *Reader) Bool(key string, fallback bool) bool {
	v := r.String(key, "")
	if v == "" {
		return fallback
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(fmt.Errorf("%s=%q is not a boolean", key, v))
		return fallback
	}
	return b
}

// MapLookup adapts a map to a LookupFunc, for tests.
func MapLookup(vars map[string]string) LookupFunc {
	return func(key string) (string, bool) {
		v, ok := vars[key]
		return v, ok
	}
}
