package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meshtrace/meshtrace/internal/syncbuf"
)

// The app role, as `products migrate` leaves it, can read core.dim_product and nothing else:
// no DDL, no writes, nothing elsewhere.
func TestTheAppRoleCanOnlyReadTheProductTable(t *testing.T) {
	a := newApp(t, sharedPostgres, nil)
	ctx := context.Background()
	// A connection of the app role, opened the way products opens them.
	conn, err := a.store.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var user string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != a.db.role {
		t.Fatalf("connected as %q (%v), want the app role %s", user, err, a.db.role)
	}

	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM core.dim_product").Scan(&n); err != nil || n != seedRows {
		t.Fatalf("SELECT on core.dim_product: %d rows, %v; want %d rows", n, err, seedRows)
	}

	for _, stmt := range []string{
		"CREATE TABLE t (id int)",
		"CREATE TABLE public.t (id int)",
		"CREATE TABLE core.t (id int)",
		"CREATE TEMP TABLE t (id int)",
		"CREATE SCHEMA mine",
		"INSERT INTO core.dim_product VALUES (99, 'X', 'x', 'x', 1)",
		"UPDATE core.dim_product SET name = 'x'",
		"DELETE FROM core.dim_product",
		"TRUNCATE core.dim_product",
		"ALTER TABLE core.dim_product ADD COLUMN x int",
		"DROP TABLE core.dim_product",
		"SELECT * FROM goose_db_version",
		"CREATE ROLE other",
	} {
		// Each in a transaction rolled back, so that a statement that got through changes nothing.
		err := inRolledBackTx(ctx, conn, stmt)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s as the app role: %v, want insufficient_privilege (42501)", stmt, err)
		}
	}

	var super, createRole, createDB bool
	if err := a.master.QueryRow(ctx, "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1", a.db.role).Scan(&super, &createRole, &createDB); err != nil {
		t.Fatal(err)
	}
	if super || createRole || createDB {
		t.Fatalf("app role attributes superuser %v createrole %v createdb %v: want none", super, createRole, createDB)
	}
}

func inRolledBackTx(ctx context.Context, conn *pgxpool.Conn, stmt string) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, stmt)
	return err
}

// Grants that were widened by hand are brought back to SELECT on core.dim_product by the next
// migrate run.
func TestMigrateNarrowsWidenedGrants(t *testing.T) {
	db := newDatabase(t, sharedPostgres)
	db.migrate(t)
	master := db.masterPool(t)
	ctx := context.Background()
	if _, err := master.Exec(ctx, "GRANT ALL ON core.dim_product TO "+db.role+"; GRANT CREATE ON SCHEMA core TO "+db.role); err != nil {
		t.Fatal(err)
	}
	db.migrate(t)
	var insert, create bool
	if err := master.QueryRow(ctx, "SELECT has_table_privilege($1, 'core.dim_product', 'INSERT'), has_schema_privilege($1, 'core', 'CREATE')", db.role).Scan(&insert, &create); err != nil {
		t.Fatal(err)
	}
	if insert || create {
		t.Fatalf("after migrate: INSERT %v, CREATE on core %v; want both revoked", insert, create)
	}
}

// With DB_APP_AUTH=iam the role has no password, and is granted rds_iam where that role exists
// (RDS; here a role of that name stands in for it).
func TestIAMAppRoleHasNoPasswordAndGetsRDSIAM(t *testing.T) {
	pg := sharedPostgres
	ctx := context.Background()
	db := newDatabase(t, pg)
	master := db.masterPool(t)

	// First on a server without rds_iam (plain PostgreSQL): the run succeeds, the role has no
	// password, even if it had one.
	cfg := db.migrateConfig()
	cfg.AppAuth = appAuthPassword
	if err := runMigrate(ctx, cfg, migrations(), discardLog()); err != nil {
		t.Fatal(err)
	}
	if err := pg.SetRolePassword(ctx, db.role, "left-over"); err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	cfg.AppAuth = appAuthIAM
	if err := runMigrate(ctx, cfg, migrations(), slogTo(logs)); err != nil {
		t.Fatal(err)
	}
	var hasPassword bool
	if err := master.QueryRow(ctx, "SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = $1", db.role).Scan(&hasPassword); err != nil {
		t.Fatal(err)
	}
	if hasPassword {
		t.Fatal("DB_APP_AUTH=iam left the app role a password")
	}
	if !strings.Contains(logs.String(), "no rds_iam role") {
		t.Errorf("no warning that rds_iam is missing:\n%s", logs)
	}

	// Then with an rds_iam role on the server.
	if _, err := master.Exec(ctx, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN CREATE ROLE rds_iam; END IF; END $$"); err != nil {
		t.Fatal(err)
	}
	if err := runMigrate(ctx, cfg, migrations(), discardLog()); err != nil {
		t.Fatal(err)
	}
	var member bool
	if err := master.QueryRow(ctx, "SELECT pg_has_role($1, 'rds_iam', 'MEMBER')", db.role).Scan(&member); err != nil {
		t.Fatal(err)
	}
	if !member {
		t.Fatal("the app role was not granted rds_iam")
	}
}
