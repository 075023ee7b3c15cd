package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/falgo/fal/internal/engine"
)

// batchInput is one non-blank line of a batch's inputs file.
type batchInput struct {
	line int             // 1-based line number in the file
	data json.RawMessage // the JSON object, as written
	sum  string          // hex SHA-256 of data, to notice edited lines
	// jsonSum is the hex SHA-256 of data's canonical JSON, to find the
	// input in fal's request history (canonical.go).
	jsonSum string
}

// readBatchInputs reads the inputs file: one JSON object per line; blank
// lines are skipped. Every line is checked before anything is submitted,
// so a typo on line 900 does not leave a half-run batch.
func readBatchInputs(path string) ([]batchInput, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var inputs []batchInput
	for n := 1; ; n++ {
		raw, err := r.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		if len(raw) > maxInputBytes {
			return nil, usageErrorf("%s:%d: the line is larger than %d MiB; an input is a small JSON object", path, n, maxInputBytes>>20)
		}
		if line := bytes.TrimSpace(raw); len(line) > 0 {
			if line[0] != '{' || !json.Valid(line) {
				return nil, usageErrorf("%s:%d: not a JSON object: %s (each line must hold one input object, such as {\"prompt\": \"a cat\"})", path, n, engine.Clip(string(line), 60))
			}
			sum := sha256.Sum256(line)
			csum, err := canonicalSum(line)
			if err != nil {
				return nil, usageErrorf("%s:%d: %v", path, n, err)
			}
			inputs = append(inputs, batchInput{line: n, data: json.RawMessage(line), sum: hex.EncodeToString(sum[:]), jsonSum: csum})
		}
		if err == io.EOF {
			break
		}
	}
	if len(inputs) == 0 {
		return nil, usageErrorf("%s holds no inputs; write one JSON object per line", path)
	}
	return inputs, nil
}

// resultRecord is one line of a batch's results file: the input's line
// number, the request id, and the output or the error.
type resultRecord struct {
	Line      int             `json:"line"`
	RequestID string          `json:"request_id,omitempty"`
	Output    json.RawMessage `json:"output,omitempty"`
	Error     *resultError    `json:"error,omitempty"`
}

// resultError describes a failed input in the results file.
type resultError struct {
	Message string        `json:"message"`
	Type    string        `json:"type,omitempty"`   // fal's error_type
	Status  int           `json:"status,omitempty"` // HTTP status, when there was one
	Fields  []resultField `json:"fields,omitempty"` // the input fields an app rejected
}

// resultField is one rejected input field.
type resultField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// jsonlFile is a file of JSON lines that grows one line at a time; each
// line is written with one write and synced before append returns, so a
// crash loses at most the line being written, which the next open drops.
type jsonlFile struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// openJSONL opens (creating) path for appending and returns its complete
// lines. A last line without a newline is the remains of a crash: it is cut
// off the file.
func openJSONL(path string) (*jsonlFile, [][]byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, err
	}
	return loadJSONL(f, path)
}

// loadJSONL reads the complete lines of f, opened at path, and positions
// it for appending; f is closed when that fails.
func loadJSONL(f *os.File, path string) (*jsonlFile, [][]byte, error) {
	j := &jsonlFile{f: f, path: path}
	lines, err := j.load()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return j, lines, nil
}

// load reads the complete lines and positions the file for appending.
func (j *jsonlFile) load() ([][]byte, error) {
	data, err := io.ReadAll(j.f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", j.path, err)
	}
	end := bytes.LastIndexByte(data, '\n') + 1
	if end < len(data) {
		if err := j.f.Truncate(int64(end)); err != nil {
			return nil, fmt.Errorf("dropping the unfinished last line of %s: %w", j.path, err)
		}
	}
	if _, err := j.f.Seek(int64(end), io.SeekStart); err != nil {
		return nil, err
	}
	// Every complete line, blank ones included so that the numbers of
	// the lines are their line numbers in the file.
	var lines [][]byte
	if end > 0 {
		for _, l := range bytes.Split(data[:end-1], []byte("\n")) {
			lines = append(lines, bytes.TrimSpace(l))
		}
	}
	return lines, nil
}

// append writes v as one line and syncs it to disk.
func (j *jsonlFile) append(v any) error {
	b, err := marshalJSON(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("writing %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", j.path, err)
	}
	return nil
}

// close closes the file.
func (j *jsonlFile) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.f.Close()
}

// openResults opens the results file for appending, locked against a
// second falgo batch writing the same file, and returns its lines.
func openResults(path string) (*jsonlFile, [][]byte, error) {
	// Lock, then check that the path still names the file locked: another
	// falgo may have replaced it meanwhile (see rewrite).
	for try := 0; try < 10; try++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, nil, err
		}
		if err := lockFile(f); err != nil {
			f.Close()
			if errors.Is(err, errLocked) {
				return nil, nil, codedErrorf(exitError, "another falgo batch is writing %s; wait for it to finish, or use another -o", path)
			}
			return nil, nil, err
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return loadJSONL(f, path)
		}
		f.Close()
	}
	return nil, nil, fmt.Errorf("%s keeps being replaced by another program", path)
}

// rewrite replaces the file's content with lines, atomically: a new file is
// written, synced, locked and renamed over the old one, so a crash leaves
// either the old content or the new, and the lock is held throughout.
func (j *jsonlFile) rewrite(lines [][]byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	dir := filepath.Dir(j.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(j.path)+".*.tmp")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := lockFile(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, l := range lines {
		buf.Write(l)
		buf.WriteByte('\n')
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), j.path); err != nil {
		return err
	}
	syncDir(dir)
	ok = true
	j.f.Close()
	j.f = tmp
	return nil
}

// syncDir makes a rename or a removal in dir durable (best effort: not
// every system can sync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
