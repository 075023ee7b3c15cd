package fal_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

func TestCancelQueuedAndRunning(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 8)
	stopped := make(chan struct{}, 8)
	srv, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/block", func(ctx context.Context, req *faltest.Request) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		stopped <- struct{}{}
		return nil, ctx.Err()
	}, faltest.Concurrency(1))})
	ctx := bg(t)
	running, err := c.Submit(ctx, "t/block", nil)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	queued, err := c.Submit(ctx, "t/block", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := queued.Status(ctx); err != nil || st.State() != "IN_QUEUE" {
		t.Fatalf("second job: %v %v, want IN_QUEUE", st, err)
	}
	if err := queued.Cancel(ctx); err != nil {
		t.Fatalf("cancel queued: %v", err)
	}
	if err := running.Cancel(ctx); err != nil {
		t.Fatalf("cancel running: %v", err)
	}
	select {
	case <-stopped:
	case <-ctx.Done():
		t.Fatal("the running job was not stopped")
	}
	for _, h := range []*fal.RequestHandle{queued, running} {
		_, err := h.Result(ctx)
		var re *fal.RequestError
		if !errors.As(err, &re) || re.RequestID != h.RequestID {
			t.Fatalf("Result of cancelled %s: %v, want *RequestError", h.RequestID, err)
		}
	}
	if n := srv.Executions("t/block"); n != 1 {
		t.Fatalf("app ran %d times; the cancelled queued job must never run", n)
	}
	err = queued.Cancel(ctx)
	if !errors.Is(err, fal.ErrAlreadyCompleted) {
		t.Fatalf("second cancel: %v, want ErrAlreadyCompleted", err)
	}
	checkErrorText(t, "second cancel", err)
}

func TestReattachFromSecondClient(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/slowecho", func(ctx context.Context, req *faltest.Request) (any, error) {
		if !awaitOrDone(ctx, release) {
			return nil, ctx.Err()
		}
		return req.Input, nil
	})})
	ctx := bg(t)
	h, err := c.Submit(ctx, "t/slowecho/sub/path", map[string]int{"n": 42})
	if err != nil {
		t.Fatal(err)
	}
	// Another client (another process, after a restart) reattaches while
	// the job still runs.
	c2 := srv.Client()
	h2, err := c2.Handle("t/slowecho/sub/path", h.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := h2.Status(ctx); err != nil || st.State() == "COMPLETED" {
		t.Fatalf("status by handle: %v %v, want the running job", st, err)
	}
	if _, err := c2.Status(ctx, "t/slowecho", h.RequestID); err != nil {
		t.Fatal(err)
	}
	close(release)
	res, err := c2.Result(ctx, "t/slowecho", h.RequestID)
	if err != nil || string(res.Data) != `{"n":42}` || res.RequestID != h.RequestID {
		t.Fatalf("Result by id: %v %+v", err, res)
	}
	if res2, err := h2.Result(ctx); err != nil || string(res2.Data) != `{"n":42}` {
		t.Fatalf("Result by handle: %v %+v", err, res2)
	}
	_, err = c2.Status(ctx, "t/slowecho", "no-such-id")
	if he := asHTTPError(t, err); he.StatusCode != 404 {
		t.Fatalf("unknown id: %v, want 404", err)
	}
	if _, err := c2.Handle("not-an-id", "x"); err == nil {
		t.Fatal("invalid app id: want an error")
	}
}

