package faltest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// AppError is an app failure with an HTTP status. A handler returning it
// makes the request answer Status with fal's error body
// {"detail": Detail, "error_type": Type} and the x-fal-error-type header
// (when Type is set).
type AppError struct {
	// Status is the HTTP status (default 500).
	Status int
	// Detail is the error detail: usually a string, any JSON value works.
	Detail any
	// Type is fal's error_type, e.g. "runner_disconnected"; may be empty.
	Type string
}

// Error describes the failure.
func (e *AppError) Error() string {
	return fmt.Sprintf("faltest: app error %d: %v", e.status(), e.Detail)
}

func (e *AppError) status() int {
	if e.Status < 400 || e.Status > 599 {
		return http.StatusInternalServerError
	}
	return e.Status
}

// ValidationDetail is one entry of a 422 response's detail list, in
// FastAPI's shape, which fal apps use.
type ValidationDetail struct {
	// Loc is where the problem is, e.g. ["body", "prompt"].
	Loc []any `json:"loc"`
	// Msg says what is wrong.
	Msg string `json:"msg"`
	// Type classifies it, e.g. "value_error" or "missing".
	Type string `json:"type"`
}

// InputError is invalid app input: it answers HTTP 422 with
// {"detail": Details}.
type InputError struct {
	Details []ValidationDetail
}

// Error lists the problems.
func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString("faltest: invalid input:")
	for _, d := range e.Details {
		fmt.Fprintf(&b, " %v: %s;", d.Loc, d.Msg)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// ValidationError returns an error that makes the request answer HTTP 422
// with {"detail":[{"loc":["body",<field>],"msg":<msg>,"type":"value_error"}]},
// fal's answer to invalid input. A dotted field ("image_size.width") becomes
// a nested location; an empty field points at the whole body.
func ValidationError(field, msg string) error {
	loc := []any{"body"}
	if field != "" {
		for _, p := range strings.Split(field, ".") {
			loc = append(loc, p)
		}
	}
	return &InputError{Details: []ValidationDetail{{Loc: loc, Msg: msg, Type: "value_error"}}}
}

var (
	// errStartTimeout: the start deadline (X-Fal-Request-Timeout) passed
	// before a runner picked the request up.
	errStartTimeout = errors.New("faltest: request timed out before it started")
	// errCancelled: the request was cancelled through the queue API.
	errCancelled = errors.New("faltest: request was cancelled")
)

// Error texts and types of requests that never produced an app answer.
const (
	timeoutDetail   = "Request timed out"
	timeoutType     = "request_timeout"
	cancelledDetail = "Request was cancelled"
	cancelledType   = "request_cancelled"
)

// errorReply is how an error is answered over HTTP.
type errorReply struct {
	status      int
	body        []byte // fal error JSON
	errorType   string // x-fal-error-type
	timeoutType string // x-fal-request-timeout-type
	message     string // short text for the queue status "error" field
}

// replyFor maps an app or server error to its HTTP answer.
func replyFor(err error) errorReply {
	var (
		ae *AppError
		ie *InputError
	)
	switch {
	case errors.As(err, &ie):
		b, _ := json.Marshal(struct {
			Detail []ValidationDetail `json:"detail"`
		}{ie.Details})
		return errorReply{status: http.StatusUnprocessableEntity, body: b, message: strings.TrimPrefix(ie.Error(), "faltest: ")}
	case errors.As(err, &ae):
		b, jerr := json.Marshal(falError{Detail: ae.Detail, ErrorType: ae.Type})
		if jerr != nil {
			b, _ = json.Marshal(falError{Detail: fmt.Sprint(ae.Detail), ErrorType: ae.Type})
		}
		msg := fmt.Sprint(ae.Detail)
		if s, ok := ae.Detail.(string); ok {
			msg = s
		}
		return errorReply{status: ae.status(), body: b, errorType: ae.Type, message: msg}
	case errors.Is(err, errStartTimeout):
		b, _ := json.Marshal(falError{Detail: timeoutDetail, ErrorType: timeoutType})
		return errorReply{status: http.StatusGatewayTimeout, body: b, errorType: timeoutType, timeoutType: "user", message: timeoutDetail}
	case errors.Is(err, errCancelled), errors.Is(err, context.Canceled):
		b, _ := json.Marshal(falError{Detail: cancelledDetail, ErrorType: cancelledType})
		return errorReply{status: http.StatusBadRequest, body: b, errorType: cancelledType, message: cancelledDetail}
	default:
		b, _ := json.Marshal(falError{Detail: err.Error(), ErrorType: "internal_error"})
		return errorReply{status: http.StatusInternalServerError, body: b, errorType: "internal_error", message: err.Error()}
	}
}

// write sends the error reply.
func (e errorReply) write(w http.ResponseWriter) {
	h := w.Header()
	if e.errorType != "" {
		h.Set("x-fal-error-type", e.errorType)
	}
	if e.timeoutType != "" {
		h.Set("x-fal-request-timeout-type", e.timeoutType)
	}
	writeRawJSON(w, e.status, e.body)
}

// mountRun registers /run/: sync runs, output streams and realtime
// websockets, told apart by the path's last segment.
func (s *Server) mountRun(mux *http.ServeMux) {
	run := s.route("run", s.handleRun)
	stream := s.route("stream", s.handleStream)
	realtime := s.route("realtime", s.handleRealtime)
	mux.Handle("/run/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimSuffix(r.URL.Path[len("/run/"):], "/")
		if isWebSocket(r) || (r.Method == http.MethodGet && strings.HasSuffix(p, "/realtime")) {
			realtime.ServeHTTP(w, r)
			return
		}
		if base, ok := strings.CutSuffix(p, "/stream"); ok {
			if a, _ := s.findApp(base); a != nil {
				stream.ServeHTTP(w, r)
				return
			}
		}
		run.ServeHTTP(w, r)
	}))
}

