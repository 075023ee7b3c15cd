package falproxy_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falgo/fal/falproxy"
)

// waitLimit bounds every wait in these tests. It is far longer than any
// step takes; reaching it means the proxy held data back.
const waitLimit = 30 * time.Second

// waitFor fails the test if ch is not closed (or sent on) within waitLimit.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s: the proxy buffers instead of streaming", what)
		var zero T
		return zero
	}
}

// doAsync sends req and returns the response once its headers arrive,
// failing the test if they do not arrive within waitLimit.
func doAsync(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	type result struct {
		resp *http.Response
		err  error
	}
	// On failure, hang up first: the servers' Close waits for their handlers.
	ctx, cancel := context.WithCancel(req.Context())
	t.Cleanup(cancel)
	req = req.WithContext(ctx)
	ch := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		ch <- result{resp, err}
	}()
	res := waitFor(t, ch, "the response headers")
	if res.err != nil {
		t.Fatal(res.err)
	}
	return res.resp
}

func TestRequestBodyIsStreamed(t *testing.T) {
	gotFirst := make(chan struct{})
	up := newRawUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		br := bufio.NewReader(r.Body)
		first, err := br.ReadString('\n')
		if err != nil {
			http.Error(w, "first line: "+err.Error(), 500)
			return
		}
		close(gotFirst) // the rest has not been written yet
		rest, err := io.ReadAll(br)
		if err != nil {
			http.Error(w, "rest: "+err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%s|%s|%d", strings.TrimSpace(first), strings.TrimSpace(string(rest)), r.ContentLength)
	})
	srv := proxy(t, up, nil)

	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(errors.New("test over")) }) // never leave the proxy waiting
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", srv.URL, pr)
		req.Header.Set("x-fal-target-url", "https://fal.run/me/uploader")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, string(b), err}
	}()
	if _, err := io.WriteString(pw, "part one\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, gotFirst, "the upstream to receive the first part of the body")
	_, _ = io.WriteString(pw, "part two\n")
	pw.Close()
	res := waitFor(t, done, "the answer")
	if res.err != nil || res.status != 200 || res.body != "part one|part two|-1" {
		t.Fatalf("got %d %q %v; want 200 \"part one|part two|-1\" (chunked, as sent)", res.status, res.body, res.err)
	}
}

func TestResponseIsStreamed(t *testing.T) {
	for _, contentType := range []string{"text/event-stream", "text/event-stream; charset=utf-8", "application/octet-stream"} {
		t.Run(contentType, func(t *testing.T) {
			release := make(chan struct{})
			var once sync.Once
			releaseAll := func() { once.Do(func() { close(release) }) }
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", contentType)
				w.Header().Set("X-Fal-Request-Id", "stream-1")
				_, _ = io.WriteString(w, "data: {\"n\":1}\n\n")
				http.NewResponseController(w).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				_, _ = io.WriteString(w, "data: {\"n\":2}\n\n")
			})
			srv := proxy(t, up, nil)
			t.Cleanup(releaseAll) // runs before the servers' Close, which waits for this handler

			req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(`{"prompt":"hi"}`))
			req.Header.Set("x-fal-target-url", "https://fal.run/fal-ai/any-llm/stream")
			req.Header.Set("Accept", "text/event-stream")
			resp := doAsync(t, req)
			defer resp.Body.Close()
			if resp.Header.Get("X-Fal-Request-Id") != "stream-1" || resp.Header.Get("Content-Type") != contentType {
				t.Errorf("headers: %v", resp.Header)
			}
			if strings.HasPrefix(contentType, "text/event-stream") && resp.Header.Get("X-Accel-Buffering") != "no" {
				t.Errorf("an event stream should carry X-Accel-Buffering: no")
			}
			br := bufio.NewReader(resp.Body)
			firstLine := make(chan string, 1)
			go func() {
				l, _ := br.ReadString('\n')
				firstLine <- l
			}()
			// The upstream is still holding the second event back: the first
			// must arrive anyway.
			if l := waitFor(t, firstLine, "the first event"); l != "data: {\"n\":1}\n" {
				t.Fatalf("first line %q", l)
			}
			releaseAll()
			rest, err := io.ReadAll(br)
			if err != nil {
				t.Fatal(err)
			}
			if string(rest) != "\ndata: {\"n\":2}\n\n" {
				t.Fatalf("rest %q", rest)
			}
			if got := up.requests()[0].Header.Get("Accept"); got != "text/event-stream" {
				t.Errorf("upstream Accept %q: the caller's Accept must reach fal", got)
			}
		})
	}
}

