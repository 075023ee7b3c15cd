package faltest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// jobState is where a queue request is in its life.
type jobState int

const (
	stateQueued jobState = iota
	stateRunning
	stateCompleted
)

// maxJobLogs bounds the log lines kept per queue request; later lines are
// dropped (one final line says so).
const maxJobLogs = 10000

// job is one queue request.
type job struct {
	id       string
	app      *app
	base     string // [ns/]owner/alias, the app part of the request's URLs
	urlBase  string // absolute response_url
	webhook  string
	deadline time.Time
	req      *Request
	w        *waiter // its place in the app's line
	rec      *record // its history record

	ctx    context.Context
	cancel context.CancelFunc

	pos atomic.Int64 // queue position while IN_QUEUE

	mu              sync.Mutex
	state           jobState
	cancelRequested bool
	version         uint64        // bumped on every change
	changed         chan struct{} // closed and replaced on every change
	logs            []LogEntry
	droppedLogs     bool
	startedAt       time.Time
	completedAt     time.Time
	status          int     // result HTTP status
	body            []byte  // result body
	errType         string  // x-fal-error-type of the result
	timeoutType     string  // x-fal-request-timeout-type of the result
	errMsg          string  // status "error" ("" when the app succeeded)
	units           float64 // billable units of the result
}

// touchLocked records a change and wakes status streams. Callers hold j.mu.
func (j *job) touchLocked() {
	j.version++
	close(j.changed)
	j.changed = make(chan struct{})
}

// setPos is the app's position report (called with the app's lock held).
func (j *job) setPos(i int) {
	if j.pos.Swap(int64(i)) == int64(i) {
		return
	}
	j.mu.Lock()
	if j.state == stateQueued {
		j.touchLocked()
	}
	j.mu.Unlock()
}

// hasStarted reports whether the job's handler was started.
func (j *job) hasStarted() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return !j.startedAt.IsZero()
}

// appendLog adds a log line (Request.Log of a queue request).
func (j *job) appendLog(e LogEntry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state == stateCompleted {
		return
	}
	if len(j.logs) >= maxJobLogs {
		if !j.droppedLogs {
			j.droppedLogs = true
			j.logs = append(j.logs, LogEntry{Message: fmt.Sprintf("faltest: more than %d log lines; the rest are dropped", maxJobLogs), Level: "WARN", Source: "USER", Timestamp: e.Timestamp})
			j.touchLocked()
		}
		return
	}
	j.logs = append(j.logs, e)
	j.touchLocked()
}

// start moves the job to IN_PROGRESS unless it was cancelled meanwhile.
func (j *job) start() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state != stateQueued {
		return false
	}
	j.state = stateRunning
	j.startedAt = time.Now()
	j.touchLocked()
	return true
}

// completeLocked records the outcome; it reports false if the job had
// completed already. Callers hold j.mu.
func (j *job) completeLocked(out json.RawMessage, err error) bool {
	if j.state == stateCompleted {
		return false
	}
	j.state = stateCompleted
	j.completedAt = time.Now()
	if err != nil {
		if j.cancelRequested {
			err = errCancelled
		}
		rep := replyFor(err)
		j.status, j.body, j.errType, j.timeoutType, j.errMsg = rep.status, rep.body, rep.errorType, rep.timeoutType, rep.message
		if j.errMsg == "" {
			j.errMsg = http.StatusText(rep.status)
		}
	} else {
		j.status, j.body = http.StatusOK, out
	}
	// Bill it now, so the history and credits hold it once COMPLETED is
	// visible.
	j.units = j.req.srv.finishRecord(j.rec, j.app, j.req, j.status, j.body, j.errType)
	j.touchLocked()
	return true
}

// jobTable holds the queue requests by id.
type jobTable struct {
	mu        sync.Mutex
	jobs      map[string]*job
	lastSweep time.Time
}

func (t *jobTable) init() { t.jobs = make(map[string]*job) }

// add stores j, dropping completed jobs older than retention now and then.
func (t *jobTable) add(j *job, retention time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if now.Sub(t.lastSweep) > retention/10 {
		t.lastSweep = now
		for id, old := range t.jobs {
			old.mu.Lock()
			expired := old.state == stateCompleted && now.Sub(old.completedAt) > retention
			old.mu.Unlock()
			if expired {
				delete(t.jobs, id)
			}
		}
	}
	t.jobs[j.id] = j
}

// get finds a job that has not expired.
func (t *jobTable) get(id string, retention time.Duration) *job {
	t.mu.Lock()
	j := t.jobs[id]
	t.mu.Unlock()
	if j == nil {
		return nil
	}
	j.mu.Lock()
	expired := j.state == stateCompleted && time.Since(j.completedAt) > retention
	j.mu.Unlock()
	if expired {
		return nil
	}
	return j
}

