package faltest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
)

// streamEvents posts to an app's /stream endpoint and collects the events.
func streamEvents(t *testing.T, srv *faltest.Server, app, body string) ([]sseEvent, reply) {
	t.Helper()
	resp, err := send(srv, "POST", "/run/"+app+"/stream", body, "Accept", "text/event-stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := reply{code: resp.StatusCode, header: resp.Header}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		r.body, _ = io.ReadAll(resp.Body)
		return nil, r
	}
	var evs []sseEvent
	if err := readSSE(resp.Body, func(e sseEvent) bool { evs = append(evs, e); return false }, nil); err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	return evs, r
}

func TestStreamAnyLLM(t *testing.T) {
	srv := newServer(t, faltest.WithDemoDelay(0))
	evs, r := streamEvents(t, srv, "fal-ai/any-llm", `{"prompt":"hello there"}`)
	if r.code != 200 || r.header.Get("x-fal-request-id") == "" {
		t.Fatalf("stream: %d %v", r.code, r.header)
	}
	if len(evs) < 2 {
		t.Fatalf("%d events, want at least 2", len(evs))
	}
	prev := ""
	for i, e := range evs {
		var ev struct {
			Output  string `json:"output"`
			Partial bool   `json:"partial"`
		}
		if e.name != "" || json.Unmarshal([]byte(e.data), &ev) != nil {
			t.Fatalf("event %d: %+v", i, e)
		}
		if !strings.HasPrefix(ev.Output, prev) || len(ev.Output) <= len(prev) {
			t.Fatalf("event %d does not extend the text: %q after %q", i, ev.Output, prev)
		}
		prev = ev.Output
		if last := i == len(evs)-1; ev.Partial == last {
			t.Fatalf("event %d: partial=%v", i, ev.Partial)
		}
	}
	// The sync run returns the final text.
	out := call(t, srv, "POST", "/run/fal-ai/any-llm", `{"prompt":"hello there"}`).json(t)
	if out["output"] != prev || out["partial"] != false {
		t.Fatalf("run output %v, want the stream's final text %q", out, prev)
	}
}

func TestStreamOutputWhenNothingEmitted(t *testing.T) {
	srv := newServer(t)
	evs, r := streamEvents(t, srv, "falgo/echo", `{"a":1}`)
	if r.code != 200 || len(evs) != 1 || evs[0].data != `{"a":1}` {
		t.Fatalf("%d %+v", r.code, evs)
	}
	evs, _ = streamEvents(t, srv, "falgo/echo", `{"_events":[1,{"b":2},"three"]}`)
	if len(evs) != 3 || evs[0].data != "1" || evs[1].data != `{"b":2}` || evs[2].data != `"three"` {
		t.Fatalf("emitted events %+v", evs)
	}
}

func TestStreamErrors(t *testing.T) {
	srv := newServer(t)
	// Before the first event: a normal JSON error answer.
	evs, r := streamEvents(t, srv, "fal-ai/any-llm", `{}`)
	if evs != nil || r.code != 422 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("invalid input: %d %v %s", r.code, r.header, r.body)
	}
	// After it: an error event ends the stream.
	evs, r = streamEvents(t, srv, "falgo/echo", `{"_events":[{"n":1}],"_error":{"status":500,"detail":"oops","error_type":"boom"}}`)
	if r.code != 200 || len(evs) != 2 || evs[0].data != `{"n":1}` || evs[1].name != "error" {
		t.Fatalf("mid-stream failure: %d %+v", r.code, evs)
	}
	var e struct {
		Detail     string `json:"detail"`
		ErrorType  string `json:"error_type"`
		StatusCode int    `json:"status_code"`
	}
	if err := json.Unmarshal([]byte(evs[1].data), &e); err != nil || e.Detail != "oops" || e.ErrorType != "boom" || e.StatusCode != 500 {
		t.Fatalf("error event %q", evs[1].data)
	}
	if r := call(t, srv, "POST", "/run/falgo/echo/stream", `{`); r.code != 422 {
		t.Fatalf("bad JSON: %d", r.code)
	}
}

