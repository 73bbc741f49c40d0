package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// spanPoller prints the traces a span store receives (TRACING=otel): it asks the store for the
// traces of both services every poll interval, and prints each trace as a tree, with its link in
// the Jaeger UI if there is one, once its span count has not changed for the quiet period (the
// services export their spans separately, in batches).
type spanPoller struct {
	store    spanStore
	traceURL func(traceID string) string // nil: no link
	out      io.Writer
	quiet    time.Duration
	since    time.Time

	pending map[string]*pendingSpans
	printed map[string]bool

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

type pendingSpans struct {
	spans   []testenv.Span
	changed time.Time
}

// spanStore is where the services' spans go and are read back from: a Jaeger (its query API) or
// an OTLP receiver in this process.
type spanStore interface {
	FindTraces(ctx context.Context, service string, since time.Time) ([]testenv.Span, error)
}

const pollInterval = 250 * time.Millisecond

func newSpanPoller(store spanStore, traceURL func(string) string, out io.Writer, quiet time.Duration) *spanPoller {
	ctx, cancel := context.WithCancel(context.Background())
	p := &spanPoller{
		store: store, traceURL: traceURL, out: out, quiet: quiet, since: time.Now().Add(-time.Second),
		pending: map[string]*pendingSpans{}, printed: map[string]bool{},
		cancel: cancel, done: make(chan struct{}),
	}
	go p.loop(ctx)
	return p
}

func (p *spanPoller) loop(ctx context.Context) {
	defer close(p.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(pollInterval):
		}
		p.poll(ctx, false)
	}
}

// poll fetches the traces and prints those that are quiet (all of them with final).
func (p *spanPoller) poll(ctx context.Context, final bool) {
	byTrace := map[string][]testenv.Span{}
	for _, service := range []string{"products", "payments"} {
		spans, err := p.store.FindTraces(ctx, service, p.since)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(p.out, "local: %v\n", err)
			}
			return
		}
		for _, s := range spans {
			byTrace[s.TraceID] = appendUnique(byTrace[s.TraceID], s)
		}
	}
	now := time.Now()
	for id, spans := range byTrace {
		if p.printed[id] {
			continue
		}
		t, ok := p.pending[id]
		if !ok || len(t.spans) != len(spans) {
			p.pending[id] = &pendingSpans{spans: spans, changed: now}
		}
	}
	for id, t := range p.pending {
		if final || now.Sub(t.changed) >= p.quiet {
			p.print(id, t.spans)
			delete(p.pending, id)
			p.printed[id] = true
		}
	}
}

func appendUnique(spans []testenv.Span, s testenv.Span) []testenv.Span {
	for _, have := range spans {
		if have.SpanID == s.SpanID {
			return spans
		}
	}
	return append(spans, s)
}

func (p *spanPoller) print(traceID string, spans []testenv.Span) {
	word := "spans"
	if len(spans) == 1 {
		word = "span"
	}
	link := ""
	if p.traceURL != nil {
		link = "  " + p.traceURL(traceID)
	}
	fmt.Fprintf(p.out, "trace %s (%d %s)%s\n", testenv.XRayTraceID(traceID), len(spans), word, link)
	_ = testenv.FormatSpanTree(p.out, spans)
	fmt.Fprintln(p.out)
}

// stop ends the polling and prints what is still pending.
func (p *spanPoller) stop() {
	p.once.Do(func() {
		p.cancel()
		<-p.done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.poll(ctx, true)
	})
}