// TestHandleURLs: a handle from Client.Handle reaches the same URLs as the
// one Submit returned, and app ids are reduced to owner/alias as the queue
// does (namespaces kept, the legacy "1234-alias" form split).
func TestHandleURLs(t *testing.T) {
	t.Parallel()
	srv := newScripted(t,
		jsonReply(200, `{"request_id":"r1"}`),
		jsonReply(200, `{"status":"COMPLETED","logs":null,"metrics":{}}`))
	c := srv.client(t)
	ctx := bg(t)
	h, err := c.Submit(ctx, "fal-ai/flux/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Status(ctx); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"fal-ai/flux/dev", "fal-ai/flux", "1234-my-app", "workflows/o/a/sub", "comfy/o/a"} {
		h2, err := c.Handle(app, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h2.Status(ctx, fal.WithLogs(true)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, r := range srv.requests() {
		got = append(got, r.Method+" "+r.Path+"?"+r.Query)
	}
	want := []string{
		"POST /queue/fal-ai/flux/dev?",
		"GET /queue/fal-ai/flux/requests/r1/status?logs=0",
		"GET /queue/fal-ai/flux/requests/r1/status?logs=1",
		"GET /queue/fal-ai/flux/requests/r1/status?logs=1",
		"GET /queue/1234/my-app/requests/r1/status?logs=1",
		"GET /queue/workflows/o/a/requests/r1/status?logs=1",
		"GET /queue/comfy/o/a/requests/r1/status?logs=1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSubmitIgnoresForeignURLs(t *testing.T) {
	t.Parallel()
	srv := newScripted(t,
		jsonReply(200, `{"request_id":"r1","status_url":"https://evil.example/steal/status","response_url":"https://evil.example/steal","cancel_url":"https://evil.example/steal/cancel"}`),
		jsonReply(200, `{"status":"COMPLETED","logs":null,"metrics":{}}`),
		jsonReply(200, `{"status":"COMPLETED","logs":null,"metrics":{}}`),
		jsonReply(200, `{"ok":true}`),
		jsonReply(200, `{"status":"OK"}`))
	c := srv.client(t)
	ctx := bg(t)
	h, err := c.Submit(ctx, "fal-ai/flux/dev", nil, fal.WithWebhook("https://ex.com/hook?a=b c"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := h.Result(ctx, fal.WithPolling(time.Millisecond)); err != nil || string(res.Data) != `{"ok":true}` {
		t.Fatalf("Result: %v %v", err, res)
	}
	if err := h.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range srv.requests() {
		got = append(got, r.Method+" "+r.Path+"?"+r.Query)
	}
	want := []string{
		"POST /queue/fal-ai/flux/dev?fal_webhook=https%3A%2F%2Fex.com%2Fhook%3Fa%3Db+c",
		"GET /queue/fal-ai/flux/requests/r1/status?logs=0",
		"GET /queue/fal-ai/flux/requests/r1/status?logs=0",
		"GET /queue/fal-ai/flux/requests/r1?",
		"PUT /queue/fal-ai/flux/requests/r1/cancel?",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant (the queue's foreign URLs ignored):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestByIDReachesAnotherQueueHost: Status, Result and Cancel by id, with a
// per-call WithQueueHost and WithKey, reach a second server; the client's
// own server sees nothing.
func TestByIDReachesAnotherQueueHost(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	mine, c, _ := newLocal(t, nil)
	other, oc, _ := newLocal(t, []faltest.Option{faltest.WithKey("other-key"), faltest.WithApp("t/gated", func(ctx context.Context, req *faltest.Request) (any, error) {
		if !awaitOrDone(ctx, release) {
			return nil, ctx.Err()
		}
		return map[string]string{"from": "other"}, nil
	}, faltest.Concurrency(1))})
	ctx := bg(t)
	done, err := oc.Submit(ctx, "t/gated", nil)
	if err != nil {
		t.Fatal(err)
	}
	queued, err := oc.Submit(ctx, "t/gated", nil)
	if err != nil {
		t.Fatal(err)
	}
	there := []fal.RequestOption{fal.WithQueueHost(other.URL + "/queue"), fal.WithKey(other.Key)}

	st, err := c.Status(ctx, "t/gated", queued.RequestID, there...)
	if err != nil || st.State() != "IN_QUEUE" {
		t.Fatalf("Status by id: %v %v", st, err)
	}
	if err := c.Cancel(ctx, "t/gated", queued.RequestID, there...); err != nil {
		t.Fatalf("Cancel by id: %v", err)
	}
	close(release)
	res, err := c.Result(ctx, "t/gated", done.RequestID, append(there, fal.WithPolling(5*time.Millisecond))...)
	if err != nil || string(res.Data) != `{"from":"other"}` {
		t.Fatalf("Result by id: %v %v", err, res)
	}
	if _, err := c.Result(ctx, "t/gated", queued.RequestID, there...); !errors.As(err, new(*fal.RequestError)) {
		t.Fatalf("Result of the cancelled request: %v, want *RequestError", err)
	}
	for route, n := range mine.Stats().Requests {
		if n != 0 {
			t.Errorf("the client's own server saw %d %s requests", n, route)
		}
	}
	// The client itself is unchanged: by id without the options, its own
	// server answers (404: it knows no such request).
	_, err = c.Status(ctx, "t/gated", done.RequestID)
	if he := asHTTPError(t, err); he.StatusCode != 404 {
		t.Fatalf("status on the client's own server: %v", err)
	}
}

// TestInvalidRequestIDsRefused: ids that would change the URL's meaning
// are refused before any URL is built or any request sent.
func TestInvalidRequestIDsRefused(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, jsonReply(200, `{"status":"COMPLETED","logs":null}`))
	c := srv.client(t)
	ctx := bg(t)
	for _, id := range []string{"", ".", "..", "a/b", "../x", "a?b", "a#b", "%2e%2e", "a b", "a\x00b", "a\nb", "a\x7fb", "a\u0085b"} {
		calls := map[string]error{}
		_, calls["Handle"] = c.Handle("fal-ai/x", id)
		_, calls["Status"] = c.Status(ctx, "fal-ai/x", id)
		_, calls["Result"] = c.Result(ctx, "fal-ai/x", id)
		calls["Cancel"] = c.Cancel(ctx, "fal-ai/x", id)
		for name, err := range calls {
			if err == nil || !strings.Contains(err.Error(), "invalid request id") {
				t.Errorf("%s(%q): err = %v, want it refused", name, id, err)
			}
			checkErrorText(t, fmt.Sprintf("%s(%q)", name, id), err)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests were sent", n)
	}
}

// TestQueueReturnedURLsAreFollowed: status and cancel URLs the queue
// returns under its host are the ones used, even when they are not the
// response URL with "/status" and "/cancel" appended.
func TestQueueReturnedURLsAreFollowed(t *testing.T) {
	t.Parallel()
	var api *scripted
	api = newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost:
			u := api.URL + "/queue/x/y/requests/r1"
			fmt.Fprintf(w, `{"request_id":"r1","status_url":%q,"response_url":%q,"cancel_url":%q}`, u+"/state", u, u+"/stop")
		case r.Method == http.MethodPut:
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"status":"CANCELLATION_REQUESTED"}`)
		default:
			_, _ = io.WriteString(w, `{"status":"IN_QUEUE","queue_position":2}`)
		}
	})
	c := api.client(t, fast)
	ctx := bg(t)
	h, err := c.Submit(ctx, "x/y", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, r := range api.requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	want := []string{"POST /queue/x/y", "GET /queue/x/y/requests/r1/state", "PUT /queue/x/y/requests/r1/stop"}
	if !slices.Equal(paths, want) {
		t.Errorf("requests %q, want %q", paths, want)
	}
}
