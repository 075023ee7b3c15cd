//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// sysSupported reports whether this platform has what the harness reads:
// CLOCK_MONOTONIC (shared with Node's process.hrtime), getrusage and /proc.
const sysSupported = true

// clockMonotonic is CLOCK_MONOTONIC from <time.h>.
const clockMonotonic = 1

// monoNow reads CLOCK_MONOTONIC in nanoseconds. Unlike time.Now's monotonic
// reading it is comparable across processes: Node's process.hrtime.bigint
// reads the same clock, so the harness can subtract a time taken in a JS
// client from one taken here.
func monoNow() int64 {
	var ts syscall.Timespec
	_, _, errno := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		panic("bench: clock_gettime(CLOCK_MONOTONIC) failed: " + errno.Error())
	}
	return ts.Nano()
}

// cpuTime is the user plus system CPU time this process has used, all
// threads included.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSSKiB is the high-water resident set of this process (VmHWM), in
// KiB. getrusage's ru_maxrss is not used: after a fork and exec it can carry
// the parent's figure over into the child.
func peakRSSKiB() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	return statusField(b, "VmHWM")
}

// rssKiB is the current resident set of this process (VmRSS), in KiB.
func rssKiB() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	return statusField(b, "VmRSS")
}

// statusField reads a "Name:   1234 kB" line of /proc/*/status.
func statusField(status []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != name {
			continue
		}
		return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	}
	return 0, fmt.Errorf("no %s line in /proc/self/status", name)
}

// machine describes the computer for the report: CPU model, memory and
// kernel, from /proc.
func machine() (cpuModel, memory, kernel string) {
	cpuModel, memory, kernel = "unknown", "unknown", "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpuModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kib, err := statusField(b, "MemTotal"); err == nil {
			memory = fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return cpuModel, memory, kernel
}
