package fal_test

import (
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/falgo/fal/faltest"
	"go.uber.org/goleak"
)

// TestMain fails the test binary if any goroutine outlives the tests: a
// call that returned, a stream the caller left, a closed server must leave
// nothing running. The check runs once, after every test (parallel ones
// included), so it does not depend on what other tests do meanwhile.
//
// With FALGO_TEST_SERVER=1 the binary is instead a faltest server process
// for the benchmarks that must measure the client alone (see
// childServerEnv): it prints the server's environment, then READY, and
// serves until its standard input closes.
func TestMain(m *testing.M) {
	if os.Getenv("FALGO_TEST_SERVER") == "1" {
		srv := faltest.NewServer()
		for _, kv := range srv.Env() {
			fmt.Println(kv)
		}
		fmt.Println("READY")
		_, _ = io.Copy(io.Discard, os.Stdin)
		srv.Close()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
