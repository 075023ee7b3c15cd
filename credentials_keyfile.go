package fal

import (
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
// file must be a regular file, not accessible by group or others (on
// systems with Unix permissions), and hold one key; surrounding whitespace
// is trimmed. The returned source never contains the key.
func readKeyFile(name string) (string, CredentialSource) {
	src := CredentialSource{Name: "FAL_KEY_FILE", State: SourceInvalid}
	path, err := expandHome(name)
	if err != nil {
		src.Detail = err.Error()
		return "", src
	}
	f, err := os.Open(path)
	if err != nil {
		src.Detail = fmt.Sprintf("cannot read the key file: %v", err)
		return "", src
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		src.Detail = fmt.Sprintf("cannot read the key file: %v", err)
		return "", src
	}
	if !fi.Mode().IsRegular() {
		src.Detail = fmt.Sprintf("%s is not a regular file", path)
		return "", src
	}
	// Windows has no Unix permission bits to check (os reports 0666/0444).
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		src.Detail = fmt.Sprintf("%s is accessible by group or others (mode %04o); refusing to use a key others can read: run chmod 600 %s",
			path, fi.Mode().Perm(), path)
		return "", src
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		src.Detail = fmt.Sprintf("cannot read the key file: %v", err)
		return "", src
	}
	if len(data) > maxKeyFileSize {
		src.Detail = fmt.Sprintf("%s is larger than %d bytes; it should hold one API key", path, maxKeyFileSize)
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
