package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

// Concurrent writers lose nothing and interleave whole writes (go test -race finds a missing lock).
func TestConcurrentWritesAreKeptWhole(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				b.Write([]byte("line\n"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(b.String(), "line\n"); n != 800 || len(b.String()) != 800*len("line\n") {
		t.Errorf("%d whole lines in %d bytes, want 800", n, len(b.String()))
	}
}
