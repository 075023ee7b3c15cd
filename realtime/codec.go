package realtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
)

// Frames: inputs go out as msgpack in binary frames; outputs come back as
// msgpack binary frames, or as JSON text frames (errors, meta messages,
// and outputs of servers that answer in JSON).

// Error is an error the realtime server reported in a frame ({"type":
// "x-fal-error", "error": ..., "reason": ...}), or the connection ending
// abnormally (Code CodeConnectionClosed). Check for it with errors.As.
//
// Most codes concern one input and leave the connection usable:
// BAD_REQUEST (invalid input). INTERNAL_ERROR is followed by the server
// closing the connection; the next Send opens a new one. TIMEOUT
// (CodeTimeout) means the server closed an idle connection: Recv reports
// it as the end of the connection (errors.Is(err, io.EOF) and
// errors.Is(err, ErrIdle) hold), and the next Send reconnects.
type Error struct {
	App    string // the app id
	Code   string // the frame's "error" (e.g. BAD_REQUEST, INTERNAL_ERROR, TIMEOUT), or CONNECTION_CLOSED
	Reason string // the frame's "reason", or how the connection closed
	// CloseStatus is the websocket close status for CONNECTION_CLOSED
	// (1006 when the connection was lost without a close frame), else 0.
	CloseStatus int
	// Payload is the whole frame as sent by the server (nil for
	// CONNECTION_CLOSED).
	Payload map[string]any
}

// Error codes with a meaning to the client, compared with Error.Code.
const (
	// CodeTimeout: the server closed the connection because no input
	// came for a while.
	CodeTimeout = "TIMEOUT"
	// CodeConnectionClosed: the connection closed abnormally or was lost.
	CodeConnectionClosed = "CONNECTION_CLOSED"
)

// ErrIdle matches (with errors.Is) the end of a connection that the
// server closed because no input came for a while. The next Send
// reconnects.
var ErrIdle = errors.New("fal: realtime: the server closed the idle connection")

// ErrClosed is returned by the methods of a Conn after Close.
var ErrClosed = errors.New("fal: realtime: the connection was closed with Close")

// Error is "fal: realtime <app>: <code>: <reason>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(falerr.Prefix + "realtime")
	if e.App != "" {
		b.WriteString(" " + e.App)
	}
	b.WriteString(": " + e.Code)
	if e.CloseStatus != 0 {
		fmt.Fprintf(&b, " (close status %d)", e.CloseStatus)
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	return b.String()
}

// Is makes a TIMEOUT error match io.EOF (the connection ended cleanly) and
// ErrIdle.
func (e *Error) Is(target error) bool {
	return e.Code == CodeTimeout && (target == io.EOF || target == ErrIdle)
}

// encode encodes one input as msgpack. Struct fields are named by
// their msgpack tag, else their json tag, else their Go name; []byte
// becomes the msgpack bin type. A json.RawMessage or a json.Marshaler is
// converted from its JSON, a msgpack.RawMessage is sent as is, and nil
// sends an empty map, as Run does.
func encode(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		v = map[string]any{}
	case msgpack.RawMessage:
		if len(x) == 0 {
			return nil, errors.New("the msgpack.RawMessage is empty")
		}
		return x, nil
	case msgpack.CustomEncoder, msgpack.Marshaler:
		// msgpack's own hooks win over JSON ones.
	case json.RawMessage:
		g, err := jsonToGeneric(x)
		if err != nil {
			return nil, fmt.Errorf("the json.RawMessage is not valid JSON: %w", err)
		}
		v = g
	case json.Marshaler:
		b, err := x.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%T.MarshalJSON: %w", v, err)
		}
		g, err := jsonToGeneric(b)
		if err != nil {
			return nil, fmt.Errorf("%T.MarshalJSON returned invalid JSON: %w", v, err)
		}
		v = g
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetCustomStructTag("json")
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jsonToGeneric decodes JSON into maps, slices, strings, bools, nil and
// numbers: int64 for integers that fit, else uint64, else float64.
func jsonToGeneric(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	return convertNumbers(v), nil
}

func convertNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = convertNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = convertNumbers(e)
		}
	}
	return v
}

// maxPrealloc bounds the capacity allocated from a length a frame claims,
// so that a 5-byte frame cannot make the client allocate gigabytes.
const maxPrealloc = 1024

// decodeMsgpack decodes one msgpack value into maps (map[string]any; other
// key types are turned into strings), []any, string, []byte (bin), bool,
// nil, time.Time (timestamps), int64, uint64 (above the int64 range) and
// float64.
func decodeMsgpack(b []byte) (any, error) {
	r := bytes.NewReader(b)
	dec := msgpack.NewDecoder(r)
	dec.SetMapDecoder(decodeStringMap)
	v, err := dec.DecodeInterface()
	if err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d bytes after the msgpack value", r.Len())
	}
	return normalizeNumbers(v), nil
}

