package sse

import "io"

// reader is the decoder's read buffer. Unlike a bufio.Reader, a lazy one
// lets go of its buffer whenever it has handed out everything it read
// (release), and waits for the next byte with none: a status stream
// spends nearly all its life waiting for its job, and thousands of them
// in flight should not each hold a buffer meanwhile. The next read makes
// a buffer again once a byte has arrived. (Not from a sync.Pool: the
// events of thousands of streams arrive together when their jobs start,
// and a pool would keep that many buffers through a collection; a status
// stream has a few events in its life.)
type reader struct {
	src  io.Reader
	buf  []byte // nil while a lazy reader is idle
	err  error
	r, w int32 // buf[r:w] is read and not yet handed out
	size int32 // of buf (int32: a status stream holds a reader for its job's life)
	lazy bool
	one  [1]byte
}

// maxEmptyReads is how many reads in a row may return nothing before the
// source counts as stuck (io.ErrNoProgress), as in bufio.
const maxEmptyReads = 100

// release lets go of a lazy reader's buffer when nothing is left in it.
func (b *reader) release() {
	if !b.lazy || b.buf == nil || b.r != b.w {
		return
	}
	b.buf, b.r, b.w = nil, 0, 0
}

// buffered returns what has been read and not handed out.
func (b *reader) buffered() []byte { return b.buf[b.r:b.w] }

// discard hands out n buffered bytes (n <= len(b.buffered())).
func (b *reader) discard(n int) { b.r += int32(n) }

// fill reads more into the buffer; it returns an error only when nothing
// was read.
func (b *reader) fill() error {
	if b.err != nil {
		return b.err
	}
	if b.buf == nil {
		if b.lazy {
			// Wait for the first byte without a buffer.
			if _, err := b.read(b.one[:]); err != nil {
				return err
			}
			b.buf = make([]byte, b.size)
			b.buf[0], b.r, b.w = b.one[0], 0, 1
			return nil
		}
		b.buf = make([]byte, b.size)
	}
	if b.r > 0 {
		b.w = int32(copy(b.buf, b.buf[b.r:b.w]))
		b.r = 0
	}
	if int(b.w) == len(b.buf) {
		return nil // full: what is there must be handed out first
	}
	n, err := b.read(b.buf[b.w:])
	b.w += int32(n)
	return err
}

// read reads into p until something arrives. It returns an error only
// when nothing did; an error that came with data is kept for the next
// read, as is any error once nothing more can come.
func (b *reader) read(p []byte) (int, error) {
	for i := 0; i < maxEmptyReads; i++ {
		n, err := b.src.Read(p)
		if n < 0 || n > len(p) {
			b.err = io.ErrShortBuffer
			return 0, b.err
		}
		if err != nil {
			b.err = err
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if n > 0 {
			return n, nil
		}
	}
	b.err = io.ErrNoProgress
	return 0, b.err
}

// ReadByte returns the next byte.
func (b *reader) ReadByte() (byte, error) {
	if b.r == b.w {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	c := b.buf[b.r]
	b.r++
	return c, nil
}

// peek returns the next n bytes without handing them out, or fewer with
// the error that cut them short (n must not exceed the buffer's size).
func (b *reader) peek(n int) ([]byte, error) {
	for int(b.w-b.r) < n {
		if b.buf != nil && b.r == 0 && int(b.w) == len(b.buf) {
			break
		}
		if err := b.fill(); err != nil {
			return b.buffered(), err
		}
	}
	return b.buffered()[:min(n, int(b.w-b.r))], nil
}
