package fal_test

import (
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// newLocal starts a faltest server and a client with its own transport, and
// at cleanup closes both and checks that the goroutine count returns to
// where it was: nothing the test started may keep running.
func newLocal(t *testing.T, srvOpts []faltest.Option, clientOpts ...fal.Option) (*faltest.Server, *fal.Client, *http.Transport) {
	t.Helper()
	base := runtime.NumGoroutine()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	srv := faltest.NewServer(srvOpts...)
	c := srv.Client(append([]fal.Option{fal.WithHTTPClient(&http.Client{Transport: tr})}, clientOpts...)...)
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
		waitGoroutines(t, base)
	})
	return srv, c, tr
}

// waitGoroutines waits (generously) for the goroutine count to fall back to
// base, and fails with a dump of the goroutines if it does not.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("goroutine leak: %d running, %d before the test\n%s", n, base, buf)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
