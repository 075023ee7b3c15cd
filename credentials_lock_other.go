//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fal

import "context"

// lockFile does nothing where falgo has no advisory file lock (Windows and
// others): the token file is still replaced atomically, so a reader sees
// either the old or the new file, never a mix.
func lockFile(context.Context, string) (unlock func(), err error) { return func() {}, nil }
