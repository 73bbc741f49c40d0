package testenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// Segment is an X-Ray segment or subsegment document, as the SDK sends it to the daemon.
// Subsegments hold the subsegments embedded in it; a subsegment sent on its own (the SDK streams
// them when a segment has many) is a Segment with Type "subsegment" and a ParentID.
type Segment struct {
	ID          string    `json:"id"`
	TraceID     string    `json:"trace_id,omitempty"`
	ParentID    string    `json:"parent_id,omitempty"`
	Name        string    `json:"name"`
	StartTime   float64   `json:"start_time"`
	EndTime     float64   `json:"end_time,omitempty"`
	InProgress  bool      `json:"in_progress,omitempty"`
	Fault       bool      `json:"fault,omitempty"`
	Error       bool      `json:"error,omitempty"`
	Throttle    bool      `json:"throttle,omitempty"`
	Origin      string    `json:"origin,omitempty"`
	Type        string    `json:"type,omitempty"`
	Namespace   string    `json:"namespace,omitempty"`
	HTTP        *HTTP     `json:"http,omitempty"`
	SQL         *SQL      `json:"sql,omitempty"`
	Cause       *Cause    `json:"cause,omitempty"`
	Subsegments []Segment `json:"subsegments,omitempty"`
}

// HTTP is a segment's http block: the request it served or made, and the answer.
type HTTP struct {
	Request  *HTTPRequest  `json:"request,omitempty"`
	Response *HTTPResponse `json:"response,omitempty"`
}

