package realtime_test

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
	"github.com/falgo/fal/realtime"
)

// TestRealtimeKeyHygieneEveryPublicPath: with a recognisable key set through
// the environment, the realtime paths (RealtimeToken, a connection with a
// minted token, a handshake refused for a forged token that contains the key,
// an x-fal-error frame) give values, errors and debug logs in which neither
// the key, nor its halves, nor the minted token appears under any fmt verb.
func TestRealtimeKeyHygieneEveryPublicPath(t *testing.T) {
	const key = "hyg-TESTKEY-4c1d:sekrit-0a9b8c"
	srv := faltest.NewServer(faltest.WithKey(key), faltest.WithDemoDelay(0))
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
		rte *realtime.Error
	)
	must := func(err error, target any, what string) {
		t.Helper()
		if !errors.As(err, target) {
			t.Fatalf("%s: got %v, the path was not exercised", what, err)
		}
		keep(err)
	}
	rt2, err := c.Realtime(ctx, "falgo/echo", realtime.WithTokenProvider(func(context.Context, string) (string, time.Time, error) {
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
	if tok == "" || !strings.Contains(logs.String(), "fal: http") || len(seen) < 8 {
		t.Fatalf("the test did not exercise the paths it claims (token %t, %d values, log %d bytes)", tok != "", len(seen), logs.Len())
	}
}