func TestStreamClientDisconnectCancelsApp(t *testing.T) {
	ctxErr := make(chan error, 1)
	emitErr := make(chan error, 1)
	srv := newServer(t, faltest.WithApp("t/ticker", func(ctx context.Context, req *faltest.Request) (any, error) {
		if err := req.Emit(map[string]int{"n": 0}); err != nil {
			return nil, err
		}
		<-ctx.Done()
		ctxErr <- ctx.Err()
		emitErr <- req.Emit(map[string]int{"n": 1})
		return nil, ctx.Err()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := sendCtx(ctx, srv, "POST", "/run/t/ticker/stream", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	err = readSSE(resp.Body, func(e sseEvent) bool { return true }, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := recv(t, ctxErr, "the app's ctx to end"); !errors.Is(err, context.Canceled) {
		t.Fatalf("ctx error %v", err)
	}
	if err := recv(t, emitErr, "Emit after disconnect"); err == nil {
		t.Fatal("Emit after the client left returned nil")
	}
}

func TestEmitOutsideStreamIsDropped(t *testing.T) {
	srv := newServer(t, faltest.WithApp("t/emit", func(ctx context.Context, req *faltest.Request) (any, error) {
		if req.Streaming() {
			return nil, errors.New("not a stream")
		}
		return "ok", req.Emit("ignored")
	}))
	if r := call(t, srv, "POST", "/run/t/emit", `{}`); r.code != 200 || string(r.body) != `"ok"` {
		t.Fatalf("%d %s", r.code, r.body)
	}
}

func TestStatusStream(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("t/one", g.handler, faltest.Concurrency(1)), faltest.WithPingInterval(20*time.Millisecond))
	blocker := submit(t, srv, "t/one", `{}`)
	recv(t, g.started, "blocker")
	sub := submit(t, srv, "t/one", `{}`)

	resp, err := send(srv, "GET", sub["status_url"].(string)+"/stream?logs=1", "")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") || resp.Header.Get("x-fal-request-id") != sub["request_id"] {
		t.Fatalf("status stream: %d %v", resp.StatusCode, resp.Header)
	}
	var (
		statuses []map[string]any
		logs     []string
		pings    int
		released bool
	)
	err = readSSE(resp.Body, func(e sseEvent) bool {
		var st map[string]any
		if err := json.Unmarshal([]byte(e.data), &st); err != nil {
			t.Errorf("event %q: %v", e.data, err)
			return true
		}
		if st["response_url"] != sub["response_url"] {
			t.Errorf("event without response_url: %v", st)
		}
		statuses = append(statuses, st)
		for _, l := range st["logs"].([]any) {
			logs = append(logs, l.(map[string]any)["message"].(string))
		}
		if st["status"] == "IN_PROGRESS" {
			g.release <- struct{}{} // let the job finish
		}
		return false
	}, func(c string) bool {
		if c == "ping" {
			pings++
		}
		// Let the blocker finish once the queued job has been seen
		// waiting and a keep-alive went by.
		if pings >= 1 && !released && len(statuses) > 0 {
			released = true
			g.release <- struct{}{}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if pings == 0 {
		t.Fatal("no keep-alive comment")
	}
	var seq []string
	for _, st := range statuses {
		if len(seq) == 0 || seq[len(seq)-1] != st["status"] {
			seq = append(seq, st["status"].(string))
		}
	}
	if strings.Join(seq, ",") != "IN_QUEUE,IN_PROGRESS,COMPLETED" {
		t.Fatalf("status sequence %v", seq)
	}
	if statuses[0]["queue_position"] != float64(0) {
		t.Fatalf("first event %v", statuses[0])
	}
	// Each log line arrives exactly once across the events.
	if len(logs) != 1 || logs[0] != "started "+sub["request_id"].(string) {
		t.Fatalf("logs across events: %q", logs)
	}
	waitStatus(t, srv, blocker, "", "blocker", isCompleted)

	// A stream opened after completion sends one COMPLETED event and ends.
	resp2, err := send(srv, "GET", sub["status_url"].(string)+"/stream", "")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var n int
	var last map[string]any
	_ = readSSE(resp2.Body, func(e sseEvent) bool { n++; _ = json.Unmarshal([]byte(e.data), &last); return false }, nil)
	if n != 1 || last["status"] != "COMPLETED" || last["logs"] != nil {
		t.Fatalf("stream of a completed request: %d events, last %v", n, last)
	}
}

func TestStatusStreamPositions(t *testing.T) {
	g := newGate()
	srv := newServer(t, faltest.WithApp("t/one", g.handler, faltest.Concurrency(1)))
	submit(t, srv, "t/one", `{}`)
	recv(t, g.started, "blocker")
	submit(t, srv, "t/one", `{}`)
	sub := submit(t, srv, "t/one", `{}`)
	resp, err := send(srv, "GET", sub["status_url"].(string)+"/stream?logs=0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var positions []float64
	err = readSSE(resp.Body, func(e sseEvent) bool {
		var st map[string]any
		_ = json.Unmarshal([]byte(e.data), &st)
		if st["logs"] != nil {
			t.Errorf("logs=0 but logs %v", st["logs"])
		}
		if p, ok := st["queue_position"].(float64); ok {
			positions = append(positions, p)
		}
		g.release <- struct{}{}
		return false
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(positions) != 2 || positions[0] != 1 || positions[1] != 0 {
		t.Fatalf("positions seen %v, want [1 0]", positions)
	}
}
