package engine

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/falgo/fal/internal/retry"
)

// testErrors builds plain errors for tests.
type testErrors struct{}

// httpError is the HTTP error of the tests.
type httpError struct{ f *Failure }

func (e *httpError) Error() string {
	return "fal: " + e.f.Method + " " + e.f.URL + ": " + strconv.Itoa(e.f.Status) + " " + string(e.f.Body)
}

func (testErrors) HTTP(f *Failure) error { return &httpError{f} }

func (testErrors) Timeout(op string, limit time.Duration) error {
	return fmt.Errorf("fal: %s: timed out after %v", op, limit)
}

// fixedAuth is a credential that never changes.
type fixedAuth Auth

func (a fixedAuth) Auth(context.Context) (Auth, error) { return Auth(a), nil }

const (
	testKeyID  = "keyid01"
	testSecret = "secret0123"
)

// newConfig is an engine config whose hosts are all on srv, with the key
// "Key keyid01:secret0123".
func newConfig(t *testing.T, srv *httptest.Server) *Config {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := &Config{
		HTTPClient: srv.Client(),
		Retry:      retry.Policy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond},
		UserAgent:  "test/1",
		Hosts:      Hosts{Run: u, Queue: u, Rest: u, CDN: u},
		Auth:       fixedAuth(NewAuth("Key", testKeyID+":"+testSecret)),
		Errors:     testErrors{},
	}
	if err := c.Prepare(); err != nil {
		t.Fatal(err)
	}
	return c
}
