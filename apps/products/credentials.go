package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/jackc/pgx/v5"
)

// credentialSource gives the password of a connection about to be opened. The pool asks it at
// every new connection (pgxpool's BeforeConnect), never once at start: a credential that changed
// since (a rotation) is picked up by the next connection, with no restart.
type credentialSource interface {
	password(ctx context.Context) (string, error)
}

// newCredentialSource is the source DB_AUTH names.
func newCredentialSource(ctx context.Context, cfg dbConfig) (credentialSource, error) {
	switch cfg.Auth {
	case authIAM:
		// The default chain: in ECS, the task role's credentials from the container endpoint,
		// cached and refreshed before they expire by the SDK.
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
		if err != nil {
			return nil, fmt.Errorf("AWS configuration for IAM database authentication: %w", err)
		}
		return iamToken{
			endpoint: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
			region:   cfg.Region,
			user:     cfg.User,
			creds:    awsCfg.Credentials,
		}, nil
	case authPasswordFile:
		return passwordFile{path: cfg.PasswordFile}, nil
	}
	return nil, fmt.Errorf("DB_AUTH=%q: want %s or %s", cfg.Auth, authIAM, authPasswordFile)
}

// iamToken builds an RDS IAM authentication token: a SigV4-signed request for rds-db:connect on
// this user, valid 15 minutes for opening a connection (an open connection is not affected when
// it expires). Signing is local; only the credentials may need a call, which the SDK caches.
type iamToken struct {
	endpoint, region, user string
	creds                  aws.CredentialsProvider
}

func (t iamToken) password(ctx context.Context) (string, error) {
	token, err := auth.BuildAuthToken(ctx, t.endpoint, t.region, t.user, t.creds)
	if err != nil {
		return "", fmt.Errorf("build IAM authentication token for %s@%s: %w", t.user, t.endpoint, err)
	}
	return token, nil
}

// passwordFile reads the password from a file at each connection; trailing line breaks are not
// part of it.
type passwordFile struct{ path string }

func (f passwordFile) password(context.Context) (string, error) {
	b, err := os.ReadFile(f.path)
	if err != nil {
		return "", fmt.Errorf("read DB_PASSWORD_FILE: %w", err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", errors.New("DB_PASSWORD_FILE is empty")
	}
	return pw, nil
}

// beforeConnect sets the password of the connection about to be opened from src.
func beforeConnect(src credentialSource) func(context.Context, *pgx.ConnConfig) error {
	return func(ctx context.Context, cc *pgx.ConnConfig) error {
		pw, err := src.password(ctx)
		if err != nil {
			return err
		}
		cc.Password = pw
		return nil
	}
}
