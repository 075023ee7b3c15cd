// Package sse decodes server-sent event streams following the WHATWG HTML
// specification's parsing rules: lines end at CRLF, LF or CR; lines starting
// with ':' are comments; "field:value" loses one space after the colon;
// several data lines join with "\n"; an empty line dispatches the event; a
// final event without its empty line is dropped. A decoder made with a
// limit refuses a line or an event's data longer than it (ErrTooLarge)
// before reading further, so memory stays bounded whatever the stream.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// ErrTooLarge is returned when a line or an event's data exceeds the
// decoder's limit.
var ErrTooLarge = errors.New("server-sent event larger than the limit")

// Event is one dispatched event.
type Event struct {
	Type  string // the "event" field; empty means "message"
	Data  string // data lines joined with "\n"
	ID    string // the last event id seen on the stream so far
	Retry int    // the last valid "retry" value in milliseconds, 0 if none
}

// Decoder reads events from a stream.
type Decoder struct {
	r       *bufio.Reader
	max     int // longest line and event data; 0 for no limit
	lastID  string
	retry   int
	pendCR  bool // the previous line ended with CR: skip an LF that follows
	started bool // the UTF-8 BOM check has been done
	err     error
}

// NewDecoder returns a decoder reading from r, with no limit on the size
// of lines and events.
func NewDecoder(r io.Reader) *Decoder { return NewLimitedDecoder(r, 0) }

// NewLimitedDecoder returns a decoder reading from r that refuses lines
// and event data longer than max bytes (0 for no limit).
func NewLimitedDecoder(r io.Reader, max int) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 4<<10), max: max}
}

// Next returns the next event. It returns io.EOF when the stream ends
// cleanly, and the reader's error otherwise. An event still being built
// when the stream ends is discarded, as the specification says.
func (d *Decoder) Next() (Event, error) {
	if d.err != nil {
		return Event{}, d.err
	}
	var (
		data    bytes.Buffer
		hasData bool
		typ     string
		dirty   bool // any field seen since the last dispatch
	)
	for {
		line, err := d.readLine()
		if err != nil {
			d.err = err
			return Event{}, err
		}
		if len(line) == 0 {
			if !dirty {
				continue
			}
			if !hasData {
				// Per the spec an event with no data is not dispatched,
				// but the id and type still reset for the next one.
				typ, dirty = "", false
				continue
			}
			return Event{Type: typ, Data: data.String(), ID: d.lastID, Retry: d.retry}, nil
		}
		if line[0] == ':' {
			continue
		}
		name, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			name, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(name) {
		case "data":
			if d.max > 0 && data.Len()+len(value)+btoi(hasData) > d.max {
				d.err = ErrTooLarge
				return Event{}, d.err
			}
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData, dirty = true, true
		case "event":
			typ, dirty = string(value), true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				d.lastID = string(value)
			}
			dirty = true
		case "retry":
			if n, err := strconv.Atoi(string(value)); err == nil && n >= 0 && isDigits(value) {
				d.retry = n
			}
			dirty = true
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// readLine returns the next line without its terminator. A line still
// unterminated at the end of the stream counts as incomplete: io.EOF.
func (d *Decoder) readLine() ([]byte, error) {
	var line []byte
	for {
		b, err := d.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				return nil, io.EOF
			}
			return nil, err
		}
		if !d.started {
			d.started = true
			// A leading UTF-8 BOM (EF BB BF) is ignored.
			if b == 0xEF {
				if rest, perr := d.r.Peek(2); perr == nil && rest[0] == 0xBB && rest[1] == 0xBF {
					_, _ = d.r.Discard(2)
					continue
				}
			}
		}
		if d.pendCR {
			d.pendCR = false
			if b == '\n' {
				continue
			}
		}
		switch b {
		case '\n':
			return line, nil
		case '\r':
			d.pendCR = true
			return line, nil
		}
		line = append(line, b)
		// Read the rest of the line in bulk when it is long.
		if chunk, _ := d.r.Peek(d.r.Buffered()); len(chunk) > 0 {
			if i := bytes.IndexAny(chunk, "\r\n"); i > 0 {
				line = append(line, chunk[:i]...)
				_, _ = d.r.Discard(i)
			} else if i < 0 {
				line = append(line, chunk...)
				_, _ = d.r.Discard(len(chunk))
			}
		}
		// "data:" and a space, then the value: the prefix does not count.
		if d.max > 0 && len(line) > d.max+len("data: ") {
			return nil, ErrTooLarge
		}
	}
}
