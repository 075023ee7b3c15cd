package faltest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HandlerFunc is an app: it receives one request and returns its output,
// which is encoded as JSON (a json.RawMessage is sent as is), or an error.
// Return ValidationError for bad input (HTTP 422), an *AppError for any
// other status, or any other error for a 500.
//
// ctx is cancelled when the caller goes away (sync run, stream), when the
// request is cancelled through the queue API, and when the Server closes;
// a handler should return promptly then.
type HandlerFunc func(ctx context.Context, req *Request) (any, error)

// Request is one call of an app.
type Request struct {
	// App is the id the app was registered under, e.g. "fal-ai/flux/dev".
	App string
	// Path is the part of the called URL below App ("" for none), e.g.
	// "image-to-image" for a call to me/app/image-to-image when only
	// me/app is registered. (The demo apps answer 404 to a Path: their
	// endpoints are registered apps of their own.)
	Path string
	// RequestID is fal's id for the request: the queue request id for queue
	// jobs, the x-fal-request-id response header otherwise.
	RequestID string
	// Input is the request body as sent (JSON; "null" when it was empty).
	Input json.RawMessage
	// Header holds the HTTP request's headers (X-Fal-Runner-Hint,
	// X-Fal-Queue-Priority, X-Fal-Request-Timeout, ...) without
	// Authorization. Treat it as read-only.
	Header http.Header

	srv   *Server
	emit  func(event any) error // nil: events are dropped
	logFn func(entry LogEntry)  // nil: logs are dropped

	unitsMu  sync.Mutex
	units    float64
	unitsSet bool
}

// SetBillableUnits sets how many billing units of the app's price (see
// Price) this request costs, e.g. the megapixels of the images made. It
// is reported in the X-Fal-Billable-Units header of the answer and billed
// when the request finishes; the last call wins. Without a call, a
// request that succeeds bills 1 unit and one that fails bills none.
// Negative, infinite and NaN values are ignored. It is safe for
// concurrent use.
func (r *Request) SetBillableUnits(n float64) {
	if math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
		return
	}
	r.unitsMu.Lock()
	r.units, r.unitsSet = n, true
	r.unitsMu.Unlock()
}

// billableUnits is what the request bills for an answer with the given
// status: the units the handler set, else 1 for a success and 0 for a
// failure; server errors (5xx) bill nothing, as on fal.
func (r *Request) billableUnits(status int) float64 {
	if status >= 500 {
		return 0
	}
	r.unitsMu.Lock()
	defer r.unitsMu.Unlock()
	if r.unitsSet {
		return r.units
	}
	if status >= 200 && status < 300 {
		return 1
	}
	return 0
}

// LogEntry is one log line of a queue request, as the status endpoints
// report it.
type LogEntry struct {
	Message   string `json:"message"`
	Level     string `json:"level"`
	Source    string `json:"source"`
	Timestamp string `json:"timestamp"`
}

// Decode decodes the input JSON into v. If the input does not fit v it
// returns an error that answers HTTP 422 with the offending field, so a
// handler can simply return it.
func (r *Request) Decode(v any) error {
	in := r.Input
	if len(in) == 0 {
		in = json.RawMessage("null")
	}
	if err := json.Unmarshal(in, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return ValidationError(te.Field, fmt.Sprintf("value is a JSON %s, expected %s", te.Value, te.Type))
		}
		return ValidationError("", "invalid input: "+err.Error())
	}
	return nil
}

// Log records a log line for the request. Queue requests report their logs
// through the status endpoints; in other modes logs are dropped. level is
// one of fal's levels (INFO, DEBUG, WARN, ERROR, STDOUT, STDERR); an empty
// level means INFO.
func (r *Request) Log(level, message string) {
	if r.logFn == nil {
		return
	}
	if level == "" {
		level = "INFO"
	}
	r.logFn(LogEntry{
		Message:   message,
		Level:     level,
		Source:    "USER",
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
	})
}

