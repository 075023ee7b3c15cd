//go:build !linux

package main

import (
	"errors"
	"time"
)

// sysSupported is false: the harness needs Linux (see sys_linux.go).
const sysSupported = false

var errUnsupported = errors.New("the benchmark harness needs Linux: it reads CLOCK_MONOTONIC, getrusage and /proc")

func monoNow() int64 { return time.Now().UnixNano() }

func cpuTime() time.Duration { return 0 }

func peakRSSKiB() (int64, error) { return 0, errUnsupported }

func rssKiB() (int64, error) { return 0, errUnsupported }

func machine() (cpuModel, memory, kernel string) { return "unknown", "unknown", "unknown" }