// appBase is the [ns/]owner/alias part of an app id: the part fal keeps in
// queue request URLs (the path is dropped).
func appBase(id string) string {
	n := 2
	if i := strings.IndexByte(id, '/'); i > 0 && isNamespace(id[:i]) {
		n = 3
	}
	end := 0
	for k := 0; k < n; k++ {
		i := strings.IndexByte(id[end:], '/')
		if i < 0 {
			return id
		}
		end += i + 1
	}
	return id[:end-1]
}

// queueOp is an operation on an existing queue request.
type queueOp int

const (
	opResult queueOp = iota
	opStatus
	opStatusStream
	opCancel
	opUnknown
)

// parseRequestPath splits "[ns/]owner/alias[/path]/requests/{id}[/...]"
// into the app part, the request id and the operation.
func parseRequestPath(p string) (app, id string, op queueOp, ok bool) {
	segs := strings.Split(p, "/")
	min := 2
	if isNamespace(segs[0]) {
		min = 3
	}
	for i := min; i+1 < len(segs); i++ {
		if segs[i] != "requests" {
			continue
		}
		app = strings.Join(segs[:i], "/")
		id = segs[i+1]
		switch rest := strings.Join(segs[i+2:], "/"); rest {
		case "":
			op = opResult
		case "status":
			op = opStatus
		case "status/stream":
			op = opStatusStream
		case "cancel":
			op = opCancel
		default:
			op = opUnknown
		}
		return app, id, op, id != ""
	}
	return "", "", opUnknown, false
}

// mountQueue registers /queue/: submit (POST to the app) and the
// operations on .../requests/{id}.
func (s *Server) mountQueue(mux *http.ServeMux) {
	submit := s.route("submit", s.handleSubmit)
	status := s.route("status", s.handleStatus)
	statusStream := s.route("status_stream", s.handleStatusStream)
	result := s.route("result", s.handleResult)
	cancel := s.route("cancel", s.handleCancel)
	unknown := s.route("queue_unknown", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Not Found: %s is not a queue endpoint; use .../requests/{id}, .../requests/{id}/status, .../requests/{id}/status/stream or .../requests/{id}/cancel", r.URL.Path), "")
	})
	mux.Handle("/queue/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A path with .../requests/{id} names a request (fal's routing has
		// the same ambiguity: an app path cannot start with "requests").
		_, _, op, ok := parseRequestPath(appPath(r, "/queue/"))
		switch {
		case !ok:
			submit.ServeHTTP(w, r) // answers 405 unless it is a POST
		case op == opStatus:
			status.ServeHTTP(w, r)
		case op == opStatusStream:
			statusStream.ServeHTTP(w, r)
		case op == opResult:
			result.ServeHTTP(w, r)
		case op == opCancel:
			cancel.ServeHTTP(w, r)
		default:
			unknown.ServeHTTP(w, r)
		}
	}))
}

// submitReply is the body of a successful submit.
type submitReply struct {
	Status           string `json:"status"`
	RequestID        string `json:"request_id"`
	ResponseURL      string `json:"response_url"`
	StatusURL        string `json:"status_url"`
	CancelURL        string `json:"cancel_url"`
	QueuePosition    int    `json:"queue_position"`
	GatewayRequestID string `json:"gateway_request_id"`
}

// headerError answers 422 for a bad header or query parameter, in the
// FastAPI shape fal uses for invalid requests.
func headerError(w http.ResponseWriter, where, name, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, struct {
		Detail []ValidationDetail `json:"detail"`
	}{[]ValidationDetail{{Loc: []any{where, name}, Msg: msg, Type: "value_error"}}})
}

