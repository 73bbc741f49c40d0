package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on every Linux
// architecture Go runs on (the kernel converts to it whatever its internal HZ).
const clockTicks = 100

// pidOf finds the one running process whose executable is binary (an absolute path in the
// bench's own temporary directory, so no other process can match).
func pidOf(binary string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == binary {
			pids = append(pids, pid)
		}
	}
	if len(pids) != 1 {
		return 0, fmt.Errorf("want one process running %s, found %d", binary, len(pids))
	}
	return pids[0], nil
}

// cpuSeconds is the user+system CPU time the process has used so far (all its threads).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: split after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, fields[11], fields[12])
	}
	return float64(utime+stime) / clockTicks, nil
}

// cpuNanos is the CPU time the process's threads have run, in nanoseconds: the sum of the first
// field of /proc/<pid>/task/*/schedstat. Unlike utime+stime (10 ms ticks) it is exact, which the
// open loop needs (a few thousand requests use a few tenths of a second); a thread that exits
// between two readings takes its time with it, which Go's threads rarely do.
func cpuNanos(pid int) (int64, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			continue // the thread exited meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s/%s/schedstat: %q", dir, t.Name(), b)
		}
		total += ns
	}
	return total, nil
}

// cpuTimes are the machine's CPU times (all CPUs, in ticks) from the "cpu" line of /proc/stat.
type cpuTimes struct{ busy, total uint64 }

func machineCPU() (cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return cpuTimes{}, fmt.Errorf("/proc/stat: first line %q", line)
	}
	var t cpuTimes
	// user nice system idle iowait irq softirq steal (guest time is already in user).
	for i, v := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("/proc/stat: %q", line)
		}
		t.total += n
		if i != 3 && i != 4 { // idle, iowait
			t.busy += n
		}
	}
	return t, nil
}

// busyCPUs is how many CPUs were busy on average between two readings.
func busyCPUs(before, after cpuTimes) float64 {
	if after.total <= before.total {
		return 0
	}
	return float64(runtime.NumCPU()) * float64(after.busy-before.busy) / float64(after.total-before.total)
}

// loadAvg is the 1, 5 and 15 minute load averages, as /proc/loadavg has them.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// segmentSink stands in for the X-Ray daemon: it receives the services' UDP datagrams (one segment
// document each) and only counts them, so that it costs the machine as little as possible.
// (testenv's SegmentListener parses and keeps every document: right for tests, too heavy here.)
type segmentSink struct {
	conn      *net.UDPConn
	datagrams atomic.Int64
	done      chan struct{}
}

func listenSegments() (*segmentSink, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("listen for segments: %w", err)
	}
	_ = conn.SetReadBuffer(8 << 20)
	s := &segmentSink{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 65536)
		for {
			if _, _, err := conn.ReadFromUDP(buf); err != nil {
				return // closed
			}
			s.datagrams.Add(1)
		}
	}()
	return s, nil
}

// Addr is the address for AWS_XRAY_DAEMON_ADDRESS.
func (s *segmentSink) Addr() string { return s.conn.LocalAddr().String() }

// Count is how many datagrams arrived so far.
func (s *segmentSink) Count() int64 { return s.datagrams.Load() }

func (s *segmentSink) Close() error {
	err := s.conn.Close()
	<-s.done
	return err
}
