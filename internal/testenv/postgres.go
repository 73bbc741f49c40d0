package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meshtrace/meshtrace/apps/contract"
)

// DefaultPostgresBinDir is where Debian's postgresql package (scripts/install.sh) puts PostgreSQL
// 15. Set PG_BIN_DIR to use another installation.
const DefaultPostgresBinDir = "/usr/lib/postgresql/15/bin"

// DefaultDBName is the database the services use, as in the deployed stack.
const DefaultDBName = contract.DatabaseName

// Postgres is a PostgreSQL server running from a data directory of its own, listening on a free
// loopback port. It can be stopped and started again on the same port, to simulate an outage.
type Postgres struct {
	Host     string // always 127.0.0.1
	Port     int
	User     string // the superuser created by initdb
	Password string
	DBName   string // created at start; DefaultDBName

	binDir  string
	dir     string // owned by the postgres OS user when running as root
	logPath string
	cred    *syscall.Credential // nil unless running as root: initdb and postgres refuse root

	mu     sync.Mutex
	cmd    *exec.Cmd     // nil when stopped
	exited chan struct{} // closed when cmd has exited
}

// StartPostgres starts a fresh server for a test and stops it, and removes its files, when the
// test ends. It takes about a second. The test fails if PostgreSQL 15 is not installed.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	// Not tb.TempDir(): its parent directories are private to root, and the server may run as
	// the postgres user, which must be able to reach its data directory.
	dir, err := os.MkdirTemp("", "testenv-postgres-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	pg, err := StartPostgresProcess(dir)
	if err != nil {
		tb.Fatalf("start PostgreSQL: %v", err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("PostgreSQL log (%s):\n%s", pg.logPath, tail(pg.logPath, 4000))
		}
		if err := pg.Close(); err != nil {
			tb.Errorf("stop PostgreSQL: %v", err)
		}
	})
	return pg
}

// StartPostgresProcess creates a cluster in dir (which it makes owned by the postgres user when
// running as root, so dir's parents must be reachable by that user, as os.MkdirTemp's are), starts
// the server, and creates DefaultDBName. Close stops the server; removing dir is up to the caller.
func StartPostgresProcess(dir string) (*Postgres, error) {
	binDir := os.Getenv("PG_BIN_DIR")
	if binDir == "" {
		binDir = DefaultPostgresBinDir
	}
	if _, err := os.Stat(filepath.Join(binDir, "initdb")); err != nil {
		return nil, fmt.Errorf("PostgreSQL 15 not found in %s (run scripts/install.sh, or set PG_BIN_DIR): %w", binDir, err)
	}
	pg := &Postgres{
		Host:    "127.0.0.1",
		User:    "meshtrace",
		DBName:  DefaultDBName,
		binDir:  binDir,
		dir:     dir,
		logPath: filepath.Join(dir, "postgres.log"),
	}
	pg.Password = RandomPassword()

	if err := pg.prepareDir(); err != nil {
		return nil, err
	}
	if err := pg.initdb(); err != nil {
		return nil, err
	}
	// A free port can be taken between the check and the bind: try a few.
	var err error
	for range 3 {
		if pg.Port, err = freePort(); err != nil {
			return nil, err
		}
		if err = pg.Start(); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if err := pg.CreateDatabase(context.Background(), pg.DBName); err != nil {
		pg.Close()
		return nil, err
	}
	return pg, nil
}

// prepareDir hands dir to the postgres OS user when running as root.
func (p *Postgres) prepareDir() error {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root, PostgreSQL must run as the postgres user, which is missing (install the postgresql package): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return os.Chown(p.dir, uid, gid)
}

func (p *Postgres) dataDir() string { return filepath.Join(p.dir, "data") }

func (p *Postgres) initdb() error {
	pwfile := filepath.Join(p.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.Password+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	if p.cred != nil {
		if err := os.Chown(pwfile, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			return err
		}
	}
	cmd := exec.Command(filepath.Join(p.binDir, "initdb"),
		"--pgdata", p.dataDir(),
		"--username", p.User,
		"--pwfile", pwfile,
		"--auth", "scram-sha-256",
		"--encoding", "UTF8",
		"--locale", "C",
		"--no-sync", // a throwaway cluster: skip fsync
		"--no-instructions",
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// Start starts the server (again) on its port and waits until it accepts connections.
func (p *Postgres) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runningLocked() {
		return errors.New("PostgreSQL is already running")
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own copy

	// Run postgres itself rather than pg_ctl, so the server is our child: it is stopped with a
	// signal we send, and (Pdeathsig) even when the test process dies without cleaning up.
	cmd := exec.Command(filepath.Join(p.binDir, "postgres"),
		"-D", p.dataDir(),
		"-p", strconv.Itoa(p.Port),
		"-c", "listen_addresses="+p.Host,
		"-c", "unix_socket_directories="+p.dir,
		// Durability is not needed for a throwaway server; speed is.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: p.cred,
		Setpgid:    true,            // Ctrl-C in a terminal reaches us, not the server directly
		Pdeathsig:  syscall.SIGQUIT, // immediate shutdown if we die
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status of a signalled server says nothing useful; the log does
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited

	if err := p.waitReady(exited, 30*time.Second); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		p.cmd = nil
		return fmt.Errorf("%w\nPostgreSQL log:\n%s", err, tail(p.logPath, 2000))
	}
	return nil
}

// waitReady polls until a connection succeeds: the server listens before it can serve
// ("the database system is starting up").
func (p *Postgres) waitReady(exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, p.DSNFor("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres exited during start on port %d", p.Port)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %s: %w", timeout, err)
		}
	}
}

// Stop shuts the server down (fast mode: open transactions are rolled back and clients
// disconnected, as when a database fails over) and waits for it to exit.
func (p *Postgres) Stop() error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	running := p.runningLocked()
	p.mu.Unlock()
	if !running {
		return errors.New("PostgreSQL is not running")
	}
	_ = cmd.Process.Signal(syscall.SIGINT) // SIGINT is postgres' "fast" shutdown
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cmd = nil
	return nil
}

// Running tells whether the server process is up.
func (p *Postgres) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runningLocked()
}

