package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// tracePrinter groups segment documents by trace and prints each trace as a tree once no
// document of it has arrived for a quiet period: the services send their segments separately
// (payments usually first), so a trace is complete only after the last one.
type tracePrinter struct {
	out   io.Writer
	quiet time.Duration

	mu      sync.Mutex
	pending map[string]*pendingTrace
}

type pendingTrace struct {
	docs  []testenv.Segment
	timer *time.Timer
}

func newTracePrinter(out io.Writer, quiet time.Duration) *tracePrinter {
	return &tracePrinter{out: out, quiet: quiet, pending: map[string]*pendingTrace{}}
}

// add takes one document; it is the listener's callback.
func (p *tracePrinter) add(doc testenv.Document) {
	traceID := doc.Segment.TraceID
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.pending[traceID]
	if !ok {
		t = &pendingTrace{}
		t.timer = time.AfterFunc(p.quiet, func() { p.printTrace(traceID) })
		p.pending[traceID] = t
	} else {
		t.timer.Reset(p.quiet)
	}
	t.docs = append(t.docs, doc.Segment)
}

// printTrace prints one trace and forgets it.
func (p *tracePrinter) printTrace(traceID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.pending[traceID]
	if !ok {
		return
	}
	delete(p.pending, traceID)
	documents := "documents"
	if len(t.docs) == 1 {
		documents = "document"
	}
	fmt.Fprintf(p.out, "trace %s (%d segment %s)\n", traceID, len(t.docs), documents)
	testenv.FormatTraceTree(p.out, t.docs)
	fmt.Fprintln(p.out)
}

// flush prints every trace still waiting for its quiet period.
func (p *tracePrinter) flush() {
	p.mu.Lock()
	var ids []string
	for id, t := range p.pending {
		t.timer.Stop()
		ids = append(ids, id)
	}
	p.mu.Unlock()
	for _, id := range ids {
		p.printTrace(id)
	}
}
