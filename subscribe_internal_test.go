package fal

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/falgo/fal/internal/engine"
)

// testSetting is a request option of the tests: it sets what no public
// option reaches.
func testSetting(where callKind, set func(*settings)) RequestOption {
	return requestOption{"testSetting", where, func(s *settings) error { set(s); return nil }}
}

// newInternalClient is a client whose hosts are all srv.
func newInternalClient(t *testing.T, srv *httptest.Server) *Client {
	t.Helper()
	c, err := NewClient(WithKey("k-internal-test"), WithRunHost(srv.URL+"/run"), WithQueueHost(srv.URL+"/queue"), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSubscribeDoesNotWaitForTheCancel: when the deadline runs out after the
// submit, Subscribe returns at once and cancels in the background. With a
// cancel that the server never answers and an hour to wait for it, a
// Subscribe that waited for its cancel would hit the hang guard.
func TestSubscribeDoesNotWaitForTheCancel(t *testing.T) {
	t.Parallel()
	cancelSeen, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			_, _ = io.WriteString(w, `{"request_id":"r1"}`)
		case r.Method == http.MethodPut:
			once.Do(func() { close(cancelSeen) })
			<-release
		default: // status: hang until the client gives up
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newInternalClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(ctx, "fal-ai/x", nil, testSetting(callSubscribe, func(s *settings) { s.cancelGrace = time.Hour }))
		done <- err
	}()
	select {
	case err := <-done:
		var te *TimeoutError
		if !errors.As(err, &te) || te.RequestID != "r1" {
			t.Fatalf("err = %v, want *TimeoutError with the request id", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("hang guard: Subscribe waited for the cancel the server never answers")
	}
	select {
	case <-cancelSeen:
	case <-time.After(60 * time.Second):
		t.Fatal("hang guard: the background cancel never reached the server")
	}
}

// TestStatusStreamIdleIgnoresATrickle: the status stream's idle bound counts
// time without an event, so a server trickling bytes makes Result fall back
// to polling (which here completes the request) instead of hanging.
func TestStatusStreamIdleIgnoresATrickle(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/status/stream") {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, ": ")
			for r.Context().Err() == nil {
				if _, err := w.Write([]byte("z")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				time.Sleep(5 * time.Millisecond)
			}
			return
		}
		if strings.HasSuffix(r.URL.Path, "/status") {
			_, _ = io.WriteString(w, `{"status":"COMPLETED","logs":null}`)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	c := newInternalClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := c.Result(ctx, "fal-ai/x", "r1", testSetting(callResult, func(s *settings) { s.statusIdle = 50 * time.Millisecond }))
	if err != nil || string(res.Data) != `{"ok":true}` {
		t.Fatalf("Result = %v, %v; want the result after the trickling stream was dropped (ctx: %v)", res, err, ctx.Err())
	}
}

// TestCallStaysSmall: a waiting Subscribe keeps its call and its handle
// for its job's life, thousands at once. A call is 96 bytes, the settings
// that shape only the submitted request kept apart (and not there at all
// when no option set one), where they once made it 208; a handle is 64,
// its status and cancel URLs kept only when they are its own.
func TestCallStaysSmall(t *testing.T) {
	if n := unsafe.Sizeof(call{}); n > 96 {
		t.Fatalf("a call is %d bytes, more than 96", n)
	}
	if n := unsafe.Sizeof(RequestHandle{}); n > 64 {
		t.Fatalf("a RequestHandle is %d bytes, more than 64", n)
	}
	cl, err := newCall(callSubscribe, &engine.Config{}, settings{}, []RequestOption{WithLogs(true), OnQueueUpdate(func(Status) {})})
	if err != nil {
		t.Fatal(err)
	}
	if cl.s.job != nil {
		t.Fatal("a Subscribe with no job option holds job settings")
	}
}

// TestJobSettingsAreCopiedOnWrite: the job settings are shared by copies
// of settings (a handle's calls start from the settings of the call that
// made it), so an option on one call must leave the others' as they are.
func TestJobSettingsAreCopiedOnWrite(t *testing.T) {
	first, err := newCall(callSubscribe, &engine.Config{}, settings{}, []RequestOption{WithPriority(PriorityLow)})
	if err != nil {
		t.Fatal(err)
	}
	second, err := newCall(callSubscribe, &engine.Config{}, first.s, []RequestOption{WithTags(map[string]string{"a": "b"}), WithPriority(PriorityNormal)})
	if err != nil {
		t.Fatal(err)
	}
	if j := first.s.jobs(); j.priority != PriorityLow || j.tags != "" {
		t.Fatalf("an option on a second call changed the first's job settings: %+v", j)
	}
	if j := second.s.jobs(); j.priority != PriorityNormal || j.tags == "" {
		t.Fatalf("the second call's job settings: %+v", j)
	}
}
