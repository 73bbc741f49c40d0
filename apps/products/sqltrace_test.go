package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/apps/internal/tracing"
	"github.com/meshtrace/meshtrace/internal/testenv"
)

// tracedRoutes returns a's routes traced as in main, with segments going to a new listener.
func tracedRoutes(t *testing.T, a *app) (http.Handler, *testenv.SegmentListener) {
	t.Helper()
	segments := testenv.StartSegmentListener(t)
	rules := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(rules, []byte(testenv.SampleAllRules), 0o644); err != nil {
		t.Fatal(err)
	}
	tracer, err := tracing.Setup(tracing.Config{Service: "products", Mode: tracing.ModeXRay, DaemonAddr: segments.Addr(), SamplingRulesFile: rules})
	if err != nil {
		t.Fatal(err)
	}
	return tracer.Middleware(a.routes()), segments
}

// traceOf returns the one segment document of the trace rec's request started.
func traceOf(t *testing.T, segments *testenv.SegmentListener, rec interface{ Header() http.Header }) testenv.Segment {
	t.Helper()
	header := rec.Header().Get("X-Amzn-Trace-Id")
	traceID := strings.TrimPrefix(strings.Split(header, ";")[0], "Root=")
	docs, err := segments.WaitForTrace(traceID, 1, 5*time.Second)
	if err != nil {
		t.Fatalf("trace header %q: %v", header, err)
	}
	return docs[0]
}

func sqlSubsegments(seg testenv.Segment) []testenv.Segment {
	return seg.Find(func(s testenv.Segment) bool { return s.SQL != nil })
}

func TestEachQueryIsAnSQLSubsegment(t *testing.T) {
	a := newApp(t, sharedPostgres, nil)
	cfg := a.cfg
	h, segments := tracedRoutes(t, a.app)

	rec := serve(h, "GET", "/api/1.0/products")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	seg := traceOf(t, segments, rec)
	queries := sqlSubsegments(seg)
	if len(queries) != 1 {
		t.Fatalf("%d SQL subsegments, want 1 for one query: %+v", len(queries), seg)
	}
	q := queries[0]
	if q.Name != cfg.Name+"@"+cfg.Host || q.Namespace != "remote" || q.Fault || q.Duration() <= 0 {
		t.Errorf("subsegment %q namespace %q fault %v duration %s", q.Name, q.Namespace, q.Fault, q.Duration())
	}
	want := testenv.SQL{
		URL:            "postgresql://" + cfg.Host + ":" + itoa(cfg.Port) + "/" + cfg.Name,
		DatabaseType:   "PostgreSQL",
		DriverVersion:  "github.com/jackc/pgx/v5",
		User:           cfg.User,
		SanitizedQuery: listProductsSQL, // the first page: no ?after=
	}
	got := *q.SQL
	if !strings.HasPrefix(got.DatabaseVersion, "15.") {
		t.Errorf("database_version %q, want the server's 15.x", got.DatabaseVersion)
	}
	got.DatabaseVersion = ""
	if got != want {
		t.Errorf("sql block\n got %+v\nwant %+v", got, want)
	}
	password, err := os.ReadFile(cfg.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range segments.RawSegments() {
		if strings.Contains(raw, strings.TrimSpace(string(password))) {
			t.Fatalf("the password is in a segment document: %s", raw)
		}
	}
}

func TestAnUnreachableDatabaseIsAFaultedSQLSubsegment(t *testing.T) {
	a := newApp(t, sharedPostgres, nil)
	unreachable := a.cfg
	unreachable.Port = 1 // nothing listens there
	a.store.pool = newPool(t, unreachable, nil)
	h, segments := tracedRoutes(t, a.app)

	rec := serve(h, "GET", "/api/1.0/products")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	seg := traceOf(t, segments, rec)
	queries := sqlSubsegments(seg)
	if len(queries) != 1 {
		t.Fatalf("%d SQL subsegments, want 1 recording the failed connection: %+v", len(queries), seg)
	}
	q := queries[0]
	if !q.Fault || q.Namespace != "remote" || q.Cause == nil || len(q.Cause.Exceptions) == 0 ||
		!strings.Contains(q.Cause.Exceptions[0].Message, "acquire a database connection") {
		t.Fatalf("failed connection subsegment %+v, want a remote fault with the connection error", q)
	}
	if !seg.Fault || seg.HTTP.Response.Status != http.StatusServiceUnavailable {
		t.Errorf("products segment fault %v status %d, want a fault with 503", seg.Fault, seg.HTTP.Response.Status)
	}
}
