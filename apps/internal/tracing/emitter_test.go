package tracing

import (
	"net"
	"testing"
	"time"

	"github.com/aws/aws-xray-sdk-go/v2/xray"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// newSegment builds a sampled root segment as the SDK would hand it to an emitter.
func newSegment(id string, inProgress bool) *xray.Segment {
	seg := &xray.Segment{ID: id, TraceID: "1-5f84c7a5-0123456789abcdef01234567", Name: "svc", StartTime: 1, InProgress: inProgress, Sampled: true}
	if !inProgress {
		seg.EndTime = 2
	}
	seg.ParentSegment = seg
	return seg
}

func TestOnceEmitterSendsACompletedSegmentOnce(t *testing.T) {
	segments := testenv.StartSegmentListener(t)
	addr, err := net.ResolveUDPAddr("udp", segments.Addr())
	if err != nil {
		t.Fatal(err)
	}
	inner, err := xray.NewDefaultEmitter(addr)
	if err != nil {
		t.Fatal(err)
	}
	e := newOnceEmitter(inner)
	e.RefreshEmitterWithAddress(addr)

	closed := newSegment("aaaaaaaaaaaaaaaa", false)
	e.Emit(closed)
	e.Emit(closed) // what the SDK's Close race does
	progress := newSegment("bbbbbbbbbbbbbbbb", true)
	e.Emit(progress) // an in-progress document...
	e.Emit(newSegment("bbbbbbbbbbbbbbbb", false))
	e.Emit(newSegment("bbbbbbbbbbbbbbbb", false)) // ...then the completed one, once

	want := map[string]int{"aaaaaaaaaaaaaaaa": 1, "bbbbbbbbbbbbbbbb": 2}
	deadline := time.Now().Add(5 * time.Second)
	for len(segments.Segments()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // room for a wrongly sent extra copy to arrive
	got := map[string]int{}
	for _, s := range segments.Segments() {
		got[s.ID]++
	}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("segment %s sent %d times, want %d", id, got[id], n)
		}
	}
}

func TestOnceEmitterForgetsOldIDs(t *testing.T) {
	e := newOnceEmitter(nil)
	if !e.firstCompletion("first") {
		t.Fatal("a new ID is not a first completion")
	}
	for i := range recentIDs {
		e.firstCompletion(string(rune('a'+i%26)) + time.Duration(i).String())
	}
	if len(e.seen) != recentIDs {
		t.Fatalf("remembers %d IDs, want at most %d", len(e.seen), recentIDs)
	}
	if !e.firstCompletion("first") {
		t.Fatal("an ID older than the window is still remembered")
	}
}
