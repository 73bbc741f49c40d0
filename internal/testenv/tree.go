package testenv

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// TraceNode is a segment or subsegment placed in its trace's tree.
type TraceNode struct {
	Segment  Segment // its Subsegments are the Children instead
	Children []*TraceNode
}

// BuildTraceTree links the documents of one trace into trees: embedded subsegments under their
// segment, and each document whose parent_id is the id of a (sub)segment of another document
// under that one (the payments segment under the products subsegment for the call to payments).
// The roots are the documents whose parent is not in the trace. Children are in start order.
func BuildTraceTree(docs []Segment) []*TraceNode {
	byID := map[string]*TraceNode{}
	var build func(seg Segment) *TraceNode
	build = func(seg Segment) *TraceNode {
		n := &TraceNode{Segment: seg}
		n.Segment.Subsegments = nil
		for _, sub := range seg.Subsegments {
			n.Children = append(n.Children, build(sub))
		}
		byID[seg.ID] = n
		return n
	}
	tops := make([]*TraceNode, len(docs))
	for i, d := range docs {
		tops[i] = build(d)
	}
	var roots []*TraceNode
	for _, n := range tops {
		if parent, ok := byID[n.Segment.ParentID]; ok && n.Segment.ParentID != "" && parent != n {
			parent.Children = append(parent.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	var order func(nodes []*TraceNode)
	order = func(nodes []*TraceNode) {
		sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].Segment.StartTime < nodes[j].Segment.StartTime })
		for _, n := range nodes {
			order(n.Children)
		}
	}
	order(roots)
	return roots
}

// FormatTraceTree writes one trace as an indented tree, a line per segment or subsegment: its
// name, what it did (HTTP request or SQL query), the answer, its duration in milliseconds, and
// its fault, error and throttle flags with the first recorded cause.
func FormatTraceTree(w io.Writer, docs []Segment) error {
	var write func(n *TraceNode, indent string, last bool, root bool) error
	write = func(n *TraceNode, indent string, last bool, root bool) error {
		branch, childIndent := "", ""
		if !root {
			branch, childIndent = "├─ ", indent+"│  "
			if last {
				branch, childIndent = "└─ ", indent+"   "
			}
		}
		if _, err := fmt.Fprintf(w, "%s%s%s\n", indent, branch, describe(n.Segment)); err != nil {
			return err
		}
		for i, c := range n.Children {
			if err := write(c, childIndent, i == len(n.Children)-1, false); err != nil {
				return err
			}
		}
		return nil
	}
	for _, root := range BuildTraceTree(docs) {
		if err := write(root, "", true, true); err != nil {
			return err
		}
	}
	return nil
}

// describe is one line of a trace tree.
func describe(s Segment) string {
	parts := []string{s.Name}
	if s.Namespace != "" {
		parts[0] += " (" + s.Namespace + ")"
	}
	if s.HTTP != nil && s.HTTP.Request != nil {
		parts = append(parts, s.HTTP.Request.Method+" "+s.HTTP.Request.URL)
	}
	if s.SQL != nil && s.SQL.SanitizedQuery != "" {
		parts = append(parts, "SQL: "+shorten(strings.Join(strings.Fields(s.SQL.SanitizedQuery), " "), 120))
	}
	if s.HTTP != nil && s.HTTP.Response != nil && s.HTTP.Response.Status != 0 {
		parts = append(parts, fmt.Sprintf("-> %d", s.HTTP.Response.Status))
	}
	if s.InProgress || s.EndTime == 0 {
		parts = append(parts, "in progress")
	} else {
		parts = append(parts, fmt.Sprintf("%.2f ms", float64(s.Duration().Microseconds())/1000))
	}
	if s.Fault {
		parts = append(parts, "FAULT")
	}
	if s.Error {
		parts = append(parts, "ERROR")
	}
	if s.Throttle {
		parts = append(parts, "THROTTLE")
	}
	if s.Cause != nil && len(s.Cause.Exceptions) > 0 {
		parts = append(parts, "cause: "+shorten(s.Cause.Exceptions[0].Message, 100))
	}
	return strings.Join(parts, "  ")
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
