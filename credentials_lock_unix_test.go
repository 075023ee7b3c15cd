//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLockFileExcludesAndHonoursContext(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), lockFileName)
	unlock, err := lockFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v, %v", fi, err)
	}
	// A second locker (flock locks are per open file, so this excludes
	// within one process too) waits ...
	got := make(chan error, 1)
	go func() {
		u, err := lockFile(context.Background(), path)
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("second lock taken while the first was held (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	// ... a waiter whose context ends gives up ...
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := lockFile(ctx, path); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	// ... and the first waiter gets the lock once it is released.
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("lock not taken after release")
	}
}

func TestTokenFileIsReadUnderTheLock(t *testing.T) {
	t.Parallel()
	home := t.TempDir() // given to the provider: no environment needed
	jwt := credJWT(t, time.Now().Add(time.Hour), "x")
	credWriteToken(t, home, credTestRefresh+"\n"+jwt)
	unlock, err := lockFile(context.Background(), filepath.Join(home, lockFileName))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := (&cliToken{home: home}).Credentials(context.Background())
		done <- err
	}()
	select {
	case err := <-done:
		unlock()
		t.Fatalf("token read while another process held the lock (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("token not read after the lock was released")
	}
}
