//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import (
	"errors"
	"os"
)

// errLocked means another process holds the lock.
var errLocked = errors.New("locked by another process")

// lockFile does nothing where falgo has no advisory file lock (Windows and
// others): two falgo batch runs on the same output are not detected there.
func lockFile(*os.File) error { return nil }
