package faltest_test

import (
	"fmt"
	"os"
	"testing"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// Server must stop its jobs, streams, websockets and webhook deliveries on
// Close. Goroutines end asynchronously after Close returns, so it waits for
// them (see waitNoLeaks) instead of giving them a fixed half second.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := waitNoLeaks(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines still running %v after the tests (a leak):\n%v\n", waitLimit, err)
			code = 1
		}
	}
	os.Exit(code)
}