// HTTPRequest describes an HTTP request.
type HTTPRequest struct {
	Method    string `json:"method,omitempty"`
	URL       string `json:"url,omitempty"`
	ClientIP  string `json:"client_ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	Traced    bool   `json:"traced,omitempty"`
}

// HTTPResponse describes an HTTP answer.
type HTTPResponse struct {
	Status        int `json:"status,omitempty"`
	ContentLength int `json:"content_length,omitempty"`
}

// SQL is a subsegment's sql block.
type SQL struct {
	URL              string `json:"url,omitempty"`
	ConnectionString string `json:"connection_string,omitempty"`
	DatabaseType     string `json:"database_type,omitempty"`
	DatabaseVersion  string `json:"database_version,omitempty"`
	DriverVersion    string `json:"driver_version,omitempty"`
	User             string `json:"user,omitempty"`
	Preparation      string `json:"preparation,omitempty"`
	SanitizedQuery   string `json:"sanitized_query,omitempty"`
}

// Cause says why a segment has its fault or error flag: the exceptions recorded in it, or
// (in X-Ray's other form) just the ID of an exception recorded elsewhere.
type Cause struct {
	ID               string      `json:"id,omitempty"`
	WorkingDirectory string      `json:"working_directory,omitempty"`
	Exceptions       []Exception `json:"exceptions,omitempty"`
}

// UnmarshalJSON accepts both forms of cause: an object, or a string holding an exception ID.
func (c *Cause) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &c.ID)
	}
	type plain Cause // without this method, to avoid recursing
	return json.Unmarshal(b, (*plain)(c))
}

// Exception is one recorded error.
type Exception struct {
	ID      string `json:"id,omitempty"`
	Message string `json:"message,omitempty"`
	Type    string `json:"type,omitempty"`
	Remote  bool   `json:"remote,omitempty"`
}

// Duration is end_time - start_time (0 while in progress).
func (s Segment) Duration() time.Duration {
	if s.EndTime == 0 {
		return 0
	}
	return time.Duration((s.EndTime - s.StartTime) * float64(time.Second))
}

// Walk calls fn for s and every subsegment below it, depth first, with the depth (s is 0).
func (s Segment) Walk(fn func(seg Segment, depth int)) {
	var walk func(seg Segment, depth int)
	walk = func(seg Segment, depth int) {
		fn(seg, depth)
		for _, sub := range seg.Subsegments {
			walk(sub, depth+1)
		}
	}
	walk(s, 0)
}

// Find returns s or the subsegments below it for which match is true, depth first.
func (s Segment) Find(match func(Segment) bool) []Segment {
	var found []Segment
	s.Walk(func(seg Segment, _ int) {
		if match(seg) {
			found = append(found, seg)
		}
	})
	return found
}

// Document is one segment document received by a SegmentListener.
type Document struct {
	// Raw is the document exactly as received, without the header line: what the daemon would
	// forward to X-Ray's PutTraceSegments.
	Raw      string
	Segment  Segment
	Received time.Time
}

// daemonHeader is the first line of every datagram the SDK sends to the daemon.
type daemonHeader struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
}

// ParseDatagram splits a datagram into its header line and segment document, checks the header
// is {"format": "json", "version": 1}, and parses the document.
func ParseDatagram(datagram []byte) (Document, error) {
	headerLine, body, found := bytes.Cut(datagram, []byte("\n"))
	if !found {
		return Document{}, errors.New("datagram has no header line")
	}
	var header daemonHeader
	if err := json.Unmarshal(headerLine, &header); err != nil || header.Format != "json" || header.Version != 1 {
		return Document{}, fmt.Errorf("datagram header %q is not {\"format\": \"json\", \"version\": 1}", headerLine)
	}
	body = bytes.TrimSpace(body)
	var seg Segment
	if err := json.Unmarshal(body, &seg); err != nil {
		return Document{}, fmt.Errorf("segment document: %w", err)
	}
	if seg.ID == "" || seg.TraceID == "" {
		return Document{}, fmt.Errorf("segment document without id or trace_id: %s", body)
	}
	return Document{Raw: string(body), Segment: seg}, nil
}

// SegmentListener stands in for the X-Ray daemon: it receives the datagrams the services send to
// AWS_XRAY_DAEMON_ADDRESS and keeps the segment documents they hold.
type SegmentListener struct {
	conn       *net.UDPConn
	onDocument func(Document)
	done       chan struct{}

	mu      sync.Mutex
	docs    []Document
	errs    []error
	arrived chan struct{} // closed and replaced whenever a document arrives
}

// StartSegmentListener listens on a free UDP port of 127.0.0.1 until the test ends. The test
// fails at its end if a datagram could not be parsed.
func StartSegmentListener(tb testing.TB) *SegmentListener {
	tb.Helper()
	l, err := ListenSegments("127.0.0.1:0", nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		l.Close()
		for _, err := range l.Errors() {
			tb.Errorf("segment listener: %v", err)
		}
	})
	return l
}

// ListenSegments listens on addr (e.g. "127.0.0.1:0") and, if onDocument is not nil, calls it
// from the receiving goroutine with each document as it arrives. Close stops it.
func ListenSegments(addr string, onDocument func(Document)) (*SegmentListener, error) {
	udpAddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", udpAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for segments on %s: %w", addr, err)
	}
	// Bursts of segments must not be dropped while the reader is busy.
	_ = conn.SetReadBuffer(4 << 20)
	l := &SegmentListener{
		conn:       conn,
		onDocument: onDocument,
		done:       make(chan struct{}),
		arrived:    make(chan struct{}),
	}
	go l.receive()
	return l, nil
}

func (l *SegmentListener) receive() {
	defer close(l.done)
	buf := make([]byte, 65536) // the largest UDP datagram
	for {
		n, _, err := l.conn.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		doc, err := ParseDatagram(buf[:n])
		l.mu.Lock()
		if err != nil {
			l.errs = append(l.errs, err)
			l.mu.Unlock()
			continue
		}
		doc.Received = time.Now()
		l.docs = append(l.docs, doc)
		close(l.arrived)
		l.arrived = make(chan struct{})
		l.mu.Unlock()
		if l.onDocument != nil {
			l.onDocument(doc)
		}
	}
}

// Addr is the listener's address, for AWS_XRAY_DAEMON_ADDRESS.
func (l *SegmentListener) Addr() string { return l.conn.LocalAddr().String() }

// Close stops listening and waits for the receiving goroutine to end.
func (l *SegmentListener) Close() error {
	err := l.conn.Close()
	<-l.done
	return err
}

// Documents returns every document received so far, in arrival order.
func (l *SegmentListener) Documents() []Document {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Document(nil), l.docs...)
}

// Segments returns the parsed documents received so far.
func (l *SegmentListener) Segments() []Segment {
	var segs []Segment
	for _, d := range l.Documents() {
		segs = append(segs, d.Segment)
	}
	return segs
}

// RawSegments returns the documents received so far exactly as they arrived (without the header
// line), e.g. to replay them into PutTraceSegments.
func (l *SegmentListener) RawSegments() []string {
	var raw []string
	for _, d := range l.Documents() {
		raw = append(raw, d.Raw)
	}
	return raw
}

// Errors returns why datagrams could not be parsed.
func (l *SegmentListener) Errors() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// Trace returns the documents received so far for one trace ID.
func (l *SegmentListener) Trace(traceID string) []Segment {
	var segs []Segment
	for _, d := range l.Documents() {
		if d.Segment.TraceID == traceID {
			segs = append(segs, d.Segment)
		}
	}
	return segs
}

// WaitForTrace waits until at least n documents of traceID have arrived, and returns them. The
// SDK sends a segment when its request ends, which can be after the client got its answer.
func (l *SegmentListener) WaitForTrace(traceID string, n int, timeout time.Duration) ([]Segment, error) {
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		arrived := l.arrived
		l.mu.Unlock()
		segs := l.Trace(traceID)
		if len(segs) >= n {
			return segs, nil
		}
		select {
		case <-arrived:
		case <-deadline:
			return segs, fmt.Errorf("trace %s: %d segment document(s) after %s, want %d", traceID, len(segs), timeout, n)
		}
	}
}
