package testenv

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Span is an OpenTelemetry span as Jaeger's query API (v3, OTLP JSON) gives it back.
type Span struct {
	TraceID      string // 32 hex digits
	SpanID       string // 16 hex digits
	ParentSpanID string // "" for a root span
	Name         string
	Kind         string // server, client, internal, producer, consumer
	Service      string // the resource's service.name
	Start, End   time.Time
	Attributes   map[string]string // every value as text
	Resource     map[string]string
	StatusCode   string // unset, ok, error
	StatusMsg    string
	Events       []SpanEvent
}

// SpanEvent is an event of a span (an exception recorded with RecordError is one named "exception").
type SpanEvent struct {
	Name       string
	Attributes map[string]string
}

// Duration is End - Start.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// XRayTraceID is the trace id in X-Ray's form, 1-<8 hex>-<24 hex>.
func XRayTraceID(traceID string) string {
	if len(traceID) != 32 {
		return traceID
	}
	return "1-" + traceID[:8] + "-" + traceID[8:]
}

// OTelTraceID is an X-Ray trace id (1-<8 hex>-<24 hex>) as 32 hex digits.
func OTelTraceID(xrayID string) string {
	if len(xrayID) == 35 && strings.HasPrefix(xrayID, "1-") {
		return xrayID[2:10] + xrayID[11:]
	}
	return xrayID
}

// The OTLP JSON of the query API, as far as we read it.
type (
	otlpTraces struct {
		Result struct {
			ResourceSpans []struct {
				Resource struct {
					Attributes []otlpKeyValue `json:"attributes"`
				} `json:"resource"`
				ScopeSpans []struct {
					Spans []otlpSpan `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"resourceSpans"`
		} `json:"result"`
	}
	otlpSpan struct {
		TraceID      string          `json:"traceId"`
		SpanID       string          `json:"spanId"`
		ParentSpanID string          `json:"parentSpanId"`
		Name         string          `json:"name"`
		Kind         json.RawMessage `json:"kind"`
		Start        json.RawMessage `json:"startTimeUnixNano"`
		End          json.RawMessage `json:"endTimeUnixNano"`
		Attributes   []otlpKeyValue  `json:"attributes"`
		Events       []struct {
			Name       string         `json:"name"`
			Attributes []otlpKeyValue `json:"attributes"`
		} `json:"events"`
		Status struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
		} `json:"status"`
	}
	otlpKeyValue struct {
		Key   string                     `json:"key"`
		Value map[string]json.RawMessage `json:"value"`
	}
)

// ParseOTLPTraces reads the answer of GET /api/v3/traces/{id} or /api/v3/traces (OTLP JSON, ids
// in hex or base64, enums as names or numbers).
func ParseOTLPTraces(b []byte) ([]Span, error) {
	var doc otlpTraces
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("OTLP JSON: %w", err)
	}
	var spans []Span
	for _, rs := range doc.Result.ResourceSpans {
		res := attributeMap(rs.Resource.Attributes)
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				span := Span{
					TraceID:      otlpID(s.TraceID),
					SpanID:       otlpID(s.SpanID),
					ParentSpanID: otlpID(s.ParentSpanID),
					Name:         s.Name,
					Kind:         enumName(s.Kind, "SPAN_KIND_", []string{"unspecified", "internal", "server", "client", "producer", "consumer"}),
					Service:      res["service.name"],
					Start:        unixNano(s.Start),
					End:          unixNano(s.End),
					Attributes:   attributeMap(s.Attributes),
					Resource:     res,
					StatusCode:   enumName(s.Status.Code, "STATUS_CODE_", []string{"unset", "ok", "error"}),
					StatusMsg:    s.Status.Message,
				}
				for _, e := range s.Events {
					span.Events = append(span.Events, SpanEvent{Name: e.Name, Attributes: attributeMap(e.Attributes)})
				}
				spans = append(spans, span)
			}
		}
	}
	return spans, nil
}

