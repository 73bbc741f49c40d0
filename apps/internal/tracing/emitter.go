package tracing

import (
	"net"
	"sync"

	"github.com/aws/aws-xray-sdk-go/v2/xray"
)

// recentIDs is how many completed segment IDs onceEmitter remembers. The duplicate it drops comes
// microseconds after the original, so a small window is plenty.
const recentIDs = 1024

// onceEmitter sends each completed segment once.
//
// In SDK v2.0.1, Segment.Close marks the segment closed, cancels the segment's context and then
// sends it; the goroutine watching that context also sends a closed segment that is not yet marked
// as sent. When that goroutine runs between the two steps of Close, the segment goes out twice, and
// the second copy lists its subsegments twice (packing appends them again). It is rare (3 in 80,000
// segments in a stress test on 2 cores) but it makes X-Ray, and our trace tests, see two documents
// with one ID. In-progress documents pass through: the SDK may legitimately send a segment in progress
// and then complete.
type onceEmitter struct {
	inner xray.Emitter

	mu     sync.Mutex
	seen   map[string]struct{}
	recent [recentIDs]string // ring of the IDs in seen, oldest replaced first
	next   int
}

func newOnceEmitter(inner xray.Emitter) *onceEmitter {
	return &onceEmitter{inner: inner, seen: make(map[string]struct{}, recentIDs)}
}

// Emit sends seg unless a completed segment with its ID was just sent. The SDK calls Emit with
// seg locked, so its fields can be read here.
func (e *onceEmitter) Emit(seg *xray.Segment) {
	if seg != nil && !seg.InProgress && !e.firstCompletion(seg.ID) {
		return
	}
	e.inner.Emit(seg)
}

// RefreshEmitterWithAddress points the inner emitter at a new daemon address.
func (e *onceEmitter) RefreshEmitterWithAddress(raddr *net.UDPAddr) {
	e.inner.RefreshEmitterWithAddress(raddr)
}

func (e *onceEmitter) firstCompletion(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.seen[id]; dup {
		return false
	}
	delete(e.seen, e.recent[e.next])
	e.recent[e.next] = id
	e.seen[id] = struct{}{}
	e.next = (e.next + 1) % recentIDs
	return true
}
