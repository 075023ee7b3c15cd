package fal

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"strings"
	"time"

	"github.com/falgo/fal/internal/engine"
)

// Status is the state of a queued request: one of Queued, InProgress or
// Completed. It is a sealed interface; switch on the concrete type:
//
//	switch s := st.(type) {
//	case fal.Queued:     fmt.Println("position", s.Position)
//	case fal.InProgress: for _, l := range s.Logs { fmt.Println(l.Message) }
//	case fal.Completed:  fmt.Println("done", s.Error)
//	}
type Status interface {
	// State is "IN_QUEUE", "IN_PROGRESS" or "COMPLETED".
	State() string
	isStatus()
}

// Queued means the request waits for a runner; Position 0 is next.
type Queued struct {
	Position int
}

// InProgress means a runner is working on the request. Logs holds the log
// entries asked for with WithLogs(true) (see Events for which ones).
type InProgress struct {
	Logs []Log
}

// Completed means the request finished. Error and ErrorType are set when it
// failed (for example "Request timed out" / "request_timeout").
type Completed struct {
	Logs      []Log
	Metrics   Metrics
	Error     string
	ErrorType string
}

// Metrics are the measurements fal reports with a completed request.
type Metrics map[string]any

// InferenceTime is the reported inference time, if any.
func (m Metrics) InferenceTime() (time.Duration, bool) {
	v, ok := m["inference_time"].(float64)
	if !ok {
		return 0, false
	}
	return time.Duration(v * float64(time.Second)), true
}

// State returns "IN_QUEUE".
func (Queued) State() string { return "IN_QUEUE" }

// State returns "IN_PROGRESS".
func (InProgress) State() string { return "IN_PROGRESS" }

// State returns "COMPLETED".
func (Completed) State() string { return "COMPLETED" }

func (Queued) isStatus()     {}
func (InProgress) isStatus() {}
func (Completed) isStatus()  {}

// Failed reports whether the request completed with an error.
func (c Completed) Failed() bool { return c.Error != "" || c.ErrorType != "" }

// Log is one log entry of a request.
type Log struct {
	Message   string    `json:"message"`
	Level     string    `json:"level"`  // STDOUT, STDERR, INFO, WARN, ERROR, DEBUG
	Source    string    `json:"source"` // e.g. USER
	Timestamp time.Time `json:"timestamp"`
}

// UnmarshalJSON accepts timestamps with or without a time zone (fal sends
// both); an unparsable timestamp is left zero rather than failing the status.
func (l *Log) UnmarshalJSON(b []byte) error {
	var raw struct {
		Message   string `json:"message"`
		Level     string `json:"level"`
		Source    string `json:"source"`
		Timestamp any    `json:"timestamp"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*l = Log{Message: raw.Message, Level: raw.Level, Source: raw.Source}
	switch ts := raw.Timestamp.(type) {
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
			if t, err := time.Parse(layout, ts); err == nil {
				l.Timestamp = t
				break
			}
		}
	case float64:
		if ts > -1e11 && ts < 1e11 { // seconds since 1970, within ±3000 years
			l.Timestamp = time.Unix(0, int64(ts*float64(time.Second))).UTC()
		}
	}
	return nil
}

// hash identifies a log entry for de-duplication.
func (l Log) hash(seed maphash.Seed) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	var ts [8]byte
	binary.LittleEndian.PutUint64(ts[:], uint64(l.Timestamp.UnixNano()))
	h.Write(ts[:])
	for _, s := range []string{l.Level, l.Source, l.Message} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// statusBody is the JSON of a status answer (polling and stream events).
type statusBody struct {
	Status        string          `json:"status"`
	QueuePosition *int            `json:"queue_position"`
	Logs          []Log           `json:"logs"`
	Metrics       Metrics         `json:"metrics"`
	Error         json.RawMessage `json:"error"`
	ErrorType     string          `json:"error_type"`
	RequestID     string          `json:"request_id"`
}

// scrub removes the secrets from the texts of a status.
func (sb *statusBody) scrub(secrets []string) {
	if len(secrets) == 0 {
		return
	}
	sb.ErrorType = engine.ScrubString(sb.ErrorType, secrets)
	sb.Error = engine.Scrub(sb.Error, secrets)
	for i := range sb.Logs {
		l := &sb.Logs[i]
		l.Message = engine.ScrubString(l.Message, secrets)
		l.Level = engine.ScrubString(l.Level, secrets)
		l.Source = engine.ScrubString(l.Source, secrets)
	}
}

// parseStatus turns a status JSON body into a Status. secrets are
// scrubbed from every text the status carries (error, logs) and from the
// body where an error quotes it.
func parseStatus(body []byte, secrets []string) (Status, error) {
	var sb statusBody
	if err := json.Unmarshal(body, &sb); err != nil {
		return nil, fmt.Errorf("status answer is not valid JSON: %w (%s)", err, engine.Quote(string(body), secrets, 200))
	}
	sb.scrub(secrets)
	switch sb.Status {
	case "IN_QUEUE":
		pos := 0
		if sb.QueuePosition != nil {
			pos = max(*sb.QueuePosition, 0)
		}
		return Queued{Position: pos}, nil
	case "IN_PROGRESS":
		return InProgress{Logs: sb.Logs}, nil
	case "COMPLETED":
		m := sb.Metrics
		if m == nil {
			m = Metrics{}
		}
		return Completed{Logs: sb.Logs, Metrics: m, Error: errorText(sb.Error), ErrorType: sb.ErrorType}, nil
	case "":
		return nil, fmt.Errorf("status answer has no \"status\" field (%s)", engine.Quote(string(body), secrets, 200))
	}
	return nil, fmt.Errorf("unknown request status %q", engine.Quote(sb.Status, secrets, 100))
}

// errorText renders the "error" field, which is usually a string but may be
// any JSON value.
func errorText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}
