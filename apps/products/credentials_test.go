package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/jackc/pgx/v5"
)

// staticCredentials is a fixed AWS key pair, standing in for the task role.
type staticCredentials struct{}

func (staticCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: "session", Source: "test"}, nil
}

func TestIAMTokenIsASignedConnectRequestForTheUser(t *testing.T) {
	src := iamToken{endpoint: "db.example.internal:5432", region: "eu-west-1", user: "products_app", creds: staticCredentials{}}
	cc := &pgx.ConnConfig{}
	if err := beforeConnect(src)(context.Background(), cc); err != nil {
		t.Fatal(err)
	}
	// The token is a presigned URL without its scheme: host:port/?Action=connect&DBUser=...
	u, err := url.Parse("https://" + cc.Password)
	if err != nil {
		t.Fatalf("token %q: %v", cc.Password, err)
	}
	q := u.Query()
	if u.Host != "db.example.internal:5432" || q.Get("Action") != "connect" || q.Get("DBUser") != "products_app" ||
		q.Get("X-Amz-Signature") == "" || !strings.Contains(q.Get("X-Amz-Credential"), "/eu-west-1/rds-db/") || q.Get("X-Amz-Security-Token") != "session" {
		t.Fatalf("token %q is not an rds-db connect request for products_app signed with the task role's credentials", cc.Password)
	}
}

func TestIAMSourceFromTheDefaultChain(t *testing.T) {
	// The default chain reads the environment first (in ECS: the container credentials).
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	src, err := newCredentialSource(context.Background(), dbConfig{Host: "db", Port: 5432, User: "products_app", Auth: authIAM, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	token, err := src.password(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(token, "AKIDFROMENV") || !strings.Contains(token, "us-east-1") {
		t.Fatalf("token %q not signed with the environment's key in the configured region", token)
	}
}

func TestPasswordFileIsReadAtEveryConnection(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pw")
	src := passwordFile{path: file}
	connect := beforeConnect(src)
	for _, pw := range []string{"first", "second"} {
		if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cc := &pgx.ConnConfig{}
		if err := connect(context.Background(), cc); err != nil {
			t.Fatal(err)
		}
		if cc.Password != pw {
			t.Fatalf("password %q, want %q (the file's content now, without its line break)", cc.Password, pw)
		}
	}
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := connect(context.Background(), &pgx.ConnConfig{}); err == nil {
		t.Fatal("an empty password file was accepted")
	}
}
