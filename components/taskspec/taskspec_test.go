package taskspec

import (
	"strings"
	"testing"
)

func TestMergeRefusesTwoProxiesAndDuplicateSidecars(t *testing.T) {
	proxy := Part{ProxyConfiguration: &ProxyConfiguration{ContainerName: "a"}}
	if _, err := Merge(proxy, proxy); err == nil || !strings.Contains(err.Error(), "proxy configuration") {
		t.Errorf("two proxies: %v", err)
	}
	side := Part{Sidecars: []ContainerDefinition{{Name: "s"}}}
	if _, err := Merge(side, side); err == nil || !strings.Contains(err.Error(), `"s"`) {
		t.Errorf("duplicate sidecar: %v", err)
	}
	m, err := Merge(side, proxy, Part{TaskRoleStatements: []Statement{Allow("X", []string{"a:b"}, "r")}})
	if err != nil || len(m.Sidecars) != 1 || m.ProxyConfiguration == nil || len(m.TaskRoleStatements) != 1 {
		t.Errorf("merge %+v %v", m, err)
	}
}

func TestECSTaskTrustIsBoundToTheAccountAndRegion(t *testing.T) {
	got := AssumeRoleByECSTasksOf("123456789012", "eu-west-1").JSON()
	want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":["sts:AssumeRole"],` +
		`"Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:ecs:eu-west-1:123456789012:*"},"StringEquals":{"aws:SourceAccount":"123456789012"}}}]}`
	if got != want {
		t.Errorf("got %s", got)
	}
}

func TestPolicyJSONHasIAMShape(t *testing.T) {
	got := AssumeRoleBy("ecs-tasks.amazonaws.com").JSON()
	want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":["sts:AssumeRole"]}]}`
	if got != want {
		t.Errorf("got %s", got)
	}
}

func TestFargateSizesTable(t *testing.T) {
	sizes := FargateSizes()
	if len(sizes) != 7 || len(sizes[256]) != 3 || sizes[512][0] != 1024 || sizes[512][3] != 4096 || sizes[16384][len(sizes[16384])-1] != 122880 {
		t.Errorf("sizes %v", sizes)
	}
}
