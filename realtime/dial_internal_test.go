package realtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/retry"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type keyAuth struct{}

func (keyAuth) Auth(context.Context) (engine.Auth, error) {
	return engine.NewAuth("Key", "id:secret"), nil
}

type testErrors struct{}

func (testErrors) HTTP(f *engine.Failure) error {
	return fmt.Errorf("fal: %s %s: %d", f.Method, f.URL, f.Status)
}

func (testErrors) Timeout(op string, limit time.Duration) error {
	return fmt.Errorf("fal: %s: timed out after %v", op, limit)
}

// testEngine is the settings a client with hosts under base would have,
// with clock as its clock.
func testEngine(t *testing.T, base string, clock func() time.Time) *engine.Config {
	t.Helper()
	var h engine.Hosts
	run, err := engine.ParseHost("run", base+"/run")
	if err != nil {
		t.Fatal(err)
	}
	h.SetRun(run)
	if h.Rest, err = engine.ParseHost("rest", base+"/rest"); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	e := &engine.Config{
		HTTPClient: &http.Client{Transport: tr},
		Timeout:    time.Minute,
		Retry:      retry.Policy{MaxAttempts: 1},
		UserAgent:  "test",
		Hosts:      h,
		Auth:       keyAuth{},
		Errors:     testErrors{},
		Now:        clock,
	}
	if err := e.Prepare(); err != nil {
		t.Fatal(err)
	}
	return e
}

// The token's expiry and the pacing of reconnections are read on the
// client's clock: a token minted for 120 s is replaced when that clock
// says it expires within 10 s, however little real time went by.
func TestTokenExpiryFollowsTheClientsClock(t *testing.T) {
	var mu sync.Mutex
	var tokens []string // the token of each handshake
	minted := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/rest/tokens/" {
			mu.Lock()
			minted++
			n := minted
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `"tok-%d"`, n)
			return
		}
		mu.Lock()
		tokens = append(tokens, r.URL.Query().Get("fal_jwt_token"))
		mu.Unlock()
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		// Echo one input, then end the connection.
		if typ, b, err := ws.Read(context.Background()); err == nil {
			_ = ws.Write(context.Background(), typ, b)
		}
		_ = ws.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()
	clock := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	rc, err := open(ctx, testEngine(t, srv.URL, clock.Now), "me/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	round := func(i int) {
		t.Helper()
		if err := rc.Send(ctx, map[string]any{"i": i}); err != nil {
			t.Fatalf("round %d: Send: %v", i, err)
		}
		if out, err := rc.Recv(ctx); err != nil || out["i"] != int64(i) {
			t.Fatalf("round %d: Recv = %v, %v", i, out, err)
		}
		if _, err := rc.Recv(ctx); !errors.Is(err, io.EOF) {
			t.Fatalf("round %d: Recv = %v, want io.EOF", i, err)
		}
	}
	round(1)
	clock.Advance(100 * time.Second) // 20 s left: the token is reused
	round(2)
	clock.Advance(15 * time.Second) // 5 s left: a new one
	round(3)
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(tokens, ","); got != "tok-1,tok-1,tok-2" {
		t.Errorf("handshake tokens = %s, want tok-1,tok-1,tok-2", got)
	}
}