// handleSubmit serves POST /queue/{app...}[?fal_webhook=...].
func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request) {
	sent := time.Now()
	id := appPath(r, "/queue/")
	a, path, ok := s.postApp(w, r, id, false)
	if !ok {
		return
	}
	ctl, ok := parseControls(w, r)
	if !ok {
		return
	}
	maxQueue := -1
	if v := r.URL.Query().Get("fal_max_queue_length"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			headerError(w, "query", "fal_max_queue_length", fmt.Sprintf("invalid value %q: want a whole number of requests, 0 or more", v))
			return
		}
		maxQueue = n
	}
	prio := prioNormal
	switch p := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Fal-Queue-Priority"))); p {
	case "", "normal":
	case "low":
		prio = prioLow
	default:
		headerError(w, "header", "x-fal-queue-priority", fmt.Sprintf("invalid priority %q: use \"normal\" or \"low\"", p))
		return
	}
	hook := r.URL.Query().Get("fal_webhook")
	if hook != "" {
		u, err := url.Parse(hook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			headerError(w, "query", "fal_webhook", fmt.Sprintf("invalid webhook URL %q: want an absolute http:// or https:// URL", hook))
			return
		}
		u.RawQuery = escapeQuery(u.RawQuery)
		hook = u.String()
	}
	deadline, ok := startDeadline(w, r)
	if !ok {
		return
	}
	input, ok := s.readInput(w, r)
	if !ok {
		return
	}
	header := r.Header.Clone()
	header.Del("Authorization")

	j := &job{
		id:       newID(),
		app:      a,
		base:     appBase(id),
		webhook:  hook,
		deadline: deadline,
		changed:  make(chan struct{}),
	}
	j.urlBase = s.URL + "/queue/" + j.base + "/requests/" + j.id
	j.req = &Request{App: a.id, Path: path, RequestID: j.id, Input: input, Header: header, srv: s, logFn: j.appendLog}
	var waiting int
	if j.w, waiting = a.joinAtMost(prio, j.setPos, maxQueue); j.w == nil {
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("Queue is full: %s has %d requests waiting, more than fal_max_queue_length=%d allows", a.id, waiting, maxQueue), "")
		return
	}
	j.ctx, j.cancel = context.WithCancel(s.ctx)
	j.rec = s.beginRecord(j.id, a, path, "queue", input, sent, ctl, s.authKey(r))
	pos := int(j.pos.Load())
	s.queue.add(j, s.cfg.retention)
	if !s.goTracked(func() { s.runJob(j) }) {
		j.cancel()
		j.mu.Lock()
		j.completeLocked(nil, errCancelled)
		j.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "the faltest server is shutting down", "")
		return
	}
	w.Header().Set(headerRequestID, j.id)
	writeJSON(w, http.StatusOK, submitReply{
		Status:           "IN_QUEUE",
		RequestID:        j.id,
		ResponseURL:      j.urlBase,
		StatusURL:        j.urlBase + "/status",
		CancelURL:        j.urlBase + "/cancel",
		QueuePosition:    pos,
		GatewayRequestID: j.id,
	})
}

// escapeQuery percent-encodes the bytes a raw query may not hold (spaces,
// controls, non-ASCII, quotes...), keeping the rest as sent.
func escapeQuery(q string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte("\"<>\\^`{|}", c) >= 0 {
			if b.Len() == 0 {
				b.WriteString(q[:i])
			}
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return q
	}
	return b.String()
}

// runJob runs a queue request to completion.
func (s *Server) runJob(j *job) {
	defer j.cancel()
	out, err := s.execute(j.ctx, j.app, j.req, execOptions{deadline: j.deadline, joined: j.w, started: j.start, rec: j.rec})
	s.finishJob(j, out, err)
}

// finishJob completes j (if nothing completed it before) and sends its
// webhook.
func (s *Server) finishJob(j *job, out json.RawMessage, err error) {
	j.mu.Lock()
	done := j.completeLocked(out, err)
	j.mu.Unlock()
	if done && j.webhook != "" {
		s.goTracked(func() { s.deliverWebhook(j) })
	}
}

// findJob resolves the request id of a queue URL; on failure it has
// answered 404 already.
func (s *Server) findJob(w http.ResponseWriter, r *http.Request) (*job, bool) {
	app, id, _, _ := parseRequestPath(appPath(r, "/queue/"))
	j := s.queue.get(id, s.cfg.retention)
	if j == nil || appBase(app) != j.base {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Request %q not found for app %q (unknown id, another app's request, or expired)", id, app), "")
		return nil, false
	}
	w.Header().Set(headerRequestID, j.id)
	return j, true
}

// queueStatus is the body of a status response and of each status stream
// event.
type queueStatus struct {
	Status        string      `json:"status"`
	RequestID     string      `json:"request_id"`
	ResponseURL   string      `json:"response_url"`
	StatusURL     string      `json:"status_url"`
	CancelURL     string      `json:"cancel_url"`
	QueuePosition *int        `json:"queue_position,omitempty"`
	Logs          []LogEntry  `json:"logs"`
	Metrics       *jobMetrics `json:"metrics,omitempty"`
	Error         string      `json:"error,omitempty"`
	ErrorType     string      `json:"error_type,omitempty"`
}

type jobMetrics struct {
	InferenceTime *float64 `json:"inference_time"`
}

// snapshot describes the job. With logs, it includes the log lines from
// index from on (an empty list when there are none) and returns the index
// to continue from; without, logs are null.
func (j *job) snapshot(withLogs bool, from int) (st queueStatus, next int, version uint64, changed <-chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	st = queueStatus{
		RequestID:   j.id,
		ResponseURL: j.urlBase,
		StatusURL:   j.urlBase + "/status",
		CancelURL:   j.urlBase + "/cancel",
	}
	switch j.state {
	case stateQueued:
		st.Status = "IN_QUEUE"
		p := int(j.pos.Load())
		st.QueuePosition = &p
	case stateRunning:
		st.Status = "IN_PROGRESS"
	case stateCompleted:
		st.Status = "COMPLETED"
		m := &jobMetrics{}
		if !j.startedAt.IsZero() {
			t := j.completedAt.Sub(j.startedAt).Seconds()
			m.InferenceTime = &t
		}
		st.Metrics = m
		st.Error, st.ErrorType = j.errMsg, j.errType
	}
	next = from
	if withLogs {
		if from > len(j.logs) {
			from = len(j.logs)
		}
		st.Logs = append(make([]LogEntry, 0, len(j.logs)-from), j.logs[from:]...)
		next = len(j.logs)
	}
	return st, next, j.version, j.changed
}

// wantLogs reads the logs query parameter (true|false|1|0); on a bad
// value it has answered 422 already.
func wantLogs(w http.ResponseWriter, r *http.Request) (bool, bool) {
	switch v := strings.ToLower(r.URL.Query().Get("logs")); v {
	case "", "0", "false":
		return false, true
	case "1", "true":
		return true, true
	default:
		headerError(w, "query", "logs", fmt.Sprintf("invalid logs value %q: use true, false, 1 or 0", v))
		return false, false
	}
}

// handleStatus serves GET .../requests/{id}/status: 202 while queued or
// running, 200 once completed.
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	j, ok := s.queueRequest(w, r, http.MethodGet)
	if !ok {
		return
	}
	withLogs, ok := wantLogs(w, r)
	if !ok {
		return
	}
	st, _, _, _ := j.snapshot(withLogs, 0)
	code := http.StatusAccepted
	if st.Status == "COMPLETED" {
		code = http.StatusOK
	}
	writeJSON(w, code, st)
}

