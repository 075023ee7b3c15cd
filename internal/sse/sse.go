// Package sse decodes server-sent event streams following the WHATWG HTML
// specification's parsing rules: lines end at CRLF, LF or CR; lines starting
// with ':' are comments; "field:value" loses one space after the colon;
// several data lines join with "\n"; an empty line dispatches the event; a
// final event without its empty line is dropped. A decoder made with a
// limit refuses a line or an event's data longer than it (ErrTooLarge)
// before reading further, so memory stays bounded whatever the stream.
package sse

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// maxKept is the largest line or data buffer a decoder keeps for reuse.
const maxKept = 64 << 10

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
	r       reader
	max     int // longest line and event data; 0 for no limit
	lastID  string
	retry   int
	pendCR  bool // the previous line ended with CR: skip an LF that follows
	started bool // the UTF-8 BOM check has been done
	err     error

	// line and data are reused from one line and one event to the next:
	// an event's strings are copied out of them once, when it is
	// dispatched.
	line []byte
	data []byte
}

// NewDecoder returns a decoder reading from r, with no limit on the size
// of lines and events.
func NewDecoder(r io.Reader) *Decoder { return NewLimitedDecoder(r, 0) }

// NewLimitedDecoder returns a decoder reading from r that refuses lines
// and event data longer than max bytes (0 for no limit).
func NewLimitedDecoder(r io.Reader, max int) *Decoder {
	return &Decoder{r: reader{src: r, size: DefaultBuffer}, max: max}
}

// DefaultBuffer is the read buffer of NewLimitedDecoder, which keeps it
// for the stream's life: room for many small events per read on a busy
// stream.
const DefaultBuffer = 4 << 10

// NewSizedDecoder is NewLimitedDecoder with a read buffer of size bytes
// (at least 16) that it holds only while it reads: between events, once
// everything read has been decoded, the buffer is let go of and the
// decoder waits for the next byte without one. It suits a stream that is
// mostly waiting, such as a queue status stream, of which thousands may
// be open at once. The buffer only batches reads: a line or an event
// longer than it is still read whole. A size over maxBuffer is maxBuffer.
func NewSizedDecoder(r io.Reader, max, size int) *Decoder {
	size = min(size, maxBuffer)
	if size < 16 {
		size = 16
	}
	return &Decoder{r: reader{src: r, size: int32(size), lazy: true}, max: max}
}

// maxBuffer is the largest read buffer (reads are batched, not whole).
const maxBuffer = 1 << 20

// Next returns the next event. It returns io.EOF when the stream ends
// cleanly, and the reader's error otherwise. An event still being built
// when the stream ends is discarded, as the specification says.
func (d *Decoder) Next() (Event, error) {
	if d.err != nil {
		return Event{}, d.err
	}
	var (
		hasData bool
		typ     string
		dirty   bool // any field seen since the last dispatch
	)
	d.data = d.data[:0]
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
			ev := Event{Type: typ, Data: string(d.data), ID: d.lastID, Retry: d.retry}
			if cap(d.data) > maxKept || len(d.r.buffered()) == 0 {
				// Nothing more is read: the next read may wait long (a
				// status stream waits for its job), so the buffers are
				// not held meanwhile. A busy stream, with events already
				// read ahead, keeps them.
				d.data, d.line = nil, nil
				d.r.release()
			}
			return ev, nil
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
			if d.max > 0 && len(d.data)+len(value)+btoi(hasData) > d.max {
				d.err = ErrTooLarge
				return Event{}, d.err
			}
			if hasData {
				d.data = append(d.data, '\n')
			}
			d.data = append(d.data, value...)
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
// The line is valid until the next call.
func (d *Decoder) readLine() ([]byte, error) {
	line := d.line[:0]
	defer func() {
		if cap(line) <= maxKept {
			d.line = line[:0]
		} else {
			d.line = nil // a huge line's buffer is not kept for the stream's life
		}
	}()
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
				if rest, perr := d.r.peek(2); perr == nil && rest[0] == 0xBB && rest[1] == 0xBF {
					d.r.discard(2)
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
		if chunk := d.r.buffered(); len(chunk) > 0 {
			if i := bytes.IndexAny(chunk, "\r\n"); i > 0 {
				line = append(line, chunk[:i]...)
				d.r.discard(i)
			} else if i < 0 {
				line = append(line, chunk...)
				d.r.discard(len(chunk))
			}
		}
		// "data:" and a space, then the value: the prefix does not count.
		if d.max > 0 && len(line) > d.max+len("data: ") {
			return nil, ErrTooLarge
		}
	}
}
