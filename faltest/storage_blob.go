package faltest

import (
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"sync"
)

// Where uploaded bytes live. Small bodies stay in memory; a body larger than
// blobMemLimit, or any body once the store holds storeMemBudget bytes in
// memory, goes to an unlinked temporary file instead, so a multi-gigabyte
// upload benchmark costs disk page cache rather than heap.
const (
	blobMemLimit   = 32 << 20  // largest single body kept in memory
	storeMemBudget = 256 << 20 // total in-memory bytes across all stored bodies
	blobReadChunk  = 256 << 10 // read size when streaming to a temp file
)

// crcTable is CRC-32C (hardware accelerated on amd64 and arm64); part ETags
// and file ETags are derived from it because MD5 would dominate a benchmark.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// segment is one contiguous run of a blob's bytes, in memory or in a file.
type segment struct {
	mem  []byte   // the bytes, when file is nil
	file *os.File // an unlinked temp file holding the bytes from offset 0
	n    int64    // length
}

// blob is an immutable byte sequence made of segments. Completing a
// multipart upload concatenates the parts' segments without copying bytes.
type blob struct {
	segs  []segment
	size  int64
	crc   uint32 // CRC-32C of the bytes; zero for concatenated blobs
	claim int64  // bytes of the store's memory budget this blob holds
}

// ReadAt implements io.ReaderAt so that http.ServeContent can serve ranges.
func (b *blob) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("faltest: negative offset")
	}
	total := 0
	for _, sg := range b.segs {
		if len(p) == 0 {
			break
		}
		if off >= sg.n {
			off -= sg.n
			continue
		}
		want := p
		if rem := sg.n - off; int64(len(want)) > rem {
			want = want[:rem]
		}
		var n int
		if sg.file != nil {
			var err error
			n, err = sg.file.ReadAt(want, off)
			if err != nil && !(errors.Is(err, io.EOF) && n == len(want)) {
				return total + n, err
			}
		} else {
			n = copy(want, sg.mem[off:])
		}
		total += n
		p = p[n:]
		off = 0
	}
	if len(p) > 0 {
		return total, io.EOF
	}
	return total, nil
}

