package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meshtrace/meshtrace/apps/internal/env"
)

func itoa(n int) string { return strconv.Itoa(n) }

// minimalEnv is what the stack must set; everything else has a default.
func minimalEnv() map[string]string {
	return map[string]string{
		"PAYMENT_ENDPOINT": "http://payments:8080",
		"DB_HOST":          "db.example.internal",
		"DB_USER":          "app",
		"DB_PASSWORD":      "from-secrets-manager",
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(env.MapLookup(minimalEnv()))
	if err != nil {
		t.Fatal(err)
	}
	want := dbConfig{Host: "db.example.internal", Port: 5432, Name: "DataWarehouseX", User: "app", Password: "from-secrets-manager", SSLMode: "require", QueryTimeout: 2 * time.Second}
	if cfg.DB != want {
		t.Errorf("database settings %+v, want %+v", cfg.DB, want)
	}
	if cfg.Port != 8080 || cfg.PaymentsURL != "http://payments:8080/api/1.0/payments" || cfg.PaymentTimeout != 3*time.Second {
		t.Errorf("port %d, payments %s, timeout %s", cfg.Port, cfg.PaymentsURL, cfg.PaymentTimeout)
	}
	if !cfg.Tracing.Enabled || cfg.Tracing.DaemonAddr != "127.0.0.1:2000" || cfg.Tracing.Service != "products" {
		t.Errorf("tracing %+v", cfg.Tracing)
	}
}

func TestConfigRequiresWhatHasNoSafeDefault(t *testing.T) {
	for _, key := range []string{"PAYMENT_ENDPOINT", "DB_HOST", "DB_USER", "DB_PASSWORD"} {
		vars := minimalEnv()
		delete(vars, key)
		if _, err := loadConfig(env.MapLookup(vars)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("without %s: error %v, want one naming it", key, err)
		}
	}
}

func TestConfigRefusesBadValues(t *testing.T) {
	for key, value := range map[string]string{
		"PAYMENT_ENDPOINT": "payments:8080", // no scheme
		"DB_PORT":          "postgres",
		"DB_SSLMODE":       "sometimes",
		"PAYMENT_TIMEOUT":  "3",
		"DB_QUERY_TIMEOUT": "0s",
	} {
		vars := minimalEnv()
		vars[key] = value
		if _, err := loadConfig(env.MapLookup(vars)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: error %v, want one naming it", key, value, err)
		}
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

func TestConnStringEscapesThePassword(t *testing.T) {
	cfg := dbConfig{Host: "db", Port: 5432, Name: "DataWarehouseX", User: "app", Password: "p@ss:w/rd?#&= x", SSLMode: "require"}
	parsed, err := pgxpool.ParseConfig(cfg.connString())
	if err != nil {
		t.Fatal(err)
	}
	c := parsed.ConnConfig
	if c.Password != cfg.Password || c.User != "app" || c.Host != "db" || c.Port != 5432 || c.Database != "DataWarehouseX" || c.TLSConfig == nil {
		t.Fatalf("parsed %s@%s:%d/%s password %q TLS %v", c.User, c.Host, c.Port, c.Database, c.Password, c.TLSConfig != nil)
	}
}
