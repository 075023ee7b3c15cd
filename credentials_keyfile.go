package fal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// maxKeyFileSize bounds what is read from FAL_KEY_FILE: a key is tens of
// bytes, so anything larger is the wrong file.
const maxKeyFileSize = 64 << 10

// readKeyFile reads the API key held in the file named by FAL_KEY_FILE. The
// file must be a regular file (or a symbolic link to one), not accessible
// by group or others (on systems with Unix permissions), and hold one key;
// surrounding whitespace is trimmed. The returned source never contains
// the key.
func readKeyFile(name string) (string, CredentialSource) {
	src := CredentialSource{Name: "FAL_KEY_FILE", State: SourceInvalid}
	path, err := expandHome(name)
	if err != nil {
		src.Detail = err.Error()
		return "", src
	}
	data, err := readCredentialFile(keyFileKind, path)
	if err != nil {
		var r *credFileRefusal
		if errors.As(err, &r) {
			src.Detail = r.Error()
		} else {
			src.Detail = fmt.Sprintf("cannot read the key file: %v", err)
		}
		return "", src
	}
	key := strings.TrimSpace(string(data))
	switch {
	case key == "":
		src.Detail = fmt.Sprintf("%s is empty; it should hold one API key", path)
		return "", src
	case !validToken(key):
		src.Detail = fmt.Sprintf("%s holds more than one line or whitespace or control characters inside the key; it should hold one API key", path)
		return "", src
	}
	src.State = SourceFound
	src.Detail = "read from " + path + ", " + chars(key)
	return key, src
}

// credFileKind is one kind of credential file: how much it may hold and
// what its refusals say.
type credFileKind struct {
	limit      int64  // the most bytes it may hold
	holds      string // what it holds, for messages: "an API key"
	notRegular string // what to do when the path is not a regular file
	perm       string // appended to the chmod advice
}

var (
	keyFileKind = credFileKind{
		limit:      maxKeyFileSize,
		holds:      "an API key",
		notRegular: "FAL_KEY_FILE must name a regular file holding the key (a symbolic link to one is fine)",
	}
	tokenFileKind = credFileKind{
		limit:      maxTokenResponse,
		holds:      "a fal CLI login token",
		notRegular: "it should be the regular file `fal auth login` writes: remove it and run `fal auth login` again",
		perm: " (the fal CLI creates this file with your umask, which usually lets others read it; " +
			"once changed it stays private: the fal CLI rewrites it in place and falgo writes it with mode 0600)",
	}
)

// credFileRefusal is a credential file falgo will not read. Its message
// says what the file is and what to do; it never holds file content.
type credFileRefusal struct{ msg string }

func (e *credFileRefusal) Error() string { return e.msg }

// unixPerms reports whether the file system's permission bits mean
// something: Windows reports fixed 0666/0444 bits.
var unixPerms = runtime.GOOS != "windows"

// readCredentialFile returns the content of the credential file at path,
// without ever blocking on something that is not a regular file: the path
// is checked with Stat before it is opened (so a named pipe, a device, a
// socket or a directory is refused without an open), the open does not
// wait where the platform allows it (O_NONBLOCK, for a file replaced
// between the check and the open), and the opened file is checked again.
// A file that group or others have any permission on (mode & 077) is
// refused where Unix permissions exist, and so is one larger than the
// kind's limit; refusals are *credFileRefusal. A missing file is an error
// matching os.ErrNotExist.
func readCredentialFile(kind credFileKind, path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := kind.check(path, fi); err != nil {
		return nil, err
	}
	return readOpenedCredentialFile(kind, path)
}

// readOpenedCredentialFile is the part of readCredentialFile after the
// first check: it opens without waiting, checks what it opened and reads
// at most the limit.
func readOpenedCredentialFile(kind credFileKind, path string) ([]byte, error) {
	f, err := openNoWait(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := kind.check(path, fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, kind.limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > kind.limit {
		return nil, kind.tooLarge(path)
	}
	return data, nil
}

// check refuses what is not a regular file, a file others can access and
// a file already known to be too large.
func (kind credFileKind) check(path string, fi os.FileInfo) error {
	m := fi.Mode()
	if !m.IsRegular() {
		return &credFileRefusal{fmt.Sprintf("%s is %s, not a regular file; %s", path, fileTypeName(m), kind.notRegular)}
	}
	if unixPerms && m.Perm()&0o077 != 0 {
		return &credFileRefusal{fmt.Sprintf("%s is accessible by group or others (mode %04o); refusing to use %s others can read or change: run chmod 600 %s%s",
			path, m.Perm(), kind.holds, shellQuote(path), kind.perm)}
	}
	if fi.Size() > kind.limit {
		return kind.tooLarge(path)
	}
	return nil
}

func (kind credFileKind) tooLarge(path string) error {
	return &credFileRefusal{fmt.Sprintf("%s is larger than %d bytes; it should hold %s", path, kind.limit, kind.holds)}
}

// fileTypeName names the type of a file that is not regular.
func fileTypeName(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	}
	return fmt.Sprintf("a special file (%v)", m.Type())
}

// shellQuote quotes p for a POSIX shell when it holds anything but
// letters, digits and /._-+,:@.
func shellQuote(p string) string {
	safe := p != ""
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+,:@", r)) {
			safe = false
			break
		}
	}
	if safe {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}

// expandHome replaces a leading "~" (alone or followed by a separator) with
// the user's home directory.
func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") && !strings.HasPrefix(p, "~"+string(filepath.Separator)) {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot expand ~ in %s: %v", p, err)
	}
	return filepath.Join(home, p[1:]), nil
}

// validToken reports whether s can go into an Authorization header as is:
// no whitespace and no control characters.
func validToken(s string) bool {
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}
