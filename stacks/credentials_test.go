package stacks

import (
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/components/database"
	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/pulumitest"
)

// Properties of the database credentials, migrations and health (issue 10).

const tParameterGroup = "aws:rds/parameterGroup:ParameterGroup"

func TestDatabaseRequiresTLSAndAcceptsIAMTokens(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		m := runStack(t, stack, nil)
		pg := only(t, m, tParameterGroup)
		in := pg.Plain()
		if in["family"] != database.ParameterGroupFamily("16") || in["family"] != "postgres16" {
			t.Errorf("%s: parameter group family %v", stack, in["family"])
		}
		params, _ := in["parameters"].([]any)
		if len(params) != 1 || params[0].(map[string]any)["name"] != "rds.force_ssl" || params[0].(map[string]any)["value"] != "1" {
			t.Errorf("%s: parameters %v", stack, params)
		}
		db := only(t, m, tRDS).Plain()
		if db["parameterGroupName"] != pg.Name { // auto-named: the mocks name it after the resource
			t.Errorf("%s: instance parameter group %v, want %v", stack, db["parameterGroupName"], pg.Name)
		}
		if db["iamDatabaseAuthenticationEnabled"] != true {
			t.Errorf("%s: IAM database authentication off", stack)
		}
	}
}

// The app signs in as its own role with IAM tokens: its task role may connect as exactly that
// database user on exactly that instance, and nothing else in the stack may connect at all.
func TestOnlyProductsMayConnectAndOnlyAsTheAppRole(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		db := only(t, s.m, tRDS)
		resourceID := pulumitest.RDSResourceID(db.Plain()["identifier"].(string))
		want := "arn:aws:rds-db:" + pulumitest.Region + ":" + pulumitest.Account + ":dbuser:" + resourceID + "/" + ProductsDBUser
		for _, name := range []string{ProductsName, PaymentsName} {
			var connect []taskspec.Statement
			for _, st := range s.policy(t, name+"-task").Statement {
				for _, a := range st.Action {
					if strings.HasPrefix(a, "rds-db:") || strings.HasPrefix(a, "secretsmanager:") {
						connect = append(connect, st)
					}
				}
			}
			if name == PaymentsName {
				if len(connect) != 0 {
					t.Errorf("payments' task role may reach the database: %+v", connect)
				}
				continue
			}
			if len(connect) != 1 || strings.Join(connect[0].Action, ",") != "rds-db:connect" || strings.Join(connect[0].Resource, ",") != want {
				t.Errorf("products' task role: %+v, want rds-db:connect on %s only", connect, want)
			}
		}
	})
}

// The RDS master secret goes to the migrate container only: the app container's secrets and
// environment never reference it, and it signs in as the app role, not the master user.
func TestTheAppContainerNeverHoldsTheMasterCredential(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		secretArn := "secret:rds!db-"
		cs := s.containers(t, ProductsName)
		app, migrate := cs["app"], cs["migrate"]
		if len(app.Secrets) != 0 {
			t.Errorf("the app container gets secrets: %+v", app.Secrets)
		}
		for _, kv := range app.Environment {
			if strings.Contains(kv.Value, secretArn) || strings.Contains(kv.Name, "PASSWORD") {
				t.Errorf("the app container's environment holds %s=%s", kv.Name, kv.Value)
			}
		}
		e := env(app)
		if e["DB_USER"] != ProductsDBUser || e["DB_AUTH"] != "iam" || e["AWS_REGION"] == "" || e["DB_USER"] == "meshtrace" {
			t.Errorf("app database environment %v", e)
		}
		if len(migrate.Secrets) != 1 || !strings.Contains(migrate.Secrets[0].ValueFrom, secretArn) {
			t.Errorf("migrate secrets %+v", migrate.Secrets)
		}
		me := env(migrate)
		if me["DB_USER"] != "meshtrace" || me["DB_APP_USER"] != ProductsDBUser || me["DB_APP_AUTH"] != "iam" {
			t.Errorf("migrate environment %v", me)
		}
		if wantSeed := map[string]string{"dev": "true", "prod": ""}[s.stack]; me["DB_SEED"] != wantSeed {
			t.Errorf("%s: DB_SEED %q, want %q", s.stack, me["DB_SEED"], wantSeed)
		}
		if migrate.Image != app.Image || strings.Join(migrate.Command, " ") != "migrate" || migrate.Essential == nil || *migrate.Essential {
			t.Errorf("migrate container %+v", migrate)
		}
		for _, c := range []taskspec.ContainerDefinition{app, migrate} {
			if c.ReadonlyRootFilesystem == nil || !*c.ReadonlyRootFilesystem {
				t.Errorf("%s: writable root filesystem", c.Name)
			}
		}
		if cs := s.containers(t, PaymentsName); cs["migrate"].Name != "" || len(cs["app"].Secrets) != 0 {
			t.Errorf("payments has a migrate container or secrets")
		}
	})
}

// Every essential container has a health check ECS runs; a container that is not essential
// is either a step the app waits for (SUCCESS) or restarted by ECS when it exits.
func TestEveryEssentialContainerHasAHealthCheck(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		for _, name := range []string{ProductsName, PaymentsName} {
			cs := s.containers(t, name)
			waitedFor := map[string]string{}
			for _, d := range cs["app"].DependsOn {
				waitedFor[d.ContainerName] = d.Condition
			}
			for _, c := range cs {
				essential := c.Essential == nil || *c.Essential
				switch {
				case essential && (c.HealthCheck == nil || len(c.HealthCheck.Command) < 2 ||
					(c.HealthCheck.Command[0] != "CMD" && c.HealthCheck.Command[0] != "CMD-SHELL")):
					t.Errorf("%s/%s: essential without a health check: %+v", name, c.Name, c.HealthCheck)
				case !essential && waitedFor[c.Name] != taskspec.ConditionSuccess && (c.RestartPolicy == nil || !c.RestartPolicy.Enabled):
					t.Errorf("%s/%s: not essential, not awaited and not restarted", name, c.Name)
				}
			}
			if hc := cs["app"].HealthCheck; hc == nil || strings.Join(hc.Command, " ") != "CMD /"+name+" -healthcheck" {
				t.Errorf("%s: app health check %+v", name, hc)
			}
		}
	})
}
