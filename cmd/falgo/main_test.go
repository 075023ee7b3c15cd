package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// envRunMain makes the test binary behave as the falgo binary (its arguments
// after the program name are falgo's), so tests can exercise main's signal
// handling in a real process without building a separate binary.
const envRunMain = "FALGO_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}
