package main

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	fal "github.com/falgo/fal"
)

// TestPlatformSessionConcurrentLookups: falgo mcp serves tool calls at
// once on one platform session, so a schema lookup that learns an app is
// not listed and a did-you-mean that asks whether it is may run together
// (go test -race reports it when the session does not lock its memo).
func TestPlatformSessionConcurrentLookups(t *testing.T) {
	startFal(t)
	c := &cli{con: &console{stdout: io.Discard, stderr: io.Discard}}
	_, s, release, err := c.connect()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	const app = "nobody/not-listed"
	notFound := &fal.HTTPError{StatusCode: 404}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			if i%2 == 0 {
				if ep, _, why := s.checkSchema(ctx, app); ep != nil || why == "" {
					t.Errorf("checkSchema(%s) = %v, %q; want no schema, and why", app, ep, why)
				}
				return
			}
			errs[i] = s.unknownApp(ctx, app, notFound)
		})
	}
	wg.Wait()
	for i := 1; i < len(errs); i += 2 {
		if errs[i] == nil || !strings.Contains(errs[i].Error(), "fal knows no app "+app) {
			t.Errorf("unknownApp: %v, want \"fal knows no app %s\"", errs[i], app)
		}
	}
	if !s.isNotListed(app) {
		t.Errorf("the session did not remember that %s is not listed", app)
	}
}
