package xray

import (
	"slices"
	"strings"
	"testing"
)

// X-Ray publishes only a trace count per group, so the faulty traces need a group of their
// own: one per Tracing, over every one of its services, next to the system's group.
func TestTracingDeclaresTheGroupAndTheFaultGroup(t *testing.T) {
	_, m, err := attach(t, TracingArgs{}, "", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	g, ok := m.Find("aws:xray/group:Group", "sys"+FaultGroupSuffix)
	if !ok || g.Plain()["groupName"] != "sys-faults" ||
		g.Plain()["filterExpression"] != `service("a") { fault = true } OR service("b") { fault = true }` {
		t.Errorf("fault group %+v", g.Plain())
	}
	if n := len(m.ByType("aws:xray/group:Group")); n != 2 {
		t.Errorf("%d groups, want the system's and its fault group", n)
	}
}

// The groups come with NewTracing, whatever the order of the services declared after it (no
// "call me last" step); without Services there is no group.
func TestTheGroupsNeedNoStepAfterTheServices(t *testing.T) {
	_, m, err := attach(t, TracingArgs{Services: []string{"a", "b"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	g, ok := m.Find("aws:xray/group:Group", "sys")
	if !ok || g.Plain()["filterExpression"] != `service("a") OR service("b")` || len(m.ByType("aws:xray/group:Group")) != 2 {
		t.Errorf("groups before any service is attached: %v", m.ByType("aws:xray/group:Group"))
	}
	_, m, err = attach(t, TracingArgs{Services: []string{}}, "", "a")
	if err != nil || len(m.ByType("aws:xray/group:Group")) != 0 {
		t.Errorf("without Services: %d groups, %v; want none", len(m.ByType("aws:xray/group:Group")), err)
	}
}

// X-Ray's names have at most 32 characters (botocore GroupName, RuleName): a long prefix
// still gives names within the limit, distinct for distinct prefixes, with the readable part kept.
func TestALongNameGivesXRayNamesWithinItsLimit(t *testing.T) {
	groups := func(name string) []string {
		_, m, err := attach(t, TracingArgs{Name: name}, "", "payments")
		if err != nil {
			t.Fatalf("name %q: %v", name, err)
		}
		var names []string
		for _, g := range m.ByType("aws:xray/group:Group") {
			names = append(names, g.Plain()["groupName"].(string))
		}
		for _, r := range m.ByType("aws:xray/samplingRule:SamplingRule") {
			names = append(names, r.Plain()["ruleName"].(string))
		}
		return names
	}
	short := groups(strings.Repeat("x", 25))
	if !slices.Contains(short, strings.Repeat("x", 25)+FaultGroupSuffix) {
		t.Errorf("a 25-character name was changed: %v", short)
	}
	a, b := groups("meshtrace-prod-eu-west-1a"), groups("meshtrace-prod-eu-west-1b")
	if len(a) != 3 {
		t.Fatalf("names %v, want a group, a fault group and a rule", a)
	}
	for i := range a {
		if len(a[i]) > 32 || len(b[i]) > 32 || !strings.HasPrefix(a[i], "meshtrace-prod-eu") {
			t.Errorf("names %q, %q: over X-Ray's 32 characters or without their prefix", a[i], b[i])
		}
		if a[i] == b[i] {
			t.Errorf("two stacks share the X-Ray name %q", a[i])
		}
	}
}