func TestCallerCancellationReachesUpstream(t *testing.T) {
	for _, stage := range []string{"before the answer", "during the stream"} {
		t.Run(stage, func(t *testing.T) {
			cancelled := make(chan struct{})
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				if stage == "during the stream" {
					w.Header().Set("Content-Type", "text/event-stream")
					_, _ = io.WriteString(w, "data: 1\n\n")
					http.NewResponseController(w).Flush()
				}
				select {
				case <-r.Context().Done():
					close(cancelled)
				case <-time.After(2 * waitLimit):
				}
			})
			srv := proxy(t, up, nil)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, strings.NewReader("{}"))
			req.Header.Set("x-fal-target-url", "https://fal.run/me/slow")
			errc := make(chan error, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					defer resp.Body.Close()
					buf := make([]byte, 64)
					if _, err := resp.Body.Read(buf); err != nil {
						errc <- err
						return
					}
					cancel() // the caller leaves mid-stream
					_, err = io.ReadAll(resp.Body)
				}
				errc <- err
			}()
			if stage == "before the answer" {
				deadline := time.Now().Add(waitLimit)
				for len(up.requests()) == 0 {
					if time.Now().After(deadline) {
						t.Fatal("the request never reached the upstream")
					}
					time.Sleep(5 * time.Millisecond)
				}
				cancel()
			}
			waitFor(t, cancelled, "the upstream request to be cancelled")
			if err := waitFor(t, errc, "the caller to return"); !errors.Is(err, context.Canceled) {
				t.Errorf("caller error %v, want context.Canceled", err)
			}
		})
	}
}

func TestBrokenUpstreamAbortsTheAnswer(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: 1\n\n")
		http.NewResponseController(w).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // dies mid-stream, without the final chunk
		}
	})
	srv := proxy(t, up, nil)
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("{}"))
	req.Header.Set("x-fal-target-url", "https://fal.run/fal-ai/any-llm/stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("the broken stream ended cleanly (%q); the caller must see an error", body)
	}
	if string(body) != "data: 1\n\n" {
		t.Errorf("body before the break %q", body)
	}
}

func TestBodyLimit(t *testing.T) {
	up := newUpstream(t, nil)
	srv := proxy(t, up, nil, falproxy.WithMaxBodyBytes(16))

	// Declared length: refused before anything goes upstream.
	resp, body := send(t, srv.URL, "POST", "https://fal.run/a/b", strings.NewReader(strings.Repeat("x", 17)), nil)
	if e := decodeError(t, resp, body, http.StatusRequestEntityTooLarge); !strings.Contains(e.Message, "16") {
		t.Errorf("message %q should give the limit", e.Message)
	}
	if n := len(up.requests()); n != 0 {
		t.Fatalf("upstream got %d requests", n)
	}

	// Unknown length (chunked): refused once the limit is crossed.
	resp, body = send(t, srv.URL, "POST", "https://fal.run/a/b", io.MultiReader(strings.NewReader(strings.Repeat("y", 40))), nil)
	decodeError(t, resp, body, http.StatusRequestEntityTooLarge)

	// At the limit: forwarded whole.
	resp, body = send(t, srv.URL, "POST", "https://fal.run/a/b", io.MultiReader(strings.NewReader(strings.Repeat("z", 16))), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	reqs := up.requests()
	if last := reqs[len(reqs)-1]; string(last.Body) != strings.Repeat("z", 16) {
		t.Errorf("upstream body %q", last.Body)
	}

	// No limit.
	big := proxy(t, up, nil, falproxy.WithMaxBodyBytes(-1))
	resp, body = send(t, big.URL, "POST", "https://fal.run/a/b", strings.NewReader(strings.Repeat("w", 1<<20)), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("no limit: %d %s", resp.StatusCode, body)
	}
}

func TestContentEncoding(t *testing.T) {
	const plain = `{"images":[{"url":"https://v3.fal.media/files/x.png"}],"padding":"` + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + `"}`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = io.WriteString(zw, plain)
	zw.Close()
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			_, _ = io.WriteString(w, plain)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", fmt.Sprint(gz.Len()))
		_, _ = w.Write(gz.Bytes())
	})
	srv := proxy(t, up, nil)
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer raw.CloseIdleConnections()

	do := func(acceptEncoding string) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("{}"))
		req.Header.Set("x-fal-target-url", "https://fal.run/a/b")
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		resp, err := raw.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}

	// The caller accepts gzip: the compressed answer is passed on as it is.
	resp, b := do("gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(b, gz.Bytes()) {
		t.Errorf("with Accept-Encoding gzip: Content-Encoding %q, body %q", resp.Header.Get("Content-Encoding"), b)
	}
	if resp.ContentLength != int64(gz.Len()) {
		t.Errorf("Content-Length %d, want %d", resp.ContentLength, gz.Len())
	}

	// The caller asked for no encoding: fal's gzip is undone, and no stale
	// Content-Encoding or Content-Length remains.
	resp, b = do("")
	if resp.Header.Get("Content-Encoding") != "" || string(b) != plain {
		t.Errorf("without Accept-Encoding: Content-Encoding %q, body %q", resp.Header.Get("Content-Encoding"), b)
	}
	if resp.ContentLength != -1 && resp.ContentLength != int64(len(plain)) {
		t.Errorf("Content-Length %d for a %d-byte body", resp.ContentLength, len(plain))
	}
	reqs := up.requests()
	if ae := reqs[len(reqs)-1].Header.Get("Accept-Encoding"); ae != "gzip" {
		t.Errorf("the proxy's own request asked for %q; the test expects the transport's gzip", ae)
	}
}
