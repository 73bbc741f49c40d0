package testenv

import (
	"net"
	"strings"
	"testing"
	"time"
)

const sampleDoc = `{"trace_id":"1-5f84c7a5-0123456789abcdef01234567","id":"70de5b6f19ff9a0a","name":"products","start_time":1.5,"end_time":1.75,"fault":true,` +
	`"http":{"request":{"method":"GET","url":"http://h/api/1.0/payments"},"response":{"status":502}},"cause":{"exceptions":[{"message":"boom"}]},` +
	`"subsegments":[{"id":"b1","name":"payments:8080","start_time":1.5,"end_time":1.7,"namespace":"remote","fault":true,` +
	`"subsegments":[{"id":"b2","name":"connect","start_time":1.5,"end_time":1.6}]}]}`

func TestParseDatagram(t *testing.T) {
	doc, err := ParseDatagram([]byte("{\"format\": \"json\", \"version\": 1}\n" + sampleDoc))
	if err != nil {
		t.Fatal(err)
	}
	s := doc.Segment
	if doc.Raw != sampleDoc {
		t.Errorf("Raw is not the document as sent:\n%s", doc.Raw)
	}
	if s.Name != "products" || !s.Fault || s.HTTP.Response.Status != 502 || s.Cause.Exceptions[0].Message != "boom" || s.Duration() != 250*time.Millisecond {
		t.Errorf("parsed %+v", s)
	}
	if len(s.Subsegments) != 1 || s.Subsegments[0].Namespace != "remote" || s.Subsegments[0].Subsegments[0].Name != "connect" {
		t.Errorf("nested subsegments not parsed: %+v", s.Subsegments)
	}
	var names []string
	s.Walk(func(seg Segment, depth int) { names = append(names, strings.Repeat(">", depth)+seg.Name) })
	if strings.Join(names, ",") != "products,>payments:8080,>>connect" {
		t.Errorf("Walk visited %v", names)
	}
	if faults := s.Find(func(seg Segment) bool { return seg.Fault }); len(faults) != 2 {
		t.Errorf("Find found %d faulted segments, want 2", len(faults))
	}

	for name, bad := range map[string]string{
		"no header":        sampleDoc,
		"wrong header":     "{\"format\": \"xml\", \"version\": 1}\n" + sampleDoc,
		"not JSON":         "{\"format\": \"json\", \"version\": 1}\nnot json",
		"without trace id": "{\"format\": \"json\", \"version\": 1}\n{\"id\":\"x\",\"name\":\"n\"}",
	} {
		if _, err := ParseDatagram([]byte(bad)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

func TestCauseMayBeAnExceptionID(t *testing.T) {
	doc, err := ParseDatagram([]byte("{\"format\": \"json\", \"version\": 1}\n" +
		`{"trace_id":"1-5f84c7a5-0123456789abcdef01234567","id":"a","name":"n","start_time":1,"cause":"4fb2c6d1a2b3c4d5"}`))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Segment.Cause == nil || doc.Segment.Cause.ID != "4fb2c6d1a2b3c4d5" {
		t.Fatalf("cause %+v", doc.Segment.Cause)
	}
}

func TestSegmentListenerCollectsDatagrams(t *testing.T) {
	var received []string
	l := StartSegmentListener(t)
	conn, err := net.Dial("udp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	second := strings.Replace(sampleDoc, `"id":"70de5b6f19ff9a0a"`, `"id":"80de5b6f19ff9a0a"`, 1)
	for _, d := range []string{sampleDoc, second} {
		if _, err := conn.Write([]byte("{\"format\": \"json\", \"version\": 1}\n" + d)); err != nil {
			t.Fatal(err)
		}
	}
	segs, err := l.WaitForTrace("1-5f84c7a5-0123456789abcdef01234567", 2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 || segs[0].ID != "70de5b6f19ff9a0a" || segs[1].ID != "80de5b6f19ff9a0a" {
		t.Fatalf("segments %+v", segs)
	}
	received = l.RawSegments()
	if len(received) != 2 || received[0] != sampleDoc || received[1] != second {
		t.Fatalf("raw segments %q", received)
	}
	if _, err := l.WaitForTrace("1-00000000-000000000000000000000000", 1, 50*time.Millisecond); err == nil {
		t.Fatal("WaitForTrace returned a trace that was never sent")
	}
}

func TestListenSegmentsCallsBackAndReportsBadDatagrams(t *testing.T) {
	got := make(chan Document, 1)
	l, err := ListenSegments("127.0.0.1:0", func(d Document) { got <- d })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conn, err := net.Dial("udp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("garbage"))
	conn.Write([]byte("{\"format\": \"json\", \"version\": 1}\n" + sampleDoc))
	select {
	case d := <-got:
		if d.Segment.Name != "products" || d.Received.IsZero() {
			t.Fatalf("callback got %+v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no callback")
	}
	if errs := l.Errors(); len(errs) != 1 {
		t.Fatalf("errors %v, want the one garbage datagram", errs)
	}
}