// isWebSocket reports whether r asks for a websocket upgrade.
func isWebSocket(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// appPath is the app id part of a /run/ or /queue/ URL path.
func appPath(r *http.Request, prefix string) string {
	return strings.Trim(strings.TrimPrefix(r.URL.Path, prefix), "/")
}

// notFoundApp answers 404 for an id no app is registered under.
func notFoundApp(w http.ResponseWriter, id string) {
	if id == "" {
		writeError(w, http.StatusNotFound, "No application in the URL: use /run/<owner>/<alias>[/<path>] or /queue/<owner>/<alias>[/<path>]", "")
		return
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("Application %q not found: no faltest app is registered under it (register one with faltest.WithApp or Server.Register)", id), "")
}

// methodNotAllowed answers 405, naming the method to use.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("Method %s not allowed here; use %s", r.Method, allow), "")
}

// postApp does the checks every app endpoint shares: the method is POST,
// the caller has the key (or, with tokenOK, a temporary token for the app),
// and the app id names a registered app. ok is false once an error answer
// has been written.
func (s *Server) postApp(w http.ResponseWriter, r *http.Request, id string, tokenOK bool) (a *app, path string, ok bool) {
	return s.appCall(w, r, id, tokenOK, false)
}

// appCall is postApp; with anyMethod, a sync run may also come as PUT (the
// input as the body) or GET (the input as query parameters), the forms of
// fal-js's method option.
func (s *Server) appCall(w http.ResponseWriter, r *http.Request, id string, tokenOK, anyMethod bool) (a *app, path string, ok bool) {
	switch {
	case r.Method == http.MethodPost:
	case anyMethod && (r.Method == http.MethodPut || r.Method == http.MethodGet):
	case anyMethod:
		methodNotAllowed(w, r, "POST, PUT, GET")
		return nil, "", false
	default:
		methodNotAllowed(w, r, http.MethodPost)
		return nil, "", false
	}
	authorized := s.checkKey(r)
	if !authorized && tokenOK {
		authorized = s.checkKeyOrToken(r, id)
	}
	if !authorized {
		s.unauthorized(w)
		return nil, "", false
	}
	if a, path = s.findApp(id); a == nil {
		notFoundApp(w, id)
		return nil, "", false
	}
	return a, path, true
}

// directReq is a call that runs the app within the HTTP request.
type directReq struct {
	a        *app
	req      *Request
	deadline time.Time
	rec      *record // its history record
}

// directCall prepares a call that runs the app within the HTTP request (a
// sync run or an output stream): postApp's checks, the request controls,
// the input and the start deadline, and records it in the history as
// mode. The Request it returns carries the caller's headers without
// Authorization. ok is false once an error answer has been written.
func (s *Server) directCall(w http.ResponseWriter, r *http.Request, id, mode string, tokenOK bool) (d directReq, ok bool) {
	sent := time.Now()
	a, path, ok := s.appCall(w, r, id, tokenOK, mode == "run")
	if !ok {
		return d, false
	}
	ctl, ok := parseControls(w, r)
	if !ok {
		return d, false
	}
	var input json.RawMessage
	if r.Method == http.MethodGet {
		input = queryInput(r.URL.Query())
	} else if input, ok = s.readInput(w, r); !ok {
		return d, false
	}
	deadline, ok := startDeadline(w, r)
	if !ok {
		return d, false
	}
	key := s.authKey(r)
	r.Header.Del("Authorization")
	req := &Request{App: a.id, Path: path, RequestID: w.Header().Get(headerRequestID), Input: input, Header: r.Header, srv: s}
	rec := s.beginRecord(req.RequestID, a, path, mode, input, sent, ctl, key)
	return directReq{a: a, req: req, deadline: deadline, rec: rec}, true
}