// Emit sends one event to a streaming caller (POST .../stream), as an SSE
// "data:" line holding event's JSON. In run and queue mode events are
// dropped and Emit returns nil. It returns an error when the caller has
// gone away; the handler should stop then. Emit is safe for concurrent use.
func (r *Request) Emit(event any) error {
	if r.emit == nil {
		return nil
	}
	return r.emit(event)
}

// Streaming reports whether events passed to Emit reach the caller.
func (r *Request) Streaming() bool { return r.emit != nil }

// Upload stores data on the server's CDN and returns its absolute URL,
// which serves the bytes back with contentType. Apps use it for the files
// they output. For a Request not made by a Server (a handler called
// directly in a unit test) it returns a data URI holding the bytes.
func (r *Request) Upload(contentType, name string, data []byte) string {
	if r.srv == nil {
		if contentType == "" {
			contentType = "application/octet-stream"
		}
		return "data:" + contentType + ";base64," + base64.StdEncoding.EncodeToString(data)
	}
	return r.srv.putFile(contentType, name, data)
}

// AppOption configures an app; pass it to WithApp or Register.
type AppOption func(*appConfig)

type appConfig struct {
	concurrency int
	startup     time.Duration
	processing  time.Duration
	errs        []error

	// Platform API (platform_apps.go): metadata, price, schema.
	info      *ModelInfo
	price     float64
	unit      string
	priced    bool
	inType    reflect.Type
	outType   reflect.Type
	schemaSet bool
	doc       json.RawMessage
}

// Concurrency limits how many requests the app runs at once (its runner
// slots); further requests wait in order (normal priority before low
// priority, then first come first served) and queue requests report their
// real queue position meanwhile. 0, the default, means no limit.
func Concurrency(n int) AppOption {
	return func(c *appConfig) {
		if n < 0 {
			c.errs = append(c.errs, fmt.Errorf("Concurrency(%d): must be 0 (unlimited) or more", n))
			return
		}
		c.concurrency = n
	}
}

// StartupDelay simulates a cold start: the first request served by each
// runner slot waits d after getting the slot, before the handler starts.
// The request is still IN_QUEUE (position 0) meanwhile, and a start timeout
// (X-Fal-Request-Timeout) can expire.
func StartupDelay(d time.Duration) AppOption {
	return func(c *appConfig) {
		if d < 0 {
			c.errs = append(c.errs, fmt.Errorf("StartupDelay(%v): negative duration", d))
			return
		}
		c.startup = d
	}
}

// ProcessingDelay makes every request wait d after it started
// (IN_PROGRESS) before the handler is called.
func ProcessingDelay(d time.Duration) AppOption {
	return func(c *appConfig) {
		if d < 0 {
			c.errs = append(c.errs, fmt.Errorf("ProcessingDelay(%v): negative duration", d))
			return
		}
		c.processing = d
	}
}

// app is a registered app and its runner slots.
type app struct {
	id      string
	handler HandlerFunc
	cfg     appConfig
	plat    *platformApp // metadata, price and OpenAPI document
	// runnerID names the app's runner in the request history.
	runnerID string

	executions atomic.Int64

	mu      sync.Mutex
	running int       // slots in use
	warm    int       // runner slots that already paid StartupDelay
	waiting []*waiter // sorted by (priority, seq)
	seq     uint64
}

// waiter is a request waiting for (or holding) a runner slot.
type waiter struct {
	prio    int
	seq     uint64
	ready   chan struct{} // closed when granted
	granted bool          // guarded by app.mu
	cold    bool          // this grant started a new runner; set before ready closes
	// pos, if set, is told the waiter's 0-based place in line whenever it
	// changes (queue jobs report it as queue_position). Called with app.mu
	// held.
	pos func(int)
}

// Priorities of waiters.
const (
	prioNormal = 0
	prioLow    = 1
)

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// freeSlot is what join returns for apps that track nothing (no
// concurrency limit, no cold start): the slot is granted without a lock.
var freeSlot = &waiter{granted: true, ready: closedChan}

