package faltest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"
)

// sseWriter writes server-sent events, flushing after each.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
	trailer string // a header announced as a trailer when the stream starts
}

func newSSE(w http.ResponseWriter) *sseWriter {
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

// start sends the 200 header of the stream.
func (s *sseWriter) start() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	if s.trailer != "" {
		h.Set("Trailer", s.trailer)
	}
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
}

// event writes one event; name may be empty (a plain "data:" event).
func (s *sseWriter) event(name string, data []byte) error {
	s.start()
	buf := make([]byte, 0, len(data)+32)
	if name != "" {
		buf = append(buf, "event: "...)
		buf = append(buf, name...)
		buf = append(buf, '\n')
	}
	// JSON from encoding/json has no raw newlines, so one data line holds it.
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, '\n', '\n')
	if _, err := s.w.Write(buf); err != nil {
		return err
	}
	return s.rc.Flush()
}

// comment writes an SSE comment line (a keep-alive).
func (s *sseWriter) comment(text string) error {
	s.start()
	if _, err := s.w.Write([]byte(": " + text + "\n\n")); err != nil {
		return err
	}
	return s.rc.Flush()
}

// errStreamClosed is Emit's answer once the handler has returned.
var errStreamClosed = errors.New("faltest: Emit called after the handler returned")

// streamError is the data of the "error" event that ends a stream whose
// handler failed after it had emitted events.
type streamError struct {
	Detail     json.RawMessage `json:"detail"`
	ErrorType  string          `json:"error_type,omitempty"`
	StatusCode int             `json:"status_code"`
}

// handleStream serves POST /run/{app...}/stream: every event the handler
// emits becomes a "data: <JSON>" SSE event. If the handler emits nothing,
// its output is sent as the only event. An error before the first event
// is a normal HTTP error answer; after it, an "event: error" event carries
// {"detail", "error_type", "status_code"} and ends the stream. A handler that
// calls Request.EmitBytes answers a raw byte stream instead (see there).
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	id := appPath(r, "/run/")
	d, ok := s.directCall(w, r, id[:len(id)-len("/stream")], "stream", true)
	if !ok {
		return
	}
	a, req := d.a, d.req

	// The units billed are known only at the end: they go in a trailer
	// when the stream has started, in a header otherwise.
	st := &outStream{ctx: r.Context(), sse: newSSE(w), raw: &rawWriter{w: w, rc: http.NewResponseController(w)}}
	st.sse.trailer, st.raw.trailer = headerBillableUnits, headerBillableUnits
	req.emit = st.emit
	out, err := s.execute(r.Context(), a, req, execOptions{deadline: d.deadline, rec: d.rec})

	st.mu.Lock()
	defer st.mu.Unlock()
	st.closed = true
	var units float64
	if err != nil {
		rep := replyFor(err)
		units = s.finishRecord(d.rec, a, req, rep.status, rep.body, rep.errorType)
	} else {
		units = s.finishRecord(d.rec, a, req, http.StatusOK, out, "")
	}
	if r.Context().Err() != nil {
		return // the caller is gone
	}
	switch {
	case st.raw.started && err != nil:
		// The 200 and part of the body are out: cut the connection, so the
		// caller sees a broken stream rather than a complete one.
		panic(http.ErrAbortHandler)
	case st.raw.started:
		w.Header().Set(headerBillableUnits, formatUnits(units)) // the trailer
	case err != nil && st.sent == 0:
		w.Header().Set(headerBillableUnits, formatUnits(units))
		replyFor(err).write(w)
	case err != nil:
		w.Header().Set(headerBillableUnits, formatUnits(units))
		st.sse.errorEvent(replyFor(err))
	default:
		if !st.sse.started {
			st.sse.trailer = "" // the units go in a header
		}
		w.Header().Set(headerBillableUnits, formatUnits(units))
		if st.sent == 0 {
			_ = st.sse.event("", out)
		}
	}
}

// outStream is the answer of an output stream while its handler runs: SSE
// events (Emit) or raw bytes (EmitBytes), whichever comes first.
type outStream struct {
	ctx    context.Context // the caller's
	sse    *sseWriter
	raw    *rawWriter
	mu     sync.Mutex
	sent   int  // events sent
	closed bool // the handler has returned
}

// emit is the Request's emit function.
func (st *outStream) emit(event any) error {
	chunk, isRaw := event.(rawChunk)
	var data []byte
	if !isRaw {
		var err error
		if data, err = encodeOutput(event); err != nil {
			return err
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case st.closed:
		return errStreamClosed
	case isRaw && st.sent > 0, !isRaw && st.raw.started:
		return errMixedStream
	}
	if err := st.ctx.Err(); err != nil {
		return err
	}
	if isRaw {
		return st.raw.write(chunk.contentType, chunk.data)
	}
	if err := st.sse.event("", data); err != nil {
		return err
	}
	st.sent++
	return nil
}

// errorEvent ends a stream that had sent events with an "event: error"
// carrying the failure's detail, error type and status.
func (s *sseWriter) errorEvent(rep errorReply) {
	var body struct {
		Detail json.RawMessage `json:"detail"`
	}
	_ = json.Unmarshal(rep.body, &body)
	data, _ := json.Marshal(streamError{Detail: body.Detail, ErrorType: rep.errorType, StatusCode: rep.status})
	_ = s.event("error", data)
}

// handleStatusStream serves GET .../requests/{id}/status/stream: one
// "data:" event with the status (the status endpoint's body) whenever it
// changes, an SSE comment every ping interval while nothing happens, and
// the end of the stream after the COMPLETED event. With logs, each event
// carries only the log lines that are new since the previous event (the JS
// client concatenates them); without, logs are null.
func (s *Server) handleStatusStream(w http.ResponseWriter, r *http.Request) {
	j, ok := s.queueRequest(w, r, http.MethodGet)
	if !ok {
		return
	}
	withLogs, ok := wantLogs(w, r)
	if !ok {
		return
	}
	sse := newSSE(w)
	ping := time.NewTicker(s.cfg.pingInterval)
	defer ping.Stop()
	var (
		from     int
		lastSent uint64
		first    = true
		ran      bool // an IN_PROGRESS event was sent
	)
	send := func(st queueStatus) bool {
		data, err := json.Marshal(st)
		return err == nil && sse.event("", data) == nil
	}
	for {
		st, next, version, changed := j.snapshot(withLogs, from)
		if first || version != lastSent {
			if st.Status == "COMPLETED" && !first && !ran && j.hasStarted() {
				// The request ran between two looks: report IN_PROGRESS
				// (with the new log lines) before COMPLETED, so a
				// listener sees every state it went through.
				mid := st
				mid.Status, mid.Metrics, mid.Error, mid.ErrorType = "IN_PROGRESS", nil, "", ""
				if !send(mid) {
					return
				}
				if withLogs {
					st.Logs = []LogEntry{}
				}
			}
			if !send(st) {
				return
			}
			ran = ran || st.Status == "IN_PROGRESS"
			first, lastSent, from = false, version, next
			if st.Status == "COMPLETED" {
				return
			}
			ping.Reset(s.cfg.pingInterval)
		}
		select {
		case <-changed:
		case <-ping.C:
			if err := sse.comment("ping"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}
