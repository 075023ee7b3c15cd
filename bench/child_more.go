package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/falgo/fal"
	"github.com/vmihailenco/msgpack/v5"
)

// The workloads added for issue 16: Stream events, realtime round trips,
// many small uploads and the memory of an idle client. Each runs in a
// child process, like the others, so that CPU time and memory are the
// client's alone.

// streamInput is a streaming job of n small events (falgo/echo emits
// each of "_events" as one server-sent event).
func streamInput(n int) map[string]any {
	evs := make([]any, n)
	for i := range evs {
		evs[i] = map[string]any{"i": i, "text": "a token of streamed text"}
	}
	return map[string]any{"prompt": "stream", "_events": evs}
}

// streamEvents runs p.Streams streams of p.Events events each (after one
// unmeasured stream) and reports the events received, the wall time and
// the CPU time of the measured streams.
func streamEvents(ctx context.Context, p childParams, c *fal.Client, fl *floor) (*childResult, error) {
	input := streamInput(p.Events)
	one := func() (int64, error) {
		switch p.Variant {
		case vFalgo:
			var n int64
			for _, err := range c.Stream(ctx, echoApp, input) {
				if err != nil {
					return n, err
				}
				n++
			}
			return n, nil
		case vFloor:
			return fl.stream(ctx, input)
		}
		return 0, fmt.Errorf("no Go client variant %q for workload stream", p.Variant)
	}
	if _, err := one(); err != nil {
		return nil, err
	}
	var events int64
	cpu0, t0 := cpuTime(), time.Now()
	for i := 0; i < max(p.Streams, 1); i++ {
		n, err := one()
		if err != nil {
			return nil, err
		}
		events += n
	}
	return &childResult{Requests: events, Seconds: time.Since(t0).Seconds(), CPUSeconds: (cpuTime() - cpu0).Seconds()}, nil
}

// stream POSTs input to the app's streaming endpoint and counts the data
// lines of the answer.
func (f *floor) stream(ctx context.Context, input any) (int64, error) {
	body, err := json.Marshal(input)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.env.run+"/"+echoApp+"/stream", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	f.header(req, true)
	req.Header.Set("Accept", "text/event-stream")
	res, err := f.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("stream: HTTP %d", res.StatusCode)
	}
	var n int64
	br := bufio.NewReaderSize(res.Body, 4096)
	for {
		line, err := br.ReadSlice('\n')
		if bytes.HasPrefix(line, []byte("data:")) {
			n++
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// realtimeTrips makes p.Trips round trips (an input sent, its output
// received), one after another on one connection, after 50 unmeasured
// ones, and reports each trip's time in ms.
func realtimeTrips(ctx context.Context, p childParams, c *fal.Client, env serverEnv) (*childResult, error) {
	var trip func(i int) error
	switch p.Variant {
	case vFalgo:
		conn, err := c.Realtime(ctx, echoApp)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		trip = func(i int) error {
			if err := conn.Send(ctx, map[string]any{"prompt": "a lighthouse", "seed": i}); err != nil {
				return err
			}
			_, err := conn.Recv(ctx)
			return err
		}
	case vFloor:
		ws, err := floorRealtime(ctx, env)
		if err != nil {
			return nil, err
		}
		defer ws.CloseNow()
		trip = func(i int) error { return floorTrip(ctx, ws, i) }
	default:
		return nil, fmt.Errorf("no Go client variant %q for workload realtime", p.Variant)
	}
	for i := 0; i < 50; i++ {
		if err := trip(i); err != nil {
			return nil, err
		}
	}
	ms := make([]float64, 0, p.Trips)
	cpu0, t0 := cpuTime(), time.Now()
	for i := 0; i < p.Trips; i++ {
		s := time.Now()
		if err := trip(i); err != nil {
			return nil, err
		}
		ms = append(ms, float64(time.Since(s))/1e6)
	}
	return &childResult{Requests: int64(len(ms)), Seconds: time.Since(t0).Seconds(), CPUSeconds: (cpuTime() - cpu0).Seconds(), TripsMS: ms}, nil
}

// floorRealtime opens the realtime websocket by hand, with the key in the
// handshake's Authorization header.
func floorRealtime(ctx context.Context, env serverEnv) (*websocket.Conn, error) {
	u := "ws" + strings.TrimPrefix(env.run, "http") + "/" + echoApp + "/realtime"
	h := http.Header{"Authorization": {"Key " + env.key}}
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(64 << 20)
	return ws, nil
}

// floorTrip sends one msgpack input and reads frames until its binary
// output (text frames are the server's x-fal-message meta frames).
func floorTrip(ctx context.Context, ws *websocket.Conn, i int) error {
	b, err := msgpack.Marshal(map[string]any{"prompt": "a lighthouse", "seed": i})
	if err != nil {
		return err
	}
	if err := ws.Write(ctx, websocket.MessageBinary, b); err != nil {
		return err
	}
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		if typ == websocket.MessageBinary {
			var out map[string]any
			return msgpack.Unmarshal(data, &out)
		}
	}
}

// smallUploads uploads p.Uploads files of p.UploadBytes each, one after
// another (after 5 unmeasured ones), and reports the time and CPU time.
func smallUploads(ctx context.Context, p childParams, c *fal.Client, fl *floor) (*childResult, error) {
	data := bytes.Repeat([]byte("falgo-bench-upload."), p.UploadBytes/19+1)[:p.UploadBytes]
	one := func() error {
		switch p.Variant {
		case vFalgo:
			_, err := c.Upload(ctx, bytes.NewReader(data), fal.WithContentType("application/octet-stream"), fal.WithFileName("small.bin"))
			return err
		case vFloor:
			_, err := fl.upload(ctx, bytes.NewReader(data), int64(len(data)))
			return err
		}
		return fmt.Errorf("no Go client variant %q for workload uploads", p.Variant)
	}
	for i := 0; i < 5; i++ {
		if err := one(); err != nil {
			return nil, err
		}
	}
	cpu0, t0 := cpuTime(), time.Now()
	for i := 0; i < p.Uploads; i++ {
		if err := one(); err != nil {
			return nil, err
		}
	}
	return &childResult{Requests: int64(p.Uploads), Seconds: time.Since(t0).Seconds(), CPUSeconds: (cpuTime() - cpu0).Seconds(), Bytes: int64(p.Uploads * p.UploadBytes)}, nil
}

// idleClient builds a client, makes one sync run (connections, caches and
// credentials are then in place) and reports the process's memory once
// the client is idle, after a collection.
func idleClient(ctx context.Context, p childParams, c *fal.Client, fl *floor) (*childResult, error) {
	switch p.Variant {
	case vFalgo:
		if _, err := c.Run(ctx, echoApp, map[string]any{"prompt": "idle"}); err != nil {
			return nil, err
		}
	case vFloor:
		if err := fl.run(ctx, map[string]any{"prompt": "idle"}); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("no Go client variant %q for workload idle", p.Variant)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, err := rssKiB()
	if err != nil {
		return nil, err
	}
	s := &memSnapshot{RSSMiB: float64(rss) / 1024, HeapInuseMiB: float64(ms.HeapInuse) / (1 << 20), HeapLiveMiB: float64(ms.HeapAlloc) / (1 << 20),
		StackMiB: float64(ms.StackInuse) / (1 << 20), Goroutines: runtime.NumGoroutine()}
	runtime.KeepAlive(c)
	runtime.KeepAlive(fl)
	return &childResult{Requests: 1, Mem: s}, nil
}
