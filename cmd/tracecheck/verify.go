package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Trace is one X-Ray trace as BatchGetTraces returns it: the raw segment documents, plus the
// request of ours that started it (for the report).
type Trace struct {
	ID        string
	Request   string
	Documents []string
}

// Expect names the segments to look for (the services' X-Ray segment names).
type Expect struct {
	Products string
	Payments string
}

// Check is one verified property.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

// Result is the outcome of Verify: the checks, and what each trace held.
type Result struct {
	Checks []Check
	Trees  []string
}

// OK reports whether every check passed.
func (r Result) OK() bool {
	if len(r.Checks) == 0 {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Failed lists the failed checks as one line each.
func (r Result) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c.Name+": "+c.Detail)
		}
	}
	return out
}

// doc is the part of an X-Ray segment or subsegment document that the check reads.
type doc struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	TraceID     string    `json:"trace_id"`
	ParentID    string    `json:"parent_id"`
	Type        string    `json:"type"`
	Namespace   string    `json:"namespace"`
	StartTime   float64   `json:"start_time"`
	EndTime     float64   `json:"end_time"`
	Fault       bool      `json:"fault"`
	Error       bool      `json:"error"`
	Inferred    bool      `json:"inferred"`
	HTTP        *httpData `json:"http"`
	SQL         *sqlData  `json:"sql"`
	Subsegments []doc     `json:"subsegments"`
}

type httpData struct {
	Request *struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
	Response *struct {
		Status int `json:"status"`
	} `json:"response"`
}

type sqlData struct {
	URL            string `json:"url"`
	DatabaseType   string `json:"database_type"`
	SanitizedQuery string `json:"sanitized_query"`
}

// node is a segment or subsegment with a link to its parent, so a subsegment can be traced back
// to the segment (service) that owns it, including subsegments that were sent on their own.
type node struct {
	doc
	segment  bool
	parent   *node
	children []*node
}

// owner is the segment that holds n (n itself for a segment), or nil when the chain is broken.
func (n *node) owner() *node {
	for n != nil && !n.segment {
		n = n.parent
	}
	return n
}

func (n *node) isHTTPCall() bool {
	return !n.segment && n.HTTP != nil && n.HTTP.Request != nil && n.HTTP.Request.URL != ""
}

func (n *node) describe() string {
	s := fmt.Sprintf("%q (id %s)", n.Name, n.ID)
	if n.HTTP != nil && n.HTTP.Request != nil {
		s += " " + strings.TrimSpace(n.HTTP.Request.Method+" "+n.HTTP.Request.URL)
	}
	return s
}

// parsedTrace indexes the documents of one trace.
type parsedTrace struct {
	Trace
	segments []*node
	byID     map[string]*node
	all      []*node
	problems []string
}

func parseTrace(t Trace) *parsedTrace {
	p := &parsedTrace{Trace: t, byID: map[string]*node{}}
	var loose []*node // subsegments sent as their own documents
	var add func(d doc, parent *node, segment bool) *node
	add = func(d doc, parent *node, segment bool) *node {
		n := &node{doc: d, segment: segment, parent: parent}
		n.Subsegments = nil
		// X-Ray adds inferred segments for uninstrumented downstreams; they must not shadow the
		// subsegment they were inferred from.
		if d.ID != "" && (!d.Inferred || p.byID[d.ID] == nil) {
			p.byID[d.ID] = n
		}
		p.all = append(p.all, n)
		for _, sub := range d.Subsegments {
			n.children = append(n.children, add(sub, n, false))
		}
		return n
	}
	for i, raw := range t.Documents {
		var d doc
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			p.problems = append(p.problems, fmt.Sprintf("document %d is not JSON: %v", i+1, err))
			continue
		}
		if d.Type == "subsegment" {
			loose = append(loose, add(d, nil, false))
			continue
		}
		p.segments = append(p.segments, add(d, nil, true))
	}
	for _, n := range loose {
		if parent := p.byID[n.ParentID]; parent != nil {
			n.parent = parent
			parent.children = append(parent.children, n)
		}
	}
	return p
}

func (p *parsedTrace) segmentsNamed(name string) []*node {
	var out []*node
	for _, s := range p.segments {
		if s.Name == name && !s.Inferred {
			out = append(out, s)
		}
	}
	return out
}

