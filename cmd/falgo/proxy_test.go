package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/falgo/fal/faltest"
)

// frontProxy is a reverse proxy in front of a faltest server that a test
// uses to play a hostile or slow server: answer may answer a request
// itself (returning true), edit may change or hold an upstream answer
// before it goes back to falgo.
type frontProxy struct {
	answer func(w http.ResponseWriter, r *http.Request) bool
	edit   func(resp *http.Response) error
	// conns, when set, counts the proxy's open connections and the
	// requests it is serving.
	conns *connTracker
}

// connTracker counts a proxy's open connections and requests in service.
type connTracker struct {
	mu           sync.Mutex
	open, active int
}

// idle reports whether the proxy has no connection open and no request in
// service: every request of a falgo that was killed has reached the
// server, or never will.
func (c *connTracker) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open == 0 && c.active == 0
}

func (c *connTracker) add(open, active int) {
	c.mu.Lock()
	c.open += open
	c.active += active
	c.mu.Unlock()
}

// start starts the proxy and points falgo at it through the environment
// (after startFal, whose settings it replaces), returning its URL.
func (p frontProxy) start(t *testing.T, srv *faltest.Server) string {
	t.Helper()
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			// The server goes on with a request when its caller goes
			// away, as a real one does; edit finds the caller's context
			// with clientContext.
			in := r.In.Context()
			r.Out = r.Out.WithContext(context.WithValue(context.WithoutCancel(in), clientKey{}, in))
		},
		Transport:      tr,
		ModifyResponse: p.edit,
		ErrorLog:       log.New(io.Discard, "", 0),
	}
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.conns != nil {
			p.conns.add(0, 1)
			defer p.conns.add(0, -1)
		}
		if p.answer != nil && p.answer(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	if p.conns != nil {
		front.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				p.conns.add(1, 0)
			case http.StateClosed, http.StateHijacked:
				p.conns.add(-1, 0)
			}
		}
	}
	front.Start()
	t.Cleanup(func() {
		front.Close()
		tr.CloseIdleConnections()
	})
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, strings.Replace(v, srv.URL, front.URL, 1))
	}
	return front.URL
}

// clientKey is the context key of the caller's context.
type clientKey struct{}

// clientContext is the context of the request falgo sent, which ends when
// falgo goes away.
func clientContext(resp *http.Response) context.Context {
	if ctx, ok := resp.Request.Context().Value(clientKey{}).(context.Context); ok {
		return ctx
	}
	return resp.Request.Context()
}

// replaceBody replaces an answer's body with b.
func replaceBody(resp *http.Response, b []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	resp.Header.Del("Content-Encoding")
}
