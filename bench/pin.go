package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// pinning puts the server and the measured clients on different cores
// with taskset, where the machine has two cores or more and taskset is
// installed, so that the server's work does not land in the client's
// time slices (the client's CPU time is its own either way).
type pinning struct {
	taskset      string // the taskset binary; empty when not pinning
	srvCPU, cCPU string
}

func newPinning() pinning {
	if runtime.NumCPU() < 2 {
		return pinning{}
	}
	ts, err := exec.LookPath("taskset")
	if err != nil {
		return pinning{}
	}
	last := fmt.Sprint(runtime.NumCPU() - 1)
	clients := "0"
	if runtime.NumCPU() > 2 {
		clients = fmt.Sprintf("0-%d", runtime.NumCPU()-2)
	}
	return pinning{taskset: ts, srvCPU: last, cCPU: clients}
}

// server is the server's command line.
func (p pinning) server(bin string) []string { return p.wrap(p.srvCPU, bin) }

// client is a client's command line.
func (p pinning) client(argv ...string) []string { return p.wrap(p.cCPU, argv...) }

func (p pinning) wrap(cpus string, argv ...string) []string {
	if p.taskset == "" {
		return argv
	}
	return append([]string{p.taskset, "-c", cpus}, argv...)
}

// describe says how the processes were placed, for the report.
func (p pinning) describe() string {
	if p.taskset == "" {
		return "not pinned (one core, or no taskset): the server and the clients share the cores"
	}
	return fmt.Sprintf("server on CPU %s, each client on CPU %s (taskset)", p.srvCPU, p.cCPU)
}

// loadAverage is /proc/loadavg's 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