// bytes reads the whole blob into a new slice.
func (b *blob) bytes() ([]byte, error) {
	out := make([]byte, b.size)
	if _, err := b.ReadAt(out, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return out, nil
}

// concatBlobs joins blobs in order, sharing their segments.
func concatBlobs(parts []*blob) *blob {
	out := &blob{}
	for _, p := range parts {
		out.segs = append(out.segs, p.segs...)
		out.size += p.size
		out.claim += p.claim
	}
	return out
}

// memAccount tracks how much of storeMemBudget is in use. Its zero value is
// ready to use.
type memAccount struct {
	mu   sync.Mutex
	used int64
}

// reserve claims n bytes of the budget, reporting false if that would
// exceed it.
func (m *memAccount) reserve(n int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n < 0 || m.used+n > storeMemBudget {
		return false
	}
	m.used += n
	return true
}

// release returns n bytes to the budget.
func (m *memAccount) release(n int64) {
	m.mu.Lock()
	m.used -= n
	if m.used < 0 {
		m.used = 0
	}
	m.mu.Unlock()
}

// tempFiles creates the spill files and remembers any it could not unlink
// right away (on Windows an open file cannot be removed) so that the store
// can remove them when the server closes.
type tempFiles struct {
	mu      sync.Mutex
	open    []*os.File
	pending []string
}

// create makes a new temporary file and unlinks it where the OS allows, so
// nothing is left on disk even if the process dies.
func (t *tempFiles) create() (*os.File, error) {
	f, err := os.CreateTemp("", "faltest-upload-*")
	if err != nil {
		return nil, fmt.Errorf("faltest: creating a temporary file for an upload: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.open = append(t.open, f)
	if os.Remove(f.Name()) != nil {
		t.pending = append(t.pending, f.Name())
	}
	return f, nil
}

// drop closes and forgets one temp file nothing refers to any more.
func (t *tempFiles) drop(f *os.File) {
	t.mu.Lock()
	for i, g := range t.open {
		if g == f {
			t.open = append(t.open[:i], t.open[i+1:]...)
			break
		}
	}
	removeLater := false
	for i, name := range t.pending {
		if name == f.Name() {
			t.pending = append(t.pending[:i], t.pending[i+1:]...)
			removeLater = true
			break
		}
	}
	t.mu.Unlock()
	_ = f.Close()
	if removeLater {
		_ = os.Remove(f.Name())
	}
}

// closeAll closes every temp file and removes the ones still on disk.
func (t *tempFiles) closeAll() {
	t.mu.Lock()
	open, pending := t.open, t.pending
	t.open, t.pending = nil, nil
	t.mu.Unlock()
	for _, f := range open {
		_ = f.Close()
	}
	for _, name := range pending {
		_ = os.Remove(name)
	}
}

// readBlob streams r into a new blob. sizeHint is the expected length (an
// HTTP Content-Length) or -1. Bytes go into one buffer allocated up front
// when the size is known and small; otherwise they go to a temp file, so a
// body is never copied from one growing buffer to another more than a few
// times and never held twice.
func readBlob(r io.Reader, sizeHint int64, mem *memAccount, tmp *tempFiles) (*blob, error) {
	w := blobWriter{mem: mem, tmp: tmp, crc: crc32.New(crcTable)}
	switch {
	case sizeHint > blobMemLimit:
		f, err := tmp.create()
		if err != nil {
			return nil, err
		}
		w.file = f
	case sizeHint > 0 && mem.reserve(sizeHint):
		w.buf = make([]byte, 0, sizeHint)
		w.reserved = sizeHint
	}
	if err := w.readFrom(r); err != nil {
		w.discard()
		return nil, err
	}
	return w.finish(), nil
}

// blobWriter accumulates a body in memory and spills it to a temp file
// when it outgrows the memory limits.
type blobWriter struct {
	mem      *memAccount
	tmp      *tempFiles
	crc      hash.Hash32
	buf      []byte
	reserved int64 // bytes of mem claimed for buf's capacity
	file     *os.File
	n        int64
}

func (w *blobWriter) readFrom(r io.Reader) error {
	var probe [512]byte
	for {
		if w.file != nil {
			return w.copyToFile(r)
		}
		if len(w.buf) == cap(w.buf) {
			// The buffer is full: find out whether more is coming before
			// growing it (a body whose length was announced ends here).
			n, err := r.Read(probe[:])
			if n > 0 {
				if werr := w.grow(int64(n)); werr != nil {
					return werr
				}
				if w.file != nil {
					if _, werr := w.file.Write(probe[:n]); werr != nil {
						return fmt.Errorf("faltest: writing an upload to a temporary file: %w", werr)
					}
					w.crc.Write(probe[:n])
					w.n += int64(n)
				} else {
					w.buf = append(w.buf, probe[:n]...)
					w.crc.Write(probe[:n])
					w.n += int64(n)
				}
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			continue
		}
		start := len(w.buf)
		n, err := r.Read(w.buf[start:cap(w.buf)])
		w.buf = w.buf[:start+n]
		w.crc.Write(w.buf[start : start+n])
		w.n += int64(n)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// grow makes room for at least extra more bytes, in memory if the limits
// allow, otherwise by moving what was read so far to a temp file.
func (w *blobWriter) grow(extra int64) error {
	have := int64(len(w.buf))
	want := max(2*int64(cap(w.buf)), have+extra, 64<<10)
	want = min(want, blobMemLimit)
	if have+extra <= want && w.mem.reserve(want-w.reserved) {
		nb := make([]byte, have, want)
		copy(nb, w.buf)
		w.buf = nb
		w.reserved = want
		return nil
	}
	f, err := w.tmp.create()
	if err != nil {
		return err
	}
	if _, err := f.Write(w.buf); err != nil {
		return fmt.Errorf("faltest: writing an upload to a temporary file: %w", err)
	}
	w.file = f
	w.mem.release(w.reserved)
	w.buf, w.reserved = nil, 0
	return nil
}

func (w *blobWriter) copyToFile(r io.Reader) error {
	chunk := make([]byte, blobReadChunk)
	for {
		n, err := r.Read(chunk)
		if n > 0 {
			if _, werr := w.file.Write(chunk[:n]); werr != nil {
				return fmt.Errorf("faltest: writing an upload to a temporary file: %w", werr)
			}
			w.crc.Write(chunk[:n])
			w.n += int64(n)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// finish turns what was written into a blob.
func (w *blobWriter) finish() *blob {
	b := &blob{size: w.n, crc: w.crc.Sum32()}
	if w.file != nil {
		b.segs = []segment{{file: w.file, n: w.n}}
		return b
	}
	if spare := w.reserved - int64(len(w.buf)); spare > 1<<20 {
		// A body shorter than its buffer (no Content-Length, or one that
		// lied): copy it once into an exact slice rather than pin the spare
		// capacity for the server's lifetime.
		nb := make([]byte, len(w.buf))
		copy(nb, w.buf)
		w.buf = nb
		w.mem.release(spare)
		w.reserved = int64(len(nb))
	}
	b.claim = w.reserved
	if w.n > 0 {
		b.segs = []segment{{mem: w.buf, n: w.n}}
	}
	return b
}

// discard releases what a failed read claimed.
func (w *blobWriter) discard() {
	w.mem.release(w.reserved)
	w.buf, w.reserved = nil, 0
	if w.file != nil {
		w.tmp.drop(w.file)
		w.file = nil
	}
}

// memBlob wraps bytes already in memory (they count against no budget:
// the caller made them).
func memBlob(data []byte) *blob {
	b := &blob{size: int64(len(data)), crc: crc32.Checksum(data, crcTable)}
	if len(data) > 0 {
		b.segs = []segment{{mem: data, n: int64(len(data))}}
	}
	return b
}