func decodeStringMap(d *msgpack.Decoder) (any, error) {
	n, err := d.DecodeMapLen()
	if err != nil || n < 0 {
		return nil, err
	}
	m := make(map[string]any, min(n, maxPrealloc))
	for i := 0; i < n; i++ {
		k, err := d.DecodeInterface()
		if err != nil {
			return nil, err
		}
		var key string
		switch x := k.(type) {
		case string:
			key = x
		case []byte:
			key = string(x)
		default:
			key = fmt.Sprint(normalizeNumbers(x))
		}
		v, err := d.DecodeInterface()
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	return m, nil
}

// normalizeNumbers turns msgpack's sized numbers into int64, uint64 and
// float64.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint:
		return normalizeNumbers(uint64(x))
	case uint64:
		if x <= 1<<63-1 {
			return int64(x)
		}
		return x
	case float32:
		return float64(x)
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

// rawFrame is one data frame as read from the connection.
type rawFrame struct {
	text bool
	data []byte
}

// output is one decoded output.
type output struct {
	value   any    // the decoded value
	rawJSON []byte // the frame itself for JSON text frames
}

// asMap is the output as Recv returns it: an object as is, anything else
// as {"payload": value}.
func (o output) asMap() map[string]any {
	if m, ok := o.value.(map[string]any); ok {
		return m
	}
	return map[string]any{"payload": o.value}
}

// decode unmarshals the output into v with encoding/json's rules.
func (o output) decode(v any) error {
	b := o.rawJSON
	if b == nil {
		var err error
		if b, err = json.Marshal(o.value); err != nil {
			return fmt.Errorf("the output cannot be converted to JSON: %w", err)
		}
	}
	return json.Unmarshal(b, v)
}

// frameKind says what a frame turned out to be.
type frameKind int

const (
	frameOutput frameKind = iota
	frameError            // a per-frame error: *Error or a decoding error
	frameMeta             // an x-fal-message
)

// classify decodes a frame and tells outputs, errors and meta messages
// apart (spec §7.3; the JS client's classification, spec fal-js §3).
func classify(app string, f rawFrame) (frameKind, output, error) {
	var out output
	if f.text && isMeta(f.data) {
		// Decoded only for OnMeta (see Conn.next): the gateway sends one
		// with every answer, and most callers ignore them.
		return frameMeta, out, nil
	}
	if f.text {
		if !json.Valid(f.data) {
			out.value = map[string]any{"type": "text", "payload": string(f.data)}
			return frameOutput, out, nil
		}
		g, err := jsonToGeneric(f.data)
		if err != nil {
			return frameError, out, falerr.Wrap(err, "realtime %s: decoding a JSON text frame", app)
		}
		out.value, out.rawJSON = g, f.data
	} else {
		g, err := decodeMsgpack(f.data)
		if err != nil {
			return frameError, out, falerr.New("realtime %s: a binary frame of %d bytes is not valid msgpack: %v", app, len(f.data), err)
		}
		out.value = g
	}
	m, ok := out.value.(map[string]any)
	if !ok {
		return frameOutput, out, nil
	}
	switch m["type"] {
	case "x-fal-error":
		return frameError, out, newError(app, m)
	case "x-fal-message":
		return frameMeta, out, nil
	}
	// The gateway's own error form (e.g. {"status":"error","error":
	// "Unauthorized"}), which the JS client drops silently; only text
	// frames, since apps answer in msgpack.
	if code, isStr := m["error"].(string); f.text && isStr && m["status"] == "error" {
		e := newError(app, m)
		e.Code = code
		return frameError, out, e
	}
	return frameOutput, out, nil
}

// metaMarker is how an x-fal-message's type appears in its text frame.
var metaMarker = []byte(`"x-fal-message"`)

// isMeta reports whether a text frame is an x-fal-message, without
// decoding it into values: a search for the marker first (other frames
// almost never hold it), then a decode of the type field alone.
func isMeta(data []byte) bool {
	if !bytes.Contains(data, metaMarker) {
		return false
	}
	var head struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(data, &head) == nil && head.Type == "x-fal-message"
}

// scrub removes the secrets from what the server sent, and keeps the code
// and reason on one line.
func (e *Error) scrub(secrets []string) {
	e.Code = engine.Quote(e.Code, secrets, 100)
	e.Reason = engine.Quote(e.Reason, secrets, 1000)
	e.Payload, _ = scrubValue(e.Payload, secrets).(map[string]any)
}

// scrubValue is v with the secrets removed from every string in it.
func scrubValue(v any, secrets []string) any {
	switch x := v.(type) {
	case string:
		return engine.ScrubString(x, secrets)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[engine.ScrubString(k, secrets)] = scrubValue(e, secrets)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrubValue(e, secrets)
		}
		return out
	}
	return v
}

// newError builds the error of an x-fal-error frame.
func newError(app string, m map[string]any) *Error {
	e := &Error{App: app, Code: "UNKNOWN_ERROR", Payload: m}
	if c, ok := m["error"].(string); ok && c != "" {
		e.Code = c
	}
	for _, k := range []string{"reason", "detail", "message"} {
		if r := describe(m[k]); r != "" {
			e.Reason = r
			break
		}
	}
	return e
}

// describe renders a reason that may be a string or any JSON value.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return engine.Clip(x, 1000)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return engine.Clip(fmt.Sprint(v), 1000)
	}
	return engine.Clip(string(b), 1000)
}