func (p *parsedTrace) segmentNames() string {
	if len(p.segments) == 0 {
		return "none"
	}
	var names []string
	for _, s := range p.segments {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// under lists the subsegments owned by segment seg that match keep.
func (p *parsedTrace) under(seg *node, keep func(*node) bool) []*node {
	var out []*node
	for _, n := range p.all {
		if n != seg && n.owner() == seg && keep(n) {
			out = append(out, n)
		}
	}
	return out
}

func (p *parsedTrace) label() string {
	if p.Request != "" {
		return fmt.Sprintf("trace %s (%s)", p.ID, p.Request)
	}
	return "trace " + p.ID
}

// Verify checks the traces of our requests for the inter-service communication that the system
// must show: each request's trace has the products segment; in one trace the payments segment's
// parent is the products subsegment of the HTTP call to payments; and products' SQL queries are
// subsegments. It is a pure function of the documents.
func Verify(traces []Trace, want Expect) Result {
	var res Result
	var parsed []*parsedTrace
	for _, t := range traces {
		p := parseTrace(t)
		parsed = append(parsed, p)
		res.Trees = append(res.Trees, p.tree())
	}
	if len(parsed) == 0 {
		res.Checks = append(res.Checks, Check{Name: "traces", Detail: "X-Ray returned none of the traces of our requests"})
		return res
	}

	var missing, problems []string
	for _, p := range parsed {
		if len(p.Documents) == 0 {
			missing = append(missing, p.label()+": no segments")
		}
		for _, pr := range p.problems {
			problems = append(problems, p.label()+": "+pr)
		}
	}
	if len(missing)+len(problems) > 0 {
		res.Checks = append(res.Checks, Check{Name: "traces", Detail: strings.Join(append(missing, problems...), "; ")})
	} else {
		res.Checks = append(res.Checks, Check{Name: "traces", OK: true, Detail: fmt.Sprintf("%d trace(s) with segment documents", len(parsed))})
	}

	res.Checks = append(res.Checks, checkProducts(parsed, want))
	res.Checks = append(res.Checks, checkPaymentsCall(parsed, want))
	res.Checks = append(res.Checks, checkSQL(parsed, want))
	return res
}

func checkProducts(parsed []*parsedTrace, want Expect) Check {
	c := Check{Name: want.Products + " segment"}
	var bad []string
	for _, p := range parsed {
		if len(p.segmentsNamed(want.Products)) == 0 {
			bad = append(bad, fmt.Sprintf("%s has no %q segment (segments: %s)", p.label(), want.Products, p.segmentNames()))
		}
	}
	if len(bad) > 0 {
		c.Detail = strings.Join(bad, "; ")
		return c
	}
	c.OK = true
	c.Detail = fmt.Sprintf("present in all %d trace(s)", len(parsed))
	return c
}

// checkPaymentsCall looks for a payments segment whose parent_id is the id of an HTTP subsegment
// owned by the products segment of the same trace: that is what makes the call one trace.
func checkPaymentsCall(parsed []*parsedTrace, want Expect) Check {
	c := Check{Name: want.Payments + " segment is a child of the " + want.Products + " HTTP call"}
	// Traces without a payments segment matter only when no trace has one: otherwise the
	// report is about the payments segments that are there.
	var why, absent []string
	for _, p := range parsed {
		pays := p.segmentsNamed(want.Payments)
		if len(pays) == 0 {
			absent = append(absent, fmt.Sprintf("%s has no %q segment (segments: %s)", p.label(), want.Payments, p.segmentNames()))
			continue
		}
		prods := p.segmentsNamed(want.Products)
		var calls []*node
		for _, prod := range prods {
			calls = append(calls, p.under(prod, (*node).isHTTPCall)...)
		}
		for _, pay := range pays {
			parent := p.byID[pay.ParentID]
			switch {
			case pay.ParentID == "":
				why = append(why, fmt.Sprintf("%s: %q segment %s has no parent_id (it is a trace root, not a child of %s's call)", p.label(), want.Payments, pay.ID, want.Products))
			case parent == nil:
				why = append(why, fmt.Sprintf("%s: %q segment %s has parent_id %s, which is no segment or subsegment in the trace; HTTP calls of %s: %s", p.label(), want.Payments, pay.ID, pay.ParentID, want.Products, describeAll(calls)))
			case parent.segment && parent.Name == want.Products:
				why = append(why, fmt.Sprintf("%s: %q segment %s has parent %q segment %s itself, not a subsegment for its HTTP call (was the call made without the X-Ray HTTP client?)", p.label(), want.Payments, pay.ID, want.Products, parent.ID))
			case parent.owner() == nil || parent.owner().Name != want.Products:
				owner := "no segment"
				if o := parent.owner(); o != nil {
					owner = fmt.Sprintf("segment %q", o.Name)
				}
				why = append(why, fmt.Sprintf("%s: %q segment %s has parent %s, which belongs to %s, not %q", p.label(), want.Payments, pay.ID, parent.describe(), owner, want.Products))
			case !parent.isHTTPCall():
				why = append(why, fmt.Sprintf("%s: %q segment %s has parent %s, a %s subsegment that is not an HTTP call", p.label(), want.Payments, pay.ID, parent.describe(), want.Products))
			default:
				c.OK = true
				c.Detail = fmt.Sprintf("%s: %q segment %s has parent %s in %q segment %s", p.label(), want.Payments, pay.ID, parent.describe(), want.Products, parent.owner().ID)
				return c
			}
		}
	}
	if len(why) == 0 {
		why = absent
	}
	c.Detail = strings.Join(why, "; ")
	return c
}

func checkSQL(parsed []*parsedTrace, want Expect) Check {
	c := Check{Name: "SQL subsegments under " + want.Products}
	isSQL := func(n *node) bool { return n.SQL != nil }
	var why []string
	for _, p := range parsed {
		for _, prod := range p.segmentsNamed(want.Products) {
			if queries := p.under(prod, isSQL); len(queries) > 0 {
				c.OK = true
				q := queries[0]
				c.Detail = fmt.Sprintf("%s: %d SQL subsegment(s), e.g. %q %s %q", p.label(), len(queries), q.Name, q.SQL.DatabaseType, q.SQL.SanitizedQuery)
				return c
			}
		}
		if others := sqlOutside(p, want.Products); others != "" {
			why = append(why, fmt.Sprintf("%s: SQL subsegments only outside %q (%s)", p.label(), want.Products, others))
		}
	}
	c.Detail = fmt.Sprintf("no subsegment with an \"sql\" block under a %q segment in any of the %d trace(s)", want.Products, len(parsed))
	if len(why) > 0 {
		c.Detail += "; " + strings.Join(why, "; ")
	}
	return c
}

func sqlOutside(p *parsedTrace, products string) string {
	var names []string
	for _, n := range p.all {
		if n.SQL == nil {
			continue
		}
		owner := "no segment"
		if o := n.owner(); o != nil {
			if o.Name == products {
				continue
			}
			owner = o.Name
		}
		names = append(names, fmt.Sprintf("%q in %s", n.Name, owner))
	}
	return strings.Join(names, ", ")
}

func describeAll(ns []*node) string {
	if len(ns) == 0 {
		return "none"
	}
	var out []string
	for _, n := range ns {
		out = append(out, n.describe())
	}
	return strings.Join(out, ", ")
}

// tree renders the trace for the report: segments, then the subsegments that say something
// about the communication (HTTP calls, SQL, remote namespaces), with durations.
func (p *parsedTrace) tree() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", p.label())
	var walk func(n *node, depth int)
	walk = func(n *node, depth int) {
		fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth+1), n.line())
		for _, ch := range n.children {
			if ch.segment || ch.SQL != nil || ch.HTTP != nil || ch.Namespace != "" {
				walk(ch, depth+1)
			}
		}
	}
	roots := append([]*node{}, p.segments...)
	sort.SliceStable(roots, func(i, j int) bool { return roots[i].StartTime < roots[j].StartTime })
	for _, s := range roots {
		walk(s, 0)
	}
	for _, n := range p.all {
		if !n.segment && n.parent == nil {
			fmt.Fprintf(&b, "  (detached) %s\n", n.line())
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func (n *node) line() string {
	var b strings.Builder
	if n.segment {
		fmt.Fprintf(&b, "segment %s id=%s", n.Name, n.ID)
		if n.ParentID != "" {
			fmt.Fprintf(&b, " parent=%s", n.ParentID)
		}
	} else {
		fmt.Fprintf(&b, "- %s id=%s", n.Name, n.ID)
	}
	if n.HTTP != nil && n.HTTP.Request != nil && n.HTTP.Request.URL != "" {
		fmt.Fprintf(&b, " %s %s", n.HTTP.Request.Method, n.HTTP.Request.URL)
	}
	if n.HTTP != nil && n.HTTP.Response != nil && n.HTTP.Response.Status != 0 {
		fmt.Fprintf(&b, " -> %d", n.HTTP.Response.Status)
	}
	if n.SQL != nil {
		fmt.Fprintf(&b, " sql %s %q", n.SQL.DatabaseType, n.SQL.SanitizedQuery)
	}
	if n.EndTime > 0 && n.StartTime > 0 {
		fmt.Fprintf(&b, " (%.1f ms)", (n.EndTime-n.StartTime)*1000)
	}
	if n.Fault {
		b.WriteString(" FAULT")
	} else if n.Error {
		b.WriteString(" ERROR")
	}
	return b.String()
}