func (p *Postgres) runningLocked() bool {
	return p.cmd != nil && !hasExited(p.exited)
}

// hasExited tells whether a process's exited channel is closed, without waiting.
func hasExited(exited <-chan struct{}) bool {
	select {
	case <-exited:
		return true
	default:
		return false
	}
}

// Close stops the server if it is running. It leaves the data directory in place.
func (p *Postgres) Close() error {
	if !p.Running() {
		return nil
	}
	return p.Stop()
}

// DSN is the connection URL of DBName, without TLS (the test server has none).
func (p *Postgres) DSN() string { return p.DSNFor(p.DBName) }

// DSNFor is the connection URL of another database on the same server.
func (p *Postgres) DSNFor(dbName string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(p.User, p.Password),
		Host:     p.Host + ":" + strconv.Itoa(p.Port),
		Path:     "/" + dbName,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Env is the master (owner) environment of `products migrate` for this server: DB_HOST,
// DB_PORT, DB_NAME, DB_USER, DB_PASSWORD (the superuser's), DB_SSLMODE=disable. products itself
// (serve) gets AppEnv.
func (p *Postgres) Env() []string {
	return []string{
		"DB_HOST=" + p.Host,
		"DB_PORT=" + strconv.Itoa(p.Port),
		"DB_NAME=" + p.DBName,
		"DB_USER=" + p.User,
		"DB_PASSWORD=" + p.Password,
		"DB_SSLMODE=disable",
	}
}

// AppEnv is the serving environment of products for this server: it connects as role and reads
// its password from passwordFile at every new connection (DB_AUTH=password-file), the stand-in
// here for the IAM token the deployed app builds.
func (p *Postgres) AppEnv(role, passwordFile string) []string {
	return []string{
		"DB_HOST=" + p.Host,
		"DB_PORT=" + strconv.Itoa(p.Port),
		"DB_NAME=" + p.DBName,
		"DB_USER=" + role,
		"DB_SSLMODE=disable",
		"DB_AUTH=password-file",
		"DB_PASSWORD_FILE=" + passwordFile,
	}
}

// RandomPassword is a new random password (32 hex digits).
func RandomPassword() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// SetRolePassword sets the password of a role, as the superuser: how a credential rotation
// looks from the database.
func (p *Postgres) SetRolePassword(ctx context.Context, role, password string) error {
	return p.exec(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		escaped, err := conn.PgConn().EscapeString(password)
		if err != nil {
			return err
		}
		_, err = conn.Exec(ctx, "ALTER ROLE "+pgx.Identifier{role}.Sanitize()+" PASSWORD '"+escaped+"'")
		return err
	})
}

// TerminateBackends ends every session of role (pg_terminate_backend), as a failover or an
// operator would, and returns how many there were.
func (p *Postgres) TerminateBackends(ctx context.Context, role string) (int, error) {
	var n int
	err := p.exec(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()", role).Scan(&n)
	})
	return n, err
}

// exec runs f on a superuser connection to the postgres database.
func (p *Postgres) exec(ctx context.Context, f func(context.Context, *pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSNFor("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return f(ctx, conn)
}

// WritePasswordFile replaces the content of a password file in one step (a new file renamed over
// the old), so that a reader never sees it half written.
func WritePasswordFile(path, password string) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// CreateDatabase creates an empty database, e.g. one per test that needs a schema of its own.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) error {
	return p.exec(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
		return nil
	})
}

// LogPath is the server's log file.
func (p *Postgres) LogPath() string { return p.logPath }

// tail returns the last n bytes of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}
