package alarms

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/apps/contract"
)

// jsonEquals is the one form of CloudWatch Logs' JSON filter pattern the alarms use,
// { $.field = "string" } ("Using filter patterns to match terms in JSON log events",
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):
// the event must be a JSON object whose field equals the string, where '*' in the string
// matches any run of characters. moto cannot stand in here: its filter_log_events treats
// every pattern that starts with '{' as matching everything (moto/logs/utils.py, 5.2.1).
var jsonEquals = regexp.MustCompile(`^\{ \$\.([A-Za-z_][A-Za-z0-9_]*) = "([^"\\]*)" \}$`)

// cloudWatchMatches evaluates pattern against one log event as CloudWatch Logs would for that
// form; any other pattern is an error rather than a guess.
func cloudWatchMatches(pattern, event string) (bool, error) {
	m := jsonEquals.FindStringSubmatch(pattern)
	if m == nil {
		return false, errors.New("not a { $.field = \"string\" } pattern")
	}
	var fields map[string]any
	if json.Unmarshal([]byte(event), &fields) != nil {
		return false, nil // not a JSON event: a JSON pattern never matches it
	}
	value, ok := fields[m[1]].(string)
	if !ok {
		return false, nil
	}
	// '*' is the only wildcard; path.Match's other metacharacters are escaped.
	glob := strings.NewReplacer(`?`, `\?`, `[`, `\[`, `\`, `\\`).Replace(m[2])
	return path.Match(glob, value)
}

// jsonLine is the line the apps write: slog's JSON handler, as in apps/*/main.go.
func jsonLine(t *testing.T, msg string, attrs ...any) string {
	t.Helper()
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).With("service", "products").Error(msg, attrs...)
	return strings.TrimSpace(b.String())
}

// The metric filter counts exactly the lines whose msg is the apps' message constant, and no
// line that merely contains it.
func TestTheAuthFailurePatternMatchesTheAppsLogLine(t *testing.T) {
	pattern, err := DBAuthFailurePattern()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		event string
		want  bool
	}{
		{jsonLine(t, contract.DatabaseAuthFailedMessage, "status", 503, "error", "FATAL: password authentication failed (SQLSTATE 28P01)", "sqlstate", "28P01"), true},
		// A message that contains the words but is not the constant is not counted:
		// this is why every such log line must use the constant as its msg.
		{jsonLine(t, "not ready: "+contract.DatabaseAuthFailedMessage, "sqlstate", "28P01"), false},
		{jsonLine(t, "database unavailable", "error", contract.DatabaseAuthFailedMessage), false},
		{contract.DatabaseAuthFailedMessage, false}, // a plain-text line
	} {
		got, err := cloudWatchMatches(pattern, c.event)
		if err != nil || got != c.want {
			t.Errorf("%s on %s: %v (%v), want %v", pattern, c.event, got, err, c.want)
		}
	}
	// FilterPattern's length limit (botocore logs-2014-03-28 shape FilterPattern: max 1024).
	if len(pattern) > 1024 {
		t.Errorf("pattern of %d characters", len(pattern))
	}
}

// The evaluator itself: the wildcard and exactness it claims.
func TestCloudWatchMatchesHonoursWildcardsAndExactness(t *testing.T) {
	line := jsonLine(t, "database authentication failed")
	for pattern, want := range map[string]bool{
		`{ $.msg = "database*" }`:                   true,
		`{ $.msg = "*authentication*" }`:            true,
		`{ $.msg = "database" }`:                    false,
		`{ $.level = "ERROR" }`:                     true,
		`{ $.missing = "database authentication" }`: false,
	} {
		if got, err := cloudWatchMatches(pattern, line); err != nil || got != want {
			t.Errorf("%s: %v (%v), want %v", pattern, got, err, want)
		}
	}
	if _, err := cloudWatchMatches(`"database authentication failed"`, line); err == nil {
		t.Error("a term pattern was evaluated as if it were a JSON pattern")
	}
}

// A message the pattern syntax cannot carry exactly is refused, not matched some other way.
func TestAMessageWithPatternSyntaxIsRefused(t *testing.T) {
	for _, msg := range []string{`say "hi"`, `a*b`, `back\slash`, ``} {
		if p, err := jsonEqualsPattern("msg", msg); err == nil {
			t.Errorf("%q gave pattern %s", msg, p)
		}
	}
}
