//go:build !unix

package fal_test

import "time"

// processCPU is not available here: the benchmarks then report no CPU
// metric.
func processCPU() (time.Duration, bool) { return 0, false }