// queryInput is the input of a GET run: an object of the query
// parameters (fal_* ones excepted), each value as JSON when it parses as
// a number, true, false, null, an object or an array, else as a string.
func queryInput(q url.Values) json.RawMessage {
	m := map[string]json.RawMessage{}
	for k, vs := range q {
		if strings.HasPrefix(k, "fal_") || len(vs) == 0 {
			continue
		}
		v := vs[len(vs)-1]
		if t := strings.TrimSpace(v); t != "" && t[0] != '"' && json.Valid([]byte(t)) {
			m[k] = json.RawMessage(t)
			continue
		}
		b, _ := json.Marshal(v)
		m[k] = b
	}
	b, _ := json.Marshal(m)
	return b
}

// handleRun serves POST /run/{app...}: the sync endpoint.
func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	d, ok := s.directCall(w, r, appPath(r, "/run/"), "run", false)
	if !ok {
		return
	}
	out, err := s.execute(r.Context(), d.a, d.req, execOptions{deadline: d.deadline, rec: d.rec})
	if err != nil {
		rep := replyFor(err)
		units := s.finishRecord(d.rec, d.a, d.req, rep.status, rep.body, rep.errorType)
		if r.Context().Err() != nil {
			return // the caller is gone; nobody reads the answer
		}
		w.Header().Set(headerBillableUnits, formatUnits(units))
		rep.write(w)
		return
	}
	units := s.finishRecord(d.rec, d.a, d.req, http.StatusOK, out, "")
	w.Header().Set(headerBillableUnits, formatUnits(units))
	writeRawJSON(w, http.StatusOK, out)
}

// handleRealtime resolves the app and hands the websocket to realtime.go.
func (s *Server) handleRealtime(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSuffix(appPath(r, "/run/"), "/realtime")
	a, path := s.findApp(id)
	if a == nil {
		notFoundApp(w, id)
		return
	}
	s.serveRealtime(w, r, a.id, path)
}

// maxBody bounds request bodies (fal's own limit for JSON payloads is far
// lower; large files go through storage).
const maxBody = 64 << 20

// readInput reads and checks the JSON body; an empty body is JSON null.
// On failure it has answered already.
func (s *Server) readInput(w http.ResponseWriter, r *http.Request) (json.RawMessage, bool) {
	var (
		body []byte
		err  error
	)
	switch n := r.ContentLength; {
	case n > maxBody:
		err = &http.MaxBytesError{Limit: maxBody}
	case n > 0:
		body = make([]byte, n)
		_, err = io.ReadFull(r.Body, body) // net/http caps Body at ContentLength
	default: // unknown length (chunked) or empty
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body is larger than %d bytes; upload large files through storage and pass their URLs", maxBody), "")
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "Reading the request body failed: "+err.Error(), "")
		return nil, false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return json.RawMessage("null"), true
	}
	if !json.Valid(body) {
		var v any
		msg := "Invalid JSON"
		if jerr := json.Unmarshal(body, &v); jerr != nil {
			msg = "Invalid JSON body: " + jerr.Error()
		}
		writeJSON(w, http.StatusUnprocessableEntity, struct {
			Detail []ValidationDetail `json:"detail"`
		}{[]ValidationDetail{{Loc: []any{"body"}, Msg: msg, Type: "json_invalid"}}})
		return nil, false
	}
	return body, true
}

// startDeadline reads X-Fal-Request-Timeout (seconds). On a bad value it
// has answered 422 already.
func startDeadline(w http.ResponseWriter, r *http.Request) (time.Time, bool) {
	v := strings.TrimSpace(r.Header.Get("X-Fal-Request-Timeout"))
	if v == "" {
		return time.Time{}, true
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || secs <= 0 {
		headerError(w, "header", "x-fal-request-timeout", fmt.Sprintf("invalid start timeout %q: want a positive number of seconds, e.g. \"30\"", v))
		return time.Time{}, false
	}
	if secs > 1e9 {
		secs = 1e9
	}
	return time.Now().Add(time.Duration(secs * float64(time.Second))), true
}
