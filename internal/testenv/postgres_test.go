package testenv

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func connect(t *testing.T, dsn string) (*pgx.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return pgx.Connect(ctx, dsn)
}

func TestPostgresServesStopsAndStartsAgainWithItsData(t *testing.T) {
	pg := StartPostgres(t)
	ctx := context.Background()

	conn, err := connect(t, pg.DSN())
	if err != nil {
		t.Fatalf("connect to %s: %v", pg.DBName, err)
	}
	var version, db, user string
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num'), current_database(), current_user").Scan(&version, &db, &user); err != nil {
		t.Fatal(err)
	}
	if version[:2] != "15" || db != DefaultDBName || user != pg.User {
		t.Fatalf("got server %s, database %s, user %s; want 15xxxx, %s, %s", version, db, user, DefaultDBName, pg.User)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	stopStarted := time.Now()
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(stopStarted); took > 10*time.Second {
		t.Errorf("Stop took %s: the fast shutdown signal did not work (it fell back to killing)", took)
	}
	if pg.Running() {
		t.Fatal("Running() is true after Stop")
	}
	if conn, err := connect(t, pg.DSN()); err == nil {
		conn.Close(ctx)
		t.Fatal("connected to a stopped server")
	}

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	conn, err = connect(t, pg.DSN())
	if err != nil {
		t.Fatalf("connect after restart: %v", err)
	}
	defer conn.Close(ctx)
	var v int
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
		t.Fatalf("after restart: got %d, %v; want the row written before the stop", v, err)
	}
}

func TestPostgresRefusesAWrongPassword(t *testing.T) {
	pg := StartPostgres(t)
	wrong := &Postgres{Host: pg.Host, Port: pg.Port, User: pg.User, Password: "not-the-password", DBName: pg.DBName}
	if conn, err := connect(t, wrong.DSN()); err == nil {
		conn.Close(context.Background())
		t.Fatal("connected with a wrong password: the server does not check passwords")
	}
}

func TestPostgresEnvNamesTheServer(t *testing.T) {
	pg := &Postgres{Host: "127.0.0.1", Port: 5999, User: "u", Password: "p@ss word", DBName: "DataWarehouseX"}
	want := []string{"DB_HOST=127.0.0.1", "DB_PORT=5999", "DB_NAME=DataWarehouseX", "DB_USER=u", "DB_PASSWORD=p@ss word", "DB_SSLMODE=disable"}
	got := pg.Env()
	if len(got) != len(want) {
		t.Fatalf("Env() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Env()[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	cfg, err := pgx.ParseConfig(pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Password != "p@ss word" || cfg.Database != "DataWarehouseX" || cfg.Port != 5999 {
		t.Fatalf("DSN() does not round-trip: %+v", cfg)
	}
}

func TestStartPostgresProcessExplainsAMissingInstallation(t *testing.T) {
	t.Setenv("PG_BIN_DIR", t.TempDir())
	dir, err := os.MkdirTemp("", "testenv-missing-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	_, err = StartPostgresProcess(dir)
	if err == nil || !strings.Contains(err.Error(), "scripts/install.sh") {
		t.Fatalf("got error %v, want one pointing at scripts/install.sh", err)
	}
}

func TestRolePasswordRotationAndTermination(t *testing.T) {
	pg := StartPostgres(t)
	ctx := context.Background()
	conn, err := connect(t, pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE ROLE app LOGIN"); err != nil {
		t.Fatal(err)
	}
	appDSN := func(password string) string {
		return strings.Replace(pg.DSN(), pg.User+":"+pg.Password+"@", "app:"+password+"@", 1)
	}

	first := RandomPassword()
	if err := pg.SetRolePassword(ctx, "app", first); err != nil {
		t.Fatal(err)
	}
	app, err := connect(t, appDSN(first))
	if err != nil {
		t.Fatalf("connect as app with its password: %v", err)
	}
	defer app.Close(ctx)

	second := RandomPassword()
	if second == first {
		t.Fatal("RandomPassword gave the same password twice")
	}
	if err := pg.SetRolePassword(ctx, "app", second); err != nil {
		t.Fatal(err)
	}
	if c, err := connect(t, appDSN(first)); err == nil {
		c.Close(ctx)
		t.Fatal("the old password still opens a connection")
	}
	n, err := pg.TerminateBackends(ctx, "app")
	if err != nil || n != 1 {
		t.Fatalf("terminated %d sessions of app (%v), want its 1", n, err)
	}
	if err := app.Ping(ctx); err == nil {
		t.Fatal("the terminated session still answers")
	}
	if err := conn.Ping(ctx); err != nil {
		t.Fatalf("another role's session was terminated too: %v", err)
	}
	c, err := connect(t, appDSN(second))
	if err != nil {
		t.Fatalf("connect with the new password: %v", err)
	}
	c.Close(ctx)
}

func TestWritePasswordFileReplacesTheContent(t *testing.T) {
	path := t.TempDir() + "/pw"
	for _, pw := range []string{"one", "two"} {
		if err := WritePasswordFile(path, pw); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != pw+"\n" {
			t.Fatalf("file holds %q (%v), want %q", b, err, pw+"\n")
		}
	}
}
