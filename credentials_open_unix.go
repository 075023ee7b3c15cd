//go:build unix

package fal

import (
	"os"
	"syscall"
)

// openNoWait opens path for reading without ever waiting in open(2):
// O_NONBLOCK makes the open of a named pipe return at once rather than wait
// for a writer (and the open of a device not wait for carrier), and
// O_NOCTTY keeps a terminal from becoming the process's controlling
// terminal. Reads of a regular file are not affected by O_NONBLOCK. The
// caller checks with Stat that what it opened is a regular file.
func openNoWait(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}
