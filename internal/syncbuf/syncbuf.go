// Package syncbuf is a bytes.Buffer that concurrent writers and a reader may share (a
// logger's handlers, a process's stdout and stderr copiers, timers), for tests and tools.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is safe for concurrent Write and String calls. The zero value is empty and ready.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
