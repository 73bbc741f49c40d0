package xray

import (
	"strings"
	"testing"
)

// X-Ray publishes only a trace count per group, so the faulty traces need a group of their
// own: one per Tracing, over every attached service, next to the system's group.
func TestDeclareGroupAddsTheFaultGroup(t *testing.T) {
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

// The fault group's name must fit X-Ray's 32 characters too: Name is refused beyond 25.
func TestANameWhoseFaultGroupIsTooLongIsRefused(t *testing.T) {
	if _, _, err := attach(t, TracingArgs{Name: strings.Repeat("x", 25)}, "", "a"); err != nil {
		t.Errorf("a 25-character name: %v", err)
	}
	if _, _, err := attach(t, TracingArgs{Name: strings.Repeat("x", 26)}, "", "a"); err == nil || !strings.Contains(err.Error(), "fault group") {
		t.Errorf("a 26-character name: %v", err)
	}
}