// join gets in line for a runner slot: it takes a free slot at once if
// there is one and nobody is ahead, otherwise it queues (normal priority
// before low, then first come first served). Joining is separate from
// waiting so that a queue submission has its place in line before the
// submit call returns.
func (a *app) join(prio int, pos func(int)) *waiter {
	limit := a.cfg.concurrency
	if limit == 0 && a.cfg.startup == 0 {
		return freeSlot
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	w := &waiter{prio: prio, seq: a.seq, pos: pos}
	if (limit == 0 || a.running < limit) && !a.blockedBy(prio) {
		a.running++
		w.granted, w.cold, w.ready = true, a.takeCold(), closedChan
		return w
	}
	w.ready = make(chan struct{})
	i := len(a.waiting)
	for i > 0 && a.waiting[i-1].prio > prio {
		i--
	}
	a.waiting = append(a.waiting, nil)
	copy(a.waiting[i+1:], a.waiting[i:])
	a.waiting[i] = w
	a.renumber(i)
	return w
}

// joinAtMost is join, refused when more than max requests are waiting
// already (fal_max_queue_length; max < 0: no limit): it then returns nil
// and the number waiting.
func (a *app) joinAtMost(prio int, pos func(int), max int) (*waiter, int) {
	if max < 0 || (a.cfg.concurrency == 0 && a.cfg.startup == 0) {
		return a.join(prio, pos), 0
	}
	a.mu.Lock()
	n := len(a.waiting)
	a.mu.Unlock()
	// The check and the join are two steps; concurrent submits may both
	// pass, as concurrent submits to fal may.
	if n > max {
		return nil, n
	}
	return a.join(prio, pos), n
}

// wait waits until w is granted a slot. If ctx ends first it leaves the
// line (or hands on a slot granted meanwhile) and returns ctx.Err(). It
// reports whether the slot is a new (cold) runner.
func (a *app) wait(ctx context.Context, w *waiter) (cold bool, err error) {
	if w == freeSlot {
		return false, ctx.Err()
	}
	select {
	case <-w.ready:
		if err := ctx.Err(); err != nil {
			a.release()
			return false, err
		}
		return w.cold, nil
	case <-ctx.Done():
	}
	a.mu.Lock()
	if w.granted {
		// Granted just as ctx ended: hand the slot on.
		a.mu.Unlock()
		a.release()
		return false, ctx.Err()
	}
	for i, x := range a.waiting {
		if x == w {
			a.waiting = append(a.waiting[:i], a.waiting[i+1:]...)
			a.renumber(i)
			break
		}
	}
	a.mu.Unlock()
	return false, ctx.Err()
}

// blockedBy reports whether someone already waits ahead of a newcomer of
// priority prio. Callers hold a.mu.
func (a *app) blockedBy(prio int) bool {
	return len(a.waiting) > 0 && a.waiting[0].prio <= prio
}

// takeCold counts a runner start if more slots are busy than runners have
// warmed up. Callers hold a.mu.
func (a *app) takeCold() bool {
	if a.cfg.startup == 0 || a.running <= a.warm {
		return false
	}
	a.warm++
	return true
}

// renumber tells the waiters from index i on their new places. Callers
// hold a.mu.
func (a *app) renumber(from int) {
	for i := from; i < len(a.waiting); i++ {
		if p := a.waiting[i].pos; p != nil {
			p(i)
		}
	}
}

// release frees a slot, handing it to the first waiter if any.
func (a *app) release() {
	if a.cfg.concurrency == 0 && a.cfg.startup == 0 {
		return
	}
	a.mu.Lock()
	a.running--
	limit := a.cfg.concurrency
	granted := false
	for len(a.waiting) > 0 && (limit == 0 || a.running < limit) {
		w := a.waiting[0]
		a.waiting[0] = nil
		a.waiting = a.waiting[1:]
		a.running++
		w.granted, w.cold = true, a.takeCold()
		close(w.ready)
		granted = true
	}
	if granted {
		a.renumber(0)
	}
	a.mu.Unlock()
}

// Register adds an app under id, "owner/alias" optionally followed by a
// path ("fal-ai/flux/dev"), or "workflows/owner/alias..." and
// "comfy/owner/alias...". A request for a longer path reaches the app
// registered under its longest matching prefix, with the rest in
// Request.Path. Registering an existing id replaces the app for new
// requests.
func (s *Server) Register(id string, h HandlerFunc, opts ...AppOption) error {
	id = strings.Trim(id, "/")
	if err := validateAppID(id); err != nil {
		return err
	}
	if h == nil {
		return fmt.Errorf("Register(%q): the handler is nil", id)
	}
	var cfg appConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if len(cfg.errs) > 0 {
		return fmt.Errorf("Register(%q): %w", id, errors.Join(cfg.errs...))
	}
	plat, err := buildPlatformApp(id, &cfg, time.Now())
	if err != nil {
		return fmt.Errorf("Register(%q): %w", id, err)
	}
	a := &app{id: id, handler: h, cfg: cfg, plat: plat, runnerID: newID()}
	s.appsMu.Lock()
	defer s.appsMu.Unlock()
	old := s.appTable()
	next := make(map[string]*app, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[id] = a
	s.appsRO.Store(&next)
	return nil
}

// appTable returns the current, read-only app map.
func (s *Server) appTable() map[string]*app {
	if m := s.appsRO.Load(); m != nil {
		return *m
	}
	return nil
}

func validateAppID(id string) error {
	segs := strings.Split(id, "/")
	min := 2
	if isNamespace(segs[0]) {
		min = 3
	}
	if len(segs) < min {
		return fmt.Errorf("invalid app id %q: want \"owner/alias[/path]\" (or \"workflows/owner/alias\", \"comfy/owner/alias\")", id)
	}
	for _, seg := range segs {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, " \t\r\n?#%\\") {
			return fmt.Errorf("invalid app id %q: empty segment, dot segment or a character that needs escaping (space, ?, #, %%, \\)", id)
		}
	}
	return nil
}

// isNamespace reports whether seg is one of fal's app namespaces.
func isNamespace(seg string) bool { return seg == "workflows" || seg == "comfy" }

// lookupApp resolves "owner/alias[/path...]" (or a namespaced id) to the
// registered app with the longest matching prefix, and the rest as path.
func (s *Server) lookupApp(id string) (appID string, path string, ok bool) {
	a, path := s.findApp(id)
	if a == nil {
		return "", "", false
	}
	return a.id, path, true
}

// findApp is lookupApp returning the app itself. It allocates nothing.
func (s *Server) findApp(id string) (*app, string) {
	id = strings.Trim(id, "/")
	apps := s.appTable()
	end := len(id)
	for end > 0 {
		if a, ok := apps[id[:end]]; ok {
			if end == len(id) {
				return a, ""
			}
			return a, id[end+1:]
		}
		end = strings.LastIndexByte(id[:end], '/')
	}
	return nil, ""
}

// Executions reports how many times the handler of the app registered
// under appID (or the app a longer id resolves to) has really run, by any
// entry point: run, stream, queue or realtime message. Requests rejected
// before the handler (bad key, injected faults, cancelled while queued,
// start timeouts) do not count.
func (s *Server) Executions(appID string) int {
	a, _ := s.findApp(appID)
	if a == nil {
		return 0
	}
	return int(a.executions.Load())
}

// invoke runs the app handler once for a realtime message (or any caller
// that has no HTTP request of its own): it waits for a runner slot, counts
// an execution and returns the output JSON. Errors map to HTTP through
// errorResponse.
func (s *Server) invoke(ctx context.Context, appID, path string, input json.RawMessage, header http.Header, key *apiKey, emit func(event any) error) (json.RawMessage, error) {
	a := s.appTable()[appID]
	if a == nil {
		return nil, &AppError{Status: http.StatusNotFound, Detail: fmt.Sprintf("Application %q not found", appID)}
	}
	if len(input) == 0 {
		input = json.RawMessage("null")
	} else if !json.Valid(input) {
		return nil, ValidationError("", "the input is not valid JSON")
	}
	req := &Request{App: a.id, Path: path, RequestID: newID(), Input: input, Header: header, srv: s, emit: emit}
	rec := s.beginRecord(req.RequestID, a, path, "realtime", input, time.Now(), requestControls{storeIO: true}, key)
	out, err := s.execute(ctx, a, req, execOptions{rec: rec})
	if err != nil {
		rep := replyFor(err)
		s.finishRecord(rec, a, req, rep.status, rep.body, rep.errorType)
		return nil, err
	}
	s.finishRecord(rec, a, req, http.StatusOK, out, "")
	return out, nil
}

// execOptions are the per-call knobs of execute.
type execOptions struct {
	prio     int
	deadline time.Time   // start deadline (X-Fal-Request-Timeout); zero: none
	joined   *waiter     // a place in line taken earlier (queue jobs); nil: join now
	started  func() bool // called once the handler is about to start; false aborts (cancelled)
	rec      *record     // the request's history record; nil: none
}

// execute waits for a runner slot, then runs the handler and encodes its
// output.
func (s *Server) execute(ctx context.Context, a *app, req *Request, o execOptions) (json.RawMessage, error) {
	cold, err := s.waitSlot(ctx, a, o)
	if err != nil {
		return nil, err
	}
	defer a.release()
	if o.started != nil && !o.started() {
		return nil, errCancelled
	}
	var coldTime time.Duration
	if cold {
		coldTime = a.cfg.startup
	}
	s.markStarted(o.rec, time.Now(), cold, coldTime)
	a.executions.Add(1)
	if d := a.cfg.processing; d > 0 {
		if err := sleepCtx(ctx, d); err != nil {
			return nil, err
		}
	}
	out, err := callHandler(ctx, a, req)
	if err != nil {
		return nil, err
	}
	return encodeOutput(out)
}

// waitSlot acquires a runner slot and pays the cold start, within the start
// deadline if there is one. On success the caller owns a slot; cold
// reports that it paid a cold start.
func (s *Server) waitSlot(ctx context.Context, a *app, o execOptions) (cold bool, err error) {
	wctx := ctx
	if !o.deadline.IsZero() {
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(ctx, o.deadline)
		defer cancel()
	}
	w := o.joined
	if w == nil {
		w = a.join(o.prio, nil)
	}
	cold, err = a.wait(wctx, w)
	if err == nil && cold {
		err = sleepCtx(wctx, a.cfg.startup)
		if err != nil {
			a.release()
		}
	}
	if err != nil {
		if ctx.Err() == nil && wctx.Err() != nil {
			return false, errStartTimeout
		}
		return false, err
	}
	return cold, nil
}

// callHandler runs the handler, turning a panic into a 500 so that one bad
// app cannot take the test binary down.
func callHandler(ctx context.Context, a *app, req *Request) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, &AppError{Status: http.StatusInternalServerError, Detail: fmt.Sprintf("app %s panicked: %v", a.id, p), Type: "internal_error"}
		}
	}()
	return a.handler(ctx, req)
}

// encodeOutput encodes a handler's output as JSON.
func encodeOutput(out any) (json.RawMessage, error) {
	switch v := out.(type) {
	case validJSON:
		return json.RawMessage(v), nil
	case json.RawMessage:
		if len(v) == 0 {
			return json.RawMessage("null"), nil
		}
		if !json.Valid(v) {
			return nil, &AppError{Status: http.StatusInternalServerError, Detail: "the app returned a json.RawMessage that is not valid JSON"}
		}
		return v, nil
	case nil:
		return json.RawMessage("null"), nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, &AppError{Status: http.StatusInternalServerError, Detail: "encoding the app's output as JSON failed: " + err.Error()}
	}
	return b, nil
}

// validJSON is output already known to be valid JSON (falgo/echo's input,
// which readInput checked), so encodeOutput need not scan it again.
type validJSON []byte

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
