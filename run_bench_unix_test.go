//go:build unix

package fal_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system, all threads) this process has
// used; the benchmarks' server runs in a child process, so this is the
// client's.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
