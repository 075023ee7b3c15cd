//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockFile takes an exclusive advisory lock (flock) on path, creating the
// file if needed, and returns the function that releases it. It waits at
// most lockTimeout, and no longer than ctx, for another process (the fal
// CLI, or another falgo program) to release the lock; nothing else in it
// waits: the open does not block (O_NONBLOCK), even if path is a named
// pipe. Locking is best effort: where the file cannot be created, is not a
// regular file, or the file system does not support flock, it goes on
// without a lock, as the Python client does without portalocker. Every
// path that does not return unlock closes the file, so no lock outlives a
// failed call.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0o600)
	if err != nil {
		return func() {}, nil
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		_ = f.Close()
		return func() {}, nil
	}
	fd := int(f.Fd())
	release := func() {
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		_ = f.Close()
	}
	deadline := time.NewTimer(lockTimeout)
	defer deadline.Stop()
	poll := time.NewTimer(lockPollInterval)
	defer poll.Stop()
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return release, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case !errors.Is(err, syscall.EWOULDBLOCK):
			_ = f.Close()
			return func() {}, nil
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("waiting for the lock %s: %w", path, ctx.Err())
		case <-deadline.C:
			_ = f.Close()
			return nil, fmt.Errorf("the lock %s has been held by another process for over %v; if no fal program is running, delete it", path, lockTimeout)
		case <-poll.C:
			poll.Reset(lockPollInterval)
		}
	}
}