// queueRequest does the checks every request operation shares: method,
// key, request id.
func (s *Server) queueRequest(w http.ResponseWriter, r *http.Request, method string) (*job, bool) {
	if r.Method != method {
		methodNotAllowed(w, r, method)
		return nil, false
	}
	authorized := s.checkKey(r)
	if !authorized && strings.HasSuffix(r.URL.Path, "/status/stream") {
		// The JS client's "client" mode streams status with a temporary token.
		app, _, _, _ := parseRequestPath(appPath(r, "/queue/"))
		authorized = s.checkKeyOrToken(r, app)
	}
	if !authorized {
		s.unauthorized(w)
		return nil, false
	}
	return s.findJob(w, r)
}

// handleResult serves GET .../requests/{id}: the app's answer once the
// request has completed; 400 with error_type "request_in_progress" before.
func (s *Server) handleResult(w http.ResponseWriter, r *http.Request) {
	j, ok := s.queueRequest(w, r, http.MethodGet)
	if !ok {
		return
	}
	j.mu.Lock()
	state, status, body, errType, timeoutType, units := j.state, j.status, j.body, j.errType, j.timeoutType, j.units
	j.mu.Unlock()
	if state != stateCompleted {
		writeError(w, http.StatusBadRequest, "Request is still in progress: wait until its status is COMPLETED, then fetch the result", "request_in_progress")
		return
	}
	w.Header().Set(headerBillableUnits, formatUnits(units))
	if errType != "" {
		w.Header().Set("x-fal-error-type", errType)
	}
	if timeoutType != "" {
		w.Header().Set("x-fal-request-timeout-type", timeoutType)
	}
	writeRawJSON(w, status, body)
}

// cancelReply is the body of a cancel response.
type cancelReply struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// handleCancel serves PUT .../requests/{id}/cancel.
func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		methodNotAllowed(w, r, http.MethodPut)
		return
	}
	if !s.checkKey(r) {
		s.unauthorized(w)
		return
	}
	app, id, _, _ := parseRequestPath(appPath(r, "/queue/"))
	j := s.queue.get(id, s.cfg.retention)
	if j == nil || appBase(app) != j.base {
		writeJSON(w, http.StatusNotFound, cancelReply{Status: "NOT_FOUND", Detail: fmt.Sprintf("Request %q not found", id)})
		return
	}
	w.Header().Set(headerRequestID, j.id)
	j.mu.Lock()
	switch j.state {
	case stateQueued:
		// Removed from the line: it never runs.
		j.cancelRequested = true
		done := j.completeLocked(nil, errCancelled)
		j.mu.Unlock()
		j.cancel()
		if done && j.webhook != "" {
			s.goTracked(func() { s.deliverWebhook(j) })
		}
		writeJSON(w, http.StatusOK, cancelReply{Status: "OK"})
	case stateRunning:
		j.cancelRequested = true
		j.mu.Unlock()
		j.cancel()
		writeJSON(w, http.StatusAccepted, cancelReply{Status: "CANCELLATION_REQUESTED"})
	default:
		j.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, cancelReply{Status: "ALREADY_COMPLETED", Detail: "Request already completed"})
	}
}
