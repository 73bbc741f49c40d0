package main

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/apps/internal/env"
	"github.com/meshtrace/meshtrace/apps/internal/tracing"
)

// config is everything `products` (serve) reads from its environment (see docs/database.md).
type config struct {
	Port int
	// PaymentsURL is $PAYMENT_ENDPOINT/api/1.0/payments.
	PaymentsURL    string
	PaymentTimeout time.Duration
	DB             dbConfig
	Tracing        tracing.Config
}

// Ways products obtains its database credential, at every new connection (DB_AUTH).
const (
	// authIAM builds an RDS IAM authentication token from the task role's credentials.
	authIAM = "iam"
	// authPasswordFile reads a file: local runs, tests, and the rotation drill's stand-in for
	// the token source.
	authPasswordFile = "password-file"
)

// sslModes are the modes libpq and pgx understand.
var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// dbConfig locates the database and says how to authenticate. It holds no password: the
// credential is obtained when a connection is opened (see credentials.go).
type dbConfig struct {
	Host string
	Port int
	Name string
	User string
	// SSLMode and SSLRootCert (a CA bundle file, for verify-ca/verify-full).
	SSLMode     string
	SSLRootCert string
	// Auth is authIAM or authPasswordFile; Region (iam) or PasswordFile (password-file) go with it.
	Auth         string
	Region       string
	PasswordFile string
	// MaxConns and MinConns bound the pool of each task.
	MaxConns     int
	MinConns     int
	QueryTimeout time.Duration
}

func loadConfig(lookup env.LookupFunc) (config, error) {
	r := env.NewReader(lookup)
	cfg := config{
		Port:           r.Port("PORT", 8080),
		PaymentTimeout: r.Duration("PAYMENT_TIMEOUT", 3*time.Second),
		DB: dbConfig{
			Host:         r.Required("DB_HOST"),
			Port:         r.Port("DB_PORT", 5432),
			Name:         r.String("DB_NAME", contract.DatabaseName),
			User:         r.Required("DB_USER"),
			SSLMode:      r.OneOf("DB_SSLMODE", "require", sslModes...), // RDS accepts TLS: require it by default
			SSLRootCert:  r.String("DB_SSLROOTCERT", ""),
			Auth:         r.OneOf("DB_AUTH", "", authIAM, authPasswordFile), // no default: the stack says which
			MaxConns:     r.IntBetween("DB_MAX_CONNS", 10, 1, 1000),
			MinConns:     r.IntBetween("DB_MIN_CONNS", 1, 0, 1000),
			QueryTimeout: r.Duration("DB_QUERY_TIMEOUT", 2*time.Second),
		},
		Tracing: tracing.EdgeConfigFromEnv(r, "products"), // products is the edge
	}
	switch cfg.DB.Auth {
	case authIAM:
		cfg.DB.Region = r.Required("AWS_REGION")
	case authPasswordFile:
		cfg.DB.PasswordFile = r.Required("DB_PASSWORD_FILE")
	}
	endpoint := r.Required("PAYMENT_ENDPOINT")
	if err := r.Err(); err != nil {
		return config{}, err
	}
	// The app never takes a password from its environment: that is how a stale (rotated) or
	// master password would reach it. Refuse it loudly rather than ignore it.
	if v, ok := lookup("DB_PASSWORD"); ok && v != "" {
		return config{}, errors.New("DB_PASSWORD is set, but products (serve) does not read a password from its environment: it obtains its credential at each connection (DB_AUTH=iam, or DB_AUTH=password-file with DB_PASSWORD_FILE); only `products migrate` takes DB_PASSWORD")
	}
	if cfg.DB.MinConns > cfg.DB.MaxConns {
		return config{}, fmt.Errorf("DB_MIN_CONNS=%d is above DB_MAX_CONNS=%d", cfg.DB.MinConns, cfg.DB.MaxConns)
	}
	if err := checkSSLRootCert(cfg.DB.SSLMode, cfg.DB.SSLRootCert); err != nil {
		return config{}, err
	}
	// An IAM token is a bearer credential for 15 minutes: it must not cross the network in the
	// clear, and RDS takes IAM authentication over TLS only.
	if cfg.DB.Auth == authIAM && !strings.HasPrefix(cfg.DB.SSLMode, "verify-") && cfg.DB.SSLMode != "require" {
		return config{}, fmt.Errorf("DB_SSLMODE=%s with DB_AUTH=iam: IAM tokens go over TLS only (require, verify-ca or verify-full)", cfg.DB.SSLMode)
	}
	paymentsURL, err := paymentsURL(endpoint)
	if err != nil {
		return config{}, err
	}
	cfg.PaymentsURL = paymentsURL
	return cfg, nil
}

// checkSSLRootCert refuses verify-ca/verify-full without a CA bundle: pgx would otherwise verify
// against the system roots, which do not hold the RDS CA, and every connection would fail.
func checkSSLRootCert(mode, rootCert string) error {
	if (mode == "verify-ca" || mode == "verify-full") && rootCert == "" {
		return fmt.Errorf("DB_SSLMODE=%s needs DB_SSLROOTCERT, the path of the CA bundle that signed the server's certificate", mode)
	}
	return nil
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

// connString is the pgx connection URL, without a password (BeforeConnect adds it).
func (c dbConfig) connString() string {
	return connURL(c.Host, c.Port, c.Name, url.User(c.User), c.SSLMode, c.SSLRootCert)
}

// connURL builds a postgres:// URL; url.URL escapes any character of the user and password.
func connURL(host string, port int, name string, user *url.Userinfo, sslMode, sslRootCert string) string {
	q := url.Values{"sslmode": {sslMode}}
	if sslRootCert != "" {
		q.Set("sslrootcert", sslRootCert)
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     user,
		Host:     host + ":" + strconv.Itoa(port),
		Path:     "/" + name,
		RawQuery: q.Encode(),
	}
	return u.String()
}

// roleNamePattern is what an app role name may be: a lower-case SQL identifier that needs no
// quoting (it is still quoted with pgx.Identifier.Sanitize wherever it is used).
var roleNamePattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// checkRoleName refuses role names that are not plain identifiers or that name a role the
// database reserves (pg_*, rds*, postgres, public).
func checkRoleName(key, name string) error {
	switch {
	case !roleNamePattern.MatchString(name):
		return fmt.Errorf("%s=%q is not a role name: a lower-case letter or _, then up to 62 lower-case letters, digits or _", key, name)
	case strings.HasPrefix(name, "pg_"), strings.HasPrefix(name, "rds"), name == "postgres", name == "public", name == "none":
		return fmt.Errorf("%s=%q names a role reserved by PostgreSQL or RDS", key, name)
	}
	return nil
}
