package faltest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// Server must stop its jobs, streams, websockets and webhook deliveries on
// Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
