package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/internal/testenv"
)

// readOnce is the credential handling products had before: the credential is read once, at
// start, and reused for every connection after. It breaks the drill on purpose.
type readOnce struct {
	src  credentialSource
	once sync.Once
	pw   string
	err  error
}

func (r *readOnce) password(ctx context.Context) (string, error) {
	r.once.Do(func() { r.pw, r.err = r.src.password(ctx) })
	return r.pw, r.err
}

// drillRate is the steady load of the drills, in requests per second; drillConns the pool's
// connections open when the credential rotates.
const (
	drillRate  = 100
	drillConns = 4
)

// rotationDrill serves products (its routes, pool and credential source as in main, on a
// loopback HTTP server) under drillRate requests per second for 2 s, then rotates the app
// role's credential the way a rotation does (the password changes in the database, then the
// credential source returns the new one) and terminates every session of the role, so the pool
// must open new connections; the load goes on 3 s more. wrap, when not nil, wraps the
// credential source.
func rotationDrill(t *testing.T, wrap func(credentialSource) credentialSource) (testenv.LoadResult, fixture) {
	t.Helper()
	a := newApp(t, sharedPostgres, wrap)
	// Several open connections, so that the termination below cuts more than the one the load
	// happens to use.
	var held []*pgxpool.Conn
	for range drillConns {
		c, err := a.store.pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	for _, c := range held {
		c.Release()
	}
	srv := httptest.NewServer(a.routes())
	t.Cleanup(srv.Close)
	load := testenv.StartLoad(srv.URL+"/api/1.0/products", drillRate)
	time.Sleep(2 * time.Second)

	ctx := context.Background()
	connsBefore := a.store.pool.Stat().NewConnsCount()
	password := testenv.RandomPassword()
	if err := sharedPostgres.SetRolePassword(ctx, a.db.role, password); err != nil {
		t.Fatal(err)
	}
	if err := testenv.WritePasswordFile(a.cfg.PasswordFile, password); err != nil {
		t.Fatal(err)
	}
	terminated, err := sharedPostgres.TerminateBackends(ctx, a.db.role)
	if err != nil {
		t.Fatal(err)
	}
	if terminated < drillConns {
		t.Fatalf("%d sessions of the app role terminated, want at least %d: the drill would prove little", terminated, drillConns)
	}

	time.Sleep(3 * time.Second)
	res := load.Stop()
	t.Logf("%s; %d sessions terminated; %d new connections after the rotation; %d reads retried",
		res, terminated, a.store.pool.Stat().NewConnsCount()-connsBefore, strings.Count(a.logs.String(), "retrying a read"))
	// A loaded machine (CI shares it) sends fewer, and failing reads take longer; half the
	// planned load still puts the rotation under load.
	if res.Sent < 5*drillRate/2 {
		t.Fatalf("only %d requests sent in 5 s at %d/s: the load did not hold", res.Sent, drillRate)
	}
	return res, a
}

// The credential rotates and every connection is cut under steady load: no request fails, and
// products reconnects with the new credential by itself.
func TestRotationDrill(t *testing.T) {
	res, a := rotationDrill(t, nil)
	if res.Failed() != 0 {
		t.Fatalf("%d of %d requests failed across the rotation; first: %s", res.Failed(), res.Sent, strings.Join(res.Failures[:min(5, len(res.Failures))], "; "))
	}
	// The pool did reconnect, as the new role password: it is still serving.
	if rec := serve(a.routes(), "GET", "/readyz"); rec.Code != http.StatusOK {
		t.Fatalf("readyz after the drill: %d %s", rec.Code, rec.Body)
	}
}

// The same drill with the credential read once at start, as products did before: the new
// connections use the old password, the database refuses it, and requests fail, named as an
// authentication failure.
func TestRotationDrillFailsWhenTheCredentialIsReadOnce(t *testing.T) {
	res, a := rotationDrill(t, func(src credentialSource) credentialSource { return &readOnce{src: src} })
	if res.Failed() == 0 {
		t.Fatalf("no request failed with the credential read once at start: the drill cannot tell a broken rotation (%s)", res)
	}
	// Every failure products answered is a 503. Failing reads take longer, so on a loaded machine
	// the load generator may find all its slots in flight and skip a request ("overloaded"):
	// that is the drill's own limit, not an answer of products.
	if res.Statuses[http.StatusServiceUnavailable] == 0 {
		t.Errorf("failures %s: want 503s", res)
	}
	for _, f := range res.Failures {
		if !strings.Contains(f, "status 503 ") && !strings.Contains(f, "overloaded: ") {
			t.Errorf("a failure that is neither a 503 nor the load's own overload: %s", f)
		}
	}
	logs := a.logs.String()
	if !strings.Contains(logs, `"msg":"database authentication failed"`) || !strings.Contains(logs, `"sqlstate":"28P01"`) {
		t.Fatalf("the log does not name the authentication failure with its SQLSTATE:\n%s", logs)
	}
}

// A credential the database refuses (SQLSTATE class 28) is an outage of the database for
// products, answered 503 and logged by name, not a 500; and it heals without a restart once
// the credential source has the right one.
func TestAuthenticationFailureAnswers503(t *testing.T) {
	a := newApp(t, sharedPostgres, nil)
	h := a.routes()
	ctx := context.Background()
	if rec := serve(h, "GET", "/api/1.0/products"); rec.Code != http.StatusOK {
		t.Fatalf("before: %d %s", rec.Code, rec.Body)
	}

	cases := []struct {
		name, sqlstate string
		breakIt        string // run as the superuser
	}{
		{"wrong password at reconnect", "28P01", "ALTER ROLE %s PASSWORD 'changed-behind-its-back'"},
		{"role not allowed to log in", "28000", "ALTER ROLE %s NOLOGIN"},
	}
	for _, c := range cases {
		t.Run(c.sqlstate, func(t *testing.T) {
			role := a.db.role
			if _, err := a.master.Exec(ctx, strings.Replace(c.breakIt, "%s", role, 1)); err != nil {
				t.Fatal(err)
			}
			if _, err := sharedPostgres.TerminateBackends(ctx, role); err != nil {
				t.Fatal(err)
			}
			logsBefore := len(a.logs.String())

			// Each place that meets the failure logs it so that the stack's metric filter
			// counts it: the API route, then /readyz.
			rec := serve(h, "GET", "/api/1.0/products")
			if n := filterMatches(t, contract.DatabaseAuthFailedLogFilter, a.logs.String()[logsBefore:], c.sqlstate); n == 0 {
				t.Errorf("%s: no log line of the API route matches the metric filter %s:\n%s", c.name, contract.DatabaseAuthFailedLogFilter, a.logs.String()[logsBefore:])
			}
			readyBefore := len(a.logs.String())
			serve(h, "GET", "/readyz")
			if n := filterMatches(t, contract.DatabaseAuthFailedLogFilter, a.logs.String()[readyBefore:], c.sqlstate); n == 0 {
				t.Errorf("%s: no log line of /readyz matches the metric filter %s:\n%s", c.name, contract.DatabaseAuthFailedLogFilter, a.logs.String()[readyBefore:])
			}

			rec = serve(h, "GET", "/api/1.0/products")
			if rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("%s: status %d %s, want 503", c.name, rec.Code, rec.Body)
			}
			if body := decode[map[string]string](t, rec); body["error"] != "database unavailable" {
				t.Fatalf("%s: body %v", c.name, body)
			}
			logs := a.logs.String()[logsBefore:]
			if !strings.Contains(logs, `"msg":"database authentication failed"`) || !strings.Contains(logs, `"sqlstate":"`+c.sqlstate+`"`) {
				t.Fatalf("%s: no log line naming the authentication failure and SQLSTATE %s:\n%s", c.name, c.sqlstate, logs)
			}
			ready := serve(h, "GET", "/readyz")
			if body := decode[readyBody](t, ready); ready.Code != http.StatusServiceUnavailable || body.Status != "not ready" || body.Error != "database unavailable" {
				t.Fatalf("%s: readyz %d %s, want 503 not ready, database unavailable", c.name, ready.Code, ready.Body)
			}
			// Nothing of the cause reaches the caller: no SQLSTATE, no driver text.
			for _, leak := range []string{c.sqlstate, "sqlstate", "authentication", "password", "SQLSTATE", "role", "FATAL"} {
				if strings.Contains(ready.Body.String(), leak) {
					t.Errorf("%s: readyz body %s reveals %q", c.name, ready.Body, leak)
				}
			}

			// Repair: the role may log in again with the password the source gives.
			password := testenv.RandomPassword()
			if _, err := a.master.Exec(ctx, "ALTER ROLE "+role+" LOGIN"); err != nil {
				t.Fatal(err)
			}
			if err := sharedPostgres.SetRolePassword(ctx, role, password); err != nil {
				t.Fatal(err)
			}
			if err := testenv.WritePasswordFile(a.cfg.PasswordFile, password); err != nil {
				t.Fatal(err)
			}
			if rec := serve(h, "GET", "/api/1.0/products"); rec.Code != http.StatusOK {
				t.Fatalf("%s: after the repair: %d %s", c.name, rec.Code, rec.Body)
			}
		})
	}
}

// jsonFilterPattern is the one form of CloudWatch Logs JSON filter pattern the stack uses:
// { $.<field> = "<value>" }, an exact match of a top-level string field.
var jsonFilterPattern = regexp.MustCompile(`^\{ \$\.([A-Za-z_][A-Za-z0-9_]*) = "([^"\\]*)" \}$`)

// filterMatches counts the JSON log lines of logs that pattern matches, as CloudWatch Logs
// would, and that carry the SQLSTATE (the operator's next question).
func filterMatches(t *testing.T, pattern, logs, sqlstate string) int {
	t.Helper()
	m := jsonFilterPattern.FindStringSubmatch(pattern)
	if m == nil {
		t.Fatalf("filter pattern %q is not of the form this test evaluates", pattern)
	}
	field, value := m[1], m[2]
	n := 0
	for line := range strings.Lines(logs) {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		if entry[field] == value && entry["sqlstate"] == sqlstate {
			n++
		}
	}
	return n
}
