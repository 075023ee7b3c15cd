package fal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// TestKeyHygieneEveryPublicPath sets a recognisable key through the
// environment (the default credentials chain) and drives every public path
// of the client: errors of every type, debug logs, recovered panics, and
// every fmt verb on every exported type it can produce. The key must never
// appear in any of it.
func TestKeyHygieneEveryPublicPath(t *testing.T) {
	const key = "hyg-TESTKEY-4c1d:sekrit-0a9b8c"
	srv := faltest.NewServer(faltest.WithKey(key), faltest.WithDemoDelay(0), faltest.WithApp("t/fail", func(ctx context.Context, req *faltest.Request) (any, error) {
		return nil, faltest.ValidationError("prompt", "bad")
	}), faltest.WithApp("t/block", func(ctx context.Context, req *faltest.Request) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	defer srv.Close()
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := fal.NewClient(fal.WithLogger(logger), fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var seen []any
	keep := func(vs ...any) { seen = append(seen, vs...) }

	// Success paths and the values they return.
	res, err := c.Run(ctx, "falgo/echo", map[string]any{"a": 1})
	keep(res, err)
	h, err := c.Submit(ctx, "falgo/echo", nil, fal.WithLogs(true))
	keep(h, err)
	if h != nil {
		for st, err := range h.Events(ctx, fal.WithLogs(true)) {
			keep(st, err)
		}
		r, err := h.Result(ctx)
		keep(r, err)
	}
	for ev, err := range c.Stream(ctx, "falgo/echo", map[string]any{"_events": []int{1}}) {
		keep(ev, err)
	}
	u, err := c.Upload(ctx, strings.NewReader("x"), fal.WithContentType("text/plain"))
	keep(u, err)
	in := fal.FileBytes("f.txt", []byte("y"))
	_, err = c.Run(ctx, "falgo/echo", map[string]any{"f": in})
	keep(in, err, fal.File{URL: in.URL()})
	tok, exp, err := c.RealtimeToken(ctx, "fal-ai/fast-lcm-diffusion", time.Minute)
	keep(exp, err)
	rt, err := c.Realtime(ctx, "falgo/echo")
	keep(rt, err)
	if rt != nil {
		_ = rt.Send(ctx, map[string]any{"nope": true})
		m, err := rt.Recv(ctx)
		keep(m, err)
		_ = rt.Close()
	}

	// Error paths, one of each type.
	var (
		he  *fal.HTTPError
		re  *fal.RequestError
		te  *fal.TimeoutError
		me  *fal.MissingCredentialsError
		rte *fal.RealtimeError
	)
	must := func(err error, target any, what string) {
		t.Helper()
		if !errors.As(err, target) {
			t.Fatalf("%s: got %v, the path was not exercised", what, err)
		}
		keep(err)
	}
	_, err = c.Run(ctx, "t/fail", nil)
	must(err, &he, "422")
	_, err = c.Subscribe(ctx, "t/fail", nil, fal.WithLogs(true))
	must(err, &re, "failed job")
	_, err = c.Subscribe(ctx, "t/block", nil, fal.WithClientTimeout(1500*time.Millisecond))
	must(err, &te, "client timeout")
	_, err = c.Run(ctx, "falgo/echo", nil, fal.WithKey("wrong-key"))
	must(err, &he, "401")
	rt2, err := c.Realtime(ctx, "falgo/echo", fal.WithRealtimeTokenProvider(func(context.Context, string) (string, time.Time, error) {
		return "forged." + key + ".token", time.Now().Add(time.Minute), nil
	}))
	must(err, &he, "refused realtime handshake")
	keep(rt2)
	rt3, err := c.Realtime(ctx, "fal-ai/fast-lcm-diffusion")
	if err != nil {
		t.Fatal(err)
	}
	_ = rt3.Send(ctx, map[string]any{}) // no prompt: an x-fal-error frame
	_, err = rt3.Recv(ctx)
	must(err, &rte, "realtime error frame")
	_ = rt3.Close()
	t.Setenv("FAL_KEY", "")
	t.Setenv("FAL_HOME_DIR", t.TempDir())
	bare, _ := fal.NewClient()
	_, err = bare.Run(ctx, "falgo/echo", nil)
	must(err, &me, "missing credentials")
	func() { // a recovered panic
		defer func() {
			p := recover()
			if p == nil {
				t.Fatal("no panic")
			}
			keep(p)
		}()
		_ = srv.Client(fal.WithKey(key), fal.WithRunHost("not a host/"))
	}()

	// Exported values built by hand, too.
	creds := fal.Credentials{Scheme: "Key", Token: key}
	keep(c, creds, &creds, fal.StaticCredentials(creds), fal.WithKey(key), fal.DefaultCredentialsChain(),
		&fal.CLITokenCredentials{HomeDir: t.TempDir()}, fal.EnvCredentials{}, fal.InspectCredentials(ctx))

	var outs []string
	for _, v := range seen {
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			outs = append(outs, fmt.Sprintf(f, v))
		}
		if e, ok := v.(error); ok && e != nil {
			outs = append(outs, e.Error())
		}
	}
	outs = append(outs, logs.String())
	secret := strings.SplitN(key, ":", 2)[1]
	for _, o := range outs {
		if strings.Contains(o, key) || strings.Contains(o, secret) || (tok != "" && strings.Contains(o, tok)) {
			t.Errorf("secret leaked: %.400s", o)
		}
	}
	if !strings.Contains(logs.String(), "fal: http") || len(seen) < 30 {
		t.Fatalf("the test did not exercise the paths it claims (%d values, log %d bytes)", len(seen), logs.Len())
	}
}
