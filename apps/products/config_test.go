package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meshtrace/meshtrace/apps/internal/env"
	"github.com/meshtrace/meshtrace/apps/internal/tracing"
)

func itoa(n int) string { return strconv.Itoa(n) }

// minimalEnv is what the stack must set for serving; everything else has a default.
func minimalEnv() map[string]string {
	return map[string]string{
		"PAYMENT_ENDPOINT": "http://payments:8080",
		"DB_HOST":          "db.example.internal",
		"DB_USER":          "products_app",
		"DB_AUTH":          "iam",
		"AWS_REGION":       "eu-west-1",
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(env.MapLookup(minimalEnv()))
	if err != nil {
		t.Fatal(err)
	}
	want := dbConfig{Host: "db.example.internal", Port: 5432, Name: "DataWarehouseX", User: "products_app", SSLMode: "require",
		Auth: authIAM, Region: "eu-west-1", MaxConns: 10, MinConns: 1, QueryTimeout: 2 * time.Second}
	if cfg.DB != want {
		t.Errorf("database settings %+v, want %+v", cfg.DB, want)
	}
	if cfg.Port != 8080 || cfg.PaymentsURL != "http://payments:8080/api/1.0/payments" || cfg.PaymentTimeout != 3*time.Second {
		t.Errorf("port %d, payments %s, timeout %s", cfg.Port, cfg.PaymentsURL, cfg.PaymentTimeout)
	}
	if cfg.Tracing.Mode != tracing.ModeXRay || cfg.Tracing.DaemonAddr != "127.0.0.1:2000" || cfg.Tracing.Service != "products" {
		t.Errorf("tracing %+v", cfg.Tracing)
	}
}

func TestConfigPasswordFileAuth(t *testing.T) {
	vars := minimalEnv()
	delete(vars, "AWS_REGION")
	vars["DB_AUTH"] = "password-file"
	vars["DB_PASSWORD_FILE"] = "/run/secrets/db"
	vars["DB_MAX_CONNS"] = "4"
	vars["DB_MIN_CONNS"] = "0"
	cfg, err := loadConfig(env.MapLookup(vars))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB.Auth != authPasswordFile || cfg.DB.PasswordFile != "/run/secrets/db" || cfg.DB.MaxConns != 4 || cfg.DB.MinConns != 0 {
		t.Fatalf("database settings %+v", cfg.DB)
	}
}

func TestConfigRequiresWhatHasNoSafeDefault(t *testing.T) {
	for _, key := range []string{"PAYMENT_ENDPOINT", "DB_HOST", "DB_USER", "AWS_REGION"} {
		vars := minimalEnv()
		delete(vars, key)
		if _, err := loadConfig(env.MapLookup(vars)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("without %s: error %v, want one naming it", key, err)
		}
	}
	// DB_AUTH has no default: the stack says how the app authenticates.
	vars := minimalEnv()
	delete(vars, "DB_AUTH")
	if _, err := loadConfig(env.MapLookup(vars)); err == nil || !strings.Contains(err.Error(), "DB_AUTH") {
		t.Errorf("without DB_AUTH: error %v, want one naming it", err)
	}
	vars = minimalEnv()
	vars["DB_AUTH"] = "password-file"
	if _, err := loadConfig(env.MapLookup(vars)); err == nil || !strings.Contains(err.Error(), "DB_PASSWORD_FILE") {
		t.Errorf("password-file without DB_PASSWORD_FILE: error %v, want one naming it", err)
	}
}

func TestConfigRefusesAPasswordInTheEnvironment(t *testing.T) {
	vars := minimalEnv()
	vars["DB_PASSWORD"] = "the-master-password"
	_, err := loadConfig(env.MapLookup(vars))
	if err == nil || !strings.Contains(err.Error(), "DB_PASSWORD") {
		t.Fatalf("error %v, want serving to refuse DB_PASSWORD", err)
	}
	if strings.Contains(err.Error(), "the-master-password") {
		t.Fatalf("the error repeats the password: %v", err)
	}
}

func TestConfigRefusesBadValues(t *testing.T) {
	for key, value := range map[string]string{
		"PAYMENT_ENDPOINT": "payments:8080", // no scheme
		"DB_PORT":          "postgres",
		"DB_SSLMODE":       "sometimes",
		"DB_AUTH":          "password", // the serving modes are iam and password-file
		"PAYMENT_TIMEOUT":  "3",
		"DB_QUERY_TIMEOUT": "0s",
		"DB_MAX_CONNS":     "0",
		"DB_MIN_CONNS":     "-1",
	} {
		vars := minimalEnv()
		vars[key] = value
		if _, err := loadConfig(env.MapLookup(vars)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: error %v, want one naming it", key, value, err)
		}
	}
	vars := minimalEnv()
	vars["DB_MIN_CONNS"], vars["DB_MAX_CONNS"] = "5", "2"
	if _, err := loadConfig(env.MapLookup(vars)); err == nil || !strings.Contains(err.Error(), "DB_MIN_CONNS") {
		t.Errorf("min above max: error %v", err)
	}
	for _, mode := range []string{"disable", "allow", "prefer"} {
		vars = minimalEnv()
		vars["DB_SSLMODE"] = mode
		if _, err := loadConfig(env.MapLookup(vars)); err == nil || !strings.Contains(err.Error(), "DB_SSLMODE") {
			t.Errorf("DB_AUTH=iam with DB_SSLMODE=%s: error %v, want a refusal naming DB_SSLMODE", mode, err)
		}
	}
	vars = minimalEnv()
	vars["DB_SSLMODE"] = "verify-full"
	if _, err := loadConfig(env.MapLookup(vars)); err == nil || !strings.Contains(err.Error(), "DB_SSLROOTCERT") {
		t.Errorf("verify-full without a CA bundle: error %v, want one naming DB_SSLROOTCERT", err)
	}
}

func TestPaymentsURLKeepsABasePath(t *testing.T) {
	for endpoint, want := range map[string]string{
		"http://payments:8080":          "http://payments:8080/api/1.0/payments",
		"http://payments:8080/":         "http://payments:8080/api/1.0/payments",
		"https://mesh.internal/pay/":    "https://mesh.internal/pay/api/1.0/payments",
		"http://payments.local:8080///": "http://payments.local:8080/api/1.0/payments",
	} {
		got, err := paymentsURL(endpoint)
		if err != nil || got != want {
			t.Errorf("paymentsURL(%q) = %q, %v; want %q", endpoint, got, err, want)
		}
	}
}

func TestConnStringHasNoPasswordAndCarriesTheCABundle(t *testing.T) {
	cfg := dbConfig{Host: "db", Port: 5432, Name: "DataWarehouseX", User: "products_app", SSLMode: "require"}
	parsed, err := pgxpool.ParseConfig(cfg.connString())
	if err != nil {
		t.Fatal(err)
	}
	c := parsed.ConnConfig
	if c.Password != "" || c.User != "products_app" || c.Host != "db" || c.Port != 5432 || c.Database != "DataWarehouseX" || c.TLSConfig == nil {
		t.Fatalf("parsed %s@%s:%d/%s password %q TLS %v", c.User, c.Host, c.Port, c.Database, c.Password, c.TLSConfig != nil)
	}
	// verify-full with a CA bundle: the bundle is read (a missing file is an error naming it).
	cfg.SSLMode, cfg.SSLRootCert = "verify-full", "/nonexistent/rds-ca.pem"
	if _, err := pgxpool.ParseConfig(cfg.connString()); err == nil || !strings.Contains(err.Error(), "rds-ca.pem") {
		t.Fatalf("verify-full with a missing CA bundle: error %v, want one naming the file", err)
	}
}

func TestMigrateConfig(t *testing.T) {
	base := map[string]string{
		"DB_HOST": "db", "DB_USER": "meshtrace", "DB_PASSWORD": "master", "DB_APP_USER": "products_app", "DB_APP_AUTH": "iam",
	}
	cfg, err := loadMigrateConfig(env.MapLookup(base))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Seed || cfg.AppAuth != appAuthIAM || cfg.LockTimeout != 5*time.Second || cfg.StatementTimeout != 60*time.Second || cfg.Wait != 60*time.Second || cfg.SSLMode != "require" {
		t.Fatalf("defaults %+v: want no seed (prod), 5s lock timeout, 60s statement timeout and wait, TLS", cfg)
	}
	for _, key := range []string{"DB_HOST", "DB_USER", "DB_PASSWORD", "DB_APP_USER", "DB_APP_AUTH"} {
		vars := map[string]string{}
		for k, v := range base {
			if k != key {
				vars[k] = v
			}
		}
		if _, err := loadMigrateConfig(env.MapLookup(vars)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("without %s: error %v, want one naming it", key, err)
		}
	}
	for _, bad := range []string{"Products", "products-app", "app\"; DROP TABLE core.dim_product; --", "1app", "pg_monitor", "rds_iam", "rdsadmin", "postgres", "public", "meshtrace", strings.Repeat("a", 64)} {
		vars := map[string]string{}
		for k, v := range base {
			vars[k] = v
		}
		vars["DB_APP_USER"] = bad
		if _, err := loadMigrateConfig(env.MapLookup(vars)); err == nil || !strings.Contains(err.Error(), "DB_APP_USER") {
			t.Errorf("DB_APP_USER=%q: error %v, want a refusal naming DB_APP_USER", bad, err)
		}
	}
}

// products is the edge by default: run with nothing but its documented environment (the
// required variables of docs/services.md, no TRACING_EDGE), a caller's "Sampled=1" does not make
// it trace every request, in either tracing mode; TRACING_EDGE=false still turns it off.
func TestProductsIsTheEdgeByDefault(t *testing.T) {
	for _, mode := range []string{tracing.ModeXRay, tracing.ModeOTel} {
		vars := minimalEnv()
		vars["TRACING"] = mode
		cfg, err := loadConfig(env.MapLookup(vars))
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.Tracing.Edge {
			t.Errorf("%s: TRACING_EDGE unset gives Edge=false: callers decide products' sampling", mode)
		}
		if forced := forcedTraces(t, cfg.Tracing, 300); forced > 60 {
			t.Errorf("%s: %d of 300 requests with Sampled=1 traced, want about the rule's 1 + 5%% plus 1 forced", mode, forced)
		}
	}
	vars := minimalEnv()
	vars["TRACING_EDGE"] = "false"
	cfg, err := loadConfig(env.MapLookup(vars))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tracing.Edge {
		t.Fatal("TRACING_EDGE=false is not honoured")
	}
	if forced := forcedTraces(t, cfg.Tracing, 300); forced != 300 {
		t.Fatalf("not the edge: %d of 300 requests with Sampled=1 traced, want all (the caller decides)", forced)
	}
}

// forcedTraces sends n requests with "Sampled=1" through a tracer set up from cfg (spans and
// segments go nowhere) and counts the answers that say the request was traced.
func forcedTraces(t *testing.T, cfg tracing.Config, n int) int {
	t.Helper()
	cfg.DaemonAddr, cfg.OTLPEndpoint = "127.0.0.1:9", "http://127.0.0.1:9"
	tr, err := tracing.Setup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_ = tr.Shutdown(ctx)
	}()
	h := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	traced := 0
	for range n {
		r := httptest.NewRequest(http.MethodGet, "/api/1.0/products", nil)
		r.Header.Set("X-Amzn-Trace-Id", "Root=1-"+strconv.FormatInt(time.Now().Unix(), 16)+"-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if strings.Contains(rec.Header().Get("X-Amzn-Trace-Id"), "Sampled=1") {
			traced++
		}
	}
	return traced
}
