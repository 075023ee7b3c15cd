package faltest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/falgo/fal/faltest"
)

// rawApps are apps that answer their stream endpoint with raw bytes.
func rawApps(next <-chan struct{}, mixed chan<- error) []faltest.Option {
	return []faltest.Option{
		faltest.WithoutDemoApps(),
		// t/audio sends three chunks, waiting for next between the first and
		// the second, so a test can see the first arrive alone.
		faltest.WithApp("t/audio", func(ctx context.Context, req *faltest.Request) (any, error) {
			if err := req.EmitBytes("audio/mpeg", []byte("mp3-frame-1|")); err != nil {
				return nil, err
			}
			if req.Streaming() {
				select {
				case <-next:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			for _, c := range []string{"chunk-2|", "chunk-3"} {
				if err := req.EmitBytes("text/plain", []byte(c)); err != nil {
					return nil, err
				}
			}
			req.SetBillableUnits(3)
			return map[string]string{"audio": "done"}, nil
		}),
		faltest.WithApp("t/bytes", func(ctx context.Context, req *faltest.Request) (any, error) {
			return nil, req.EmitBytes("", []byte{0, 1, 2, 0xff})
		}),
		faltest.WithApp("t/mixed", func(ctx context.Context, req *faltest.Request) (any, error) {
			if err := req.EmitBytes("text/plain", []byte("raw")); err != nil {
				return nil, err
			}
			mixed <- req.Emit(map[string]int{"n": 1})
			return nil, nil
		}),
		faltest.WithApp("t/mixed-events-first", func(ctx context.Context, req *faltest.Request) (any, error) {
			if err := req.Emit(map[string]int{"n": 1}); err != nil {
				return nil, err
			}
			mixed <- req.EmitBytes("text/plain", []byte("raw"))
			return nil, nil
		}),
		faltest.WithApp("t/midway-failure", func(ctx context.Context, req *faltest.Request) (any, error) {
			if err := req.EmitBytes("audio/wav", []byte("RIFF")); err != nil {
				return nil, err
			}
			return nil, &faltest.AppError{Status: 500, Detail: "the vocoder fell over"}
		}),
		faltest.WithApp("t/bad-type", func(ctx context.Context, req *faltest.Request) (any, error) {
			if err := req.EmitBytes("not a type", []byte("x")); err != nil {
				return nil, faltest.ValidationError("", err.Error())
			}
			return nil, nil
		}),
	}
}

// TestStreamRawBytes: a handler that calls EmitBytes answers its stream
// endpoint with the bytes themselves, under its content type, each chunk
// flushed as it is emitted, and the billable units in the trailer.
func TestStreamRawBytes(t *testing.T) {
	next := make(chan struct{})
	srv := newServer(t, rawApps(next, nil)...)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	resp, err := sendCtx(ctx, srv, "POST", "/run/t/audio/stream", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/mpeg" || resp.Header.Get("x-fal-request-id") == "" {
		t.Fatalf("raw stream: %d %v", resp.StatusCode, resp.Header)
	}
	first := make([]byte, len("mp3-frame-1|"))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "mp3-frame-1|" {
		t.Fatalf("first chunk %q: %v (it must arrive before the handler goes on)", first, err)
	}
	close(next)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "chunk-2|chunk-3" {
		t.Fatalf("rest of the stream %q: %v", rest, err)
	}
	if got := resp.Trailer.Get("X-Fal-Billable-Units"); got != "3" {
		t.Fatalf("billable units trailer %q, want 3", got)
	}
	recs := srv.History("")
	if len(recs) != 1 || !strings.Contains(string(recs[0].Output), `"audio":"done"`) {
		t.Fatalf("history %+v: want the handler's output recorded", recs)
	}

	// Without a content type: application/octet-stream, bytes as they are.
	r := call(t, srv, "POST", "/run/t/bytes/stream", `{}`)
	if r.code != 200 || r.header.Get("Content-Type") != "application/octet-stream" || !bytes.Equal(r.body, []byte{0, 1, 2, 0xff}) {
		t.Fatalf("octet stream: %d %q %x", r.code, r.header.Get("Content-Type"), r.body)
	}
	// Outside a stream the bytes are dropped and the output answers.
	if r := call(t, srv, "POST", "/run/t/bytes", `{}`); r.code != 200 || string(r.body) != "null" {
		t.Fatalf("run: %d %s", r.code, r.body)
	}
	if r := call(t, srv, "POST", "/run/t/bad-type/stream", `{}`); r.code != 422 || !strings.Contains(string(r.body), "not a media type") {
		t.Fatalf("bad content type: %d %s", r.code, r.body)
	}
}

// TestStreamRawMixedRefused: one stream is either events or bytes.
func TestStreamRawMixedRefused(t *testing.T) {
	mixed := make(chan error, 1)
	srv := newServer(t, rawApps(nil, mixed)...)
	r := call(t, srv, "POST", "/run/t/mixed/stream", `{}`)
	if err := recv(t, mixed, "Emit after EmitBytes"); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("Emit after EmitBytes: %v", err)
	}
	if r.code != 200 || string(r.body) != "raw" || r.header.Get("Content-Type") != "text/plain" {
		t.Fatalf("mixed stream answered %d %q %q", r.code, r.header.Get("Content-Type"), r.body)
	}
	evs, _ := streamEvents(t, srv, "t/mixed-events-first", `{}`)
	if err := recv(t, mixed, "EmitBytes after Emit"); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("EmitBytes after Emit: %v", err)
	}
	if len(evs) != 1 || evs[0].data != `{"n":1}` {
		t.Fatalf("events %+v", evs)
	}
}

// TestStreamRawFailureMidway: an error after the first chunk cuts the
// connection, so the caller cannot take a truncated body for a whole one.
func TestStreamRawFailureMidway(t *testing.T) {
	srv := newServer(t, rawApps(nil, nil)...)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	resp, err := sendCtx(ctx, srv, "POST", "/run/t/midway-failure/stream", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "RIFF" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("midway failure: %d %q, read error %v (want the first chunk, then an unexpected EOF)", resp.StatusCode, body, err)
	}
	if recs := srv.History(""); len(recs) != 1 || recs[0].StatusCode != 500 {
		t.Fatalf("history %+v: want the failure recorded", recs)
	}
}