// otlpID is a trace or span id in hex, whether the JSON had hex or base64.
func otlpID(s string) string {
	if s == "" {
		return ""
	}
	if _, err := hex.DecodeString(s); err == nil && (len(s) == 32 || len(s) == 16) {
		return strings.ToLower(s)
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		if allZero(b) {
			return ""
		}
		return hex.EncodeToString(b)
	}
	return s
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// enumName turns "SPAN_KIND_SERVER" or 2 into "server".
func enumName(raw json.RawMessage, prefix string, names []string) string {
	if len(raw) == 0 {
		return names[0]
	}
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		if n >= 0 && n < len(names) {
			return names[n]
		}
		return strconv.Itoa(n)
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return strings.ToLower(strings.TrimPrefix(s, prefix))
}

func unixNano(raw json.RawMessage) time.Time {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw)
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Unix(0, n)
}

func attributeMap(kvs []otlpKeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		for _, v := range kv.Value {
			var s string
			if err := json.Unmarshal(v, &s); err == nil {
				m[kv.Key] = s
			} else {
				m[kv.Key] = string(v)
			}
		}
	}
	return m
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// spans queries Jaeger's API at path and parses the traces it answers; none on 404. what names
// the query in errors.
func (j *Jaeger) spans(ctx context.Context, path, what string) ([]Span, error) {
	resp, err := j.get(ctx, path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		return nil, nil
	case http.StatusOK:
		return ParseOTLPTraces(body)
	}
	return nil, fmt.Errorf("jaeger: %s: %d %s", what, resp.StatusCode, body)
}

// FindTraces returns the spans of the traces with a span of service that started after since.
func (j *Jaeger) FindTraces(ctx context.Context, service string, since time.Time) ([]Span, error) {
	q := url.Values{
		"query.service_name":   {service},
		"query.start_time_min": {since.UTC().Format(time.RFC3339Nano)},
		"query.start_time_max": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339Nano)},
		"query.num_traces":     {"1000"},
		"query.raw_traces":     {"true"},
	}
	return j.spans(ctx, "/api/v3/traces?"+q.Encode(), "find traces of "+service)
}

// FormatSpanTree writes the spans of one trace as an indented tree, a line per span: service and
// name, what it did (HTTP request, SQL), the status code, its duration and an error with its
// message.
func FormatSpanTree(w io.Writer, spans []Span) error {
	children := map[string][]Span{}
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	var roots []Span
	for _, s := range spans {
		if s.ParentSpanID != "" && ids[s.ParentSpanID] && s.ParentSpanID != s.SpanID {
			children[s.ParentSpanID] = append(children[s.ParentSpanID], s)
		} else {
			roots = append(roots, s)
		}
	}
	byStart := func(list []Span) {
		sort.SliceStable(list, func(i, j int) bool { return list[i].Start.Before(list[j].Start) })
	}
	byStart(roots)
	var write func(s Span, indent string, last, root bool) error
	write = func(s Span, indent string, last, root bool) error {
		branch, childIndent := "", ""
		if !root {
			branch, childIndent = "├─ ", indent+"│  "
			if last {
				branch, childIndent = "└─ ", indent+"   "
			}
		}
		if _, err := fmt.Fprintf(w, "%s%s%s\n", indent, branch, describeSpan(s)); err != nil {
			return err
		}
		kids := children[s.SpanID]
		byStart(kids)
		for i, c := range kids {
			if err := write(c, childIndent, i == len(kids)-1, false); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range roots {
		if err := write(r, "", true, true); err != nil {
			return err
		}
	}
	return nil
}

func describeSpan(s Span) string {
	parts := []string{s.Service + ": " + s.Name + " (" + s.Kind + ")"}
	a := s.Attributes
	if m := a["http.request.method"]; m != "" {
		target := a["url.full"]
		if target == "" {
			target = a["url.path"]
		}
		parts = append(parts, m+" "+target)
	}
	if q := a["db.query.text"]; q != "" {
		parts = append(parts, "SQL: "+shorten(strings.Join(strings.Fields(q), " "), 120))
	}
	if code := a["http.response.status_code"]; code != "" {
		parts = append(parts, "-> "+code)
	}
	parts = append(parts, fmt.Sprintf("%.2f ms", float64(s.Duration().Microseconds())/1000))
	if s.StatusCode == "error" {
		parts = append(parts, "ERROR")
		if s.StatusMsg != "" {
			parts = append(parts, "cause: "+shorten(s.StatusMsg, 100))
		}
	}
	return strings.Join(parts, "  ")
}
