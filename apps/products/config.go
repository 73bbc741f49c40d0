package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/meshtrace/meshtrace/apps/internal/env"
	"github.com/meshtrace/meshtrace/apps/internal/tracing"
)

// config is everything products reads from its environment (see the README for each variable).
type config struct {
	Port int
	// PaymentsURL is $PAYMENT_ENDPOINT/api/1.0/payments.
	PaymentsURL    string
	PaymentTimeout time.Duration
	DB             dbConfig
	Tracing        tracing.Config
}

// dbConfig locates the database. Password comes from DB_PASSWORD, which ECS fills from the
// Secrets Manager secret; there is deliberately no default.
type dbConfig struct {
	Host         string
	Port         int
	Name         string
	User         string
	Password     string
	SSLMode      string
	QueryTimeout time.Duration
}

func loadConfig(lookup env.LookupFunc) (config, error) {
	r := env.NewReader(lookup)
	cfg := config{
		Port:           r.Port("PORT", 8080),
		PaymentTimeout: r.Duration("PAYMENT_TIMEOUT", 3*time.Second),
		DB: dbConfig{
			Host:     r.Required("DB_HOST"),
			Port:     r.Port("DB_PORT", 5432),
			Name:     r.String("DB_NAME", "DataWarehouseX"),
			User:     r.Required("DB_USER"),
			Password: r.Required("DB_PASSWORD"),
			// The modes libpq and pgx understand; RDS accepts TLS, so require it by default.
			SSLMode:      r.OneOf("DB_SSLMODE", "require", "disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
			QueryTimeout: r.Duration("DB_QUERY_TIMEOUT", 2*time.Second),
		},
		Tracing: tracing.ConfigFromEnv(r, "products"),
	}
	endpoint := r.Required("PAYMENT_ENDPOINT")
	if err := r.Err(); err != nil {
		return config{}, err
	}
	paymentsURL, err := paymentsURL(endpoint)
	if err != nil {
		return config{}, err
	}
	cfg.PaymentsURL = paymentsURL
	return cfg, nil
}

// paymentsURL turns the PAYMENT_ENDPOINT base URL (e.g. http://payments:8080) into the URL of
// the payments list.
func paymentsURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("PAYMENT_ENDPOINT=%q is not a base URL such as http://payments:8080", endpoint)
	}
	return strings.TrimRight(endpoint, "/") + "/api/1.0/payments", nil
}

// connString is the pgx connection URL; url.URL escapes any character in the password.
func (c dbConfig) connString() string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(c.User, c.Password),
		Host:     c.Host + ":" + strconv.Itoa(c.Port),
		Path:     "/" + c.Name,
		RawQuery: url.Values{"sslmode": {c.SSLMode}}.Encode(),
	}
	return u.String()
}
