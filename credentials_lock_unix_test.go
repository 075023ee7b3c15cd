//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fal

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// credHangGuard is how long a test waits for a call that should return at
// once before it calls it a hang. Nothing is measured against it: the
// calls do not wait by construction (no blocking open); it only keeps a
// regression from stalling the suite.
const credHangGuard = 30 * time.Second

// credFIFO makes a named pipe at path. If a test leaves a reader blocked in
// an open of it (the bug these tests guard against), the cleanup releases
// the reader by opening the pipe for writing, so the test binary is not
// held for ever.
func credFIFO(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("cannot make a named pipe: %v", err)
	}
	t.Cleanup(func() {
		for i := 0; i < 100 && len(credGoroutines()) > 0; i++ {
			if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				_ = f.Close()
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return path
}

// credWithin runs f and returns its result, failing the test if it has not
// returned within credHangGuard.
func credWithin[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(credHangGuard):
		t.Fatalf("%s did not return within %v: it waits on the credential file", what, credHangGuard)
		panic("unreachable")
	}
}

// credCallWithin calls p.Credentials(ctx) under the hang guard.
func credCallWithin(t *testing.T, ctx context.Context, p CredentialsProvider) (Credentials, error) {
	t.Helper()
	type result struct {
		c   Credentials
		err error
	}
	r := credWithin(t, "Credentials", func() result {
		c, err := p.Credentials(ctx)
		return result{c, err}
	})
	return r.c, r.err
}

// TestKeyFileFIFORefusedWithoutBlocking: FAL_KEY_FILE naming a named pipe
// (directly or through a symbolic link) is an invalid source, found
// without waiting for a writer, by the chain and by Run.
func TestKeyFileFIFORefusedWithoutBlocking(t *testing.T) {
	home := credClearEnv(t)
	credWriteToken(t, home, credTestRefresh+"\n"+credJWT(t, time.Now().Add(time.Hour), "valid"))
	dir := t.TempDir()
	fifo := credFIFO(t, filepath.Join(dir, "fal.key"))
	link := filepath.Join(dir, "link.key")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(api.Close)

	check := func(t *testing.T, err error, path string) {
		t.Helper()
		var me *MissingCredentialsError
		if !errors.As(err, &me) || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want *MissingCredentialsError at once", err)
		}
		s := me.Sources[2]
		for _, want := range []string{path + " is a named pipe (FIFO), not a regular file", "FAL_KEY_FILE must name a regular file"} {
			if s.Name != srcKeyFile || s.State != SourceInvalid || !strings.Contains(s.Detail, want) {
				t.Errorf("key file source = %v, want invalid containing %q", s, want)
			}
		}
		if me.Sources[3].State != SourceSkipped {
			t.Errorf("login source = %v, want skipped after an unusable key file", me.Sources[3])
		}
	}
	for _, path := range []string{fifo, link} {
		t.Setenv("FAL_KEY_FILE", path)
		t.Run("chain "+filepath.Base(path), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := credCallWithin(t, ctx, DefaultCredentialsChain())
			check(t, err, path)
		})
		t.Run("Run "+filepath.Base(path), func(t *testing.T) {
			c, err := NewClient(WithRunHost(api.URL+"/run"), WithMaxRetries(0))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err = credWithin(t, "Run", func() error {
				_, err := c.Run(ctx, "fal-ai/x", nil)
				return err
			})
			check(t, err, path)
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the server without credentials", n)
	}
}

// TestOpenedCredentialFileNeverWaits is the race where the file is
// replaced by a named pipe between the Stat check and the open: the open
// itself does not wait (O_NONBLOCK) and the check of the opened file
// refuses it.
func TestOpenedCredentialFileNeverWaits(t *testing.T) {
	t.Parallel()
	fifo := credFIFO(t, filepath.Join(t.TempDir(), "fal.key"))
	for _, kind := range []credFileKind{keyFileKind, tokenFileKind} {
		err := credWithin(t, "readOpenedCredentialFile", func() error {
			_, err := readOpenedCredentialFile(kind, fifo)
			return err
		})
		var r *credFileRefusal
		if !errors.As(err, &r) || !strings.Contains(err.Error(), "is a named pipe (FIFO), not a regular file; "+kind.notRegular) {
			t.Errorf("err = %v, want the named pipe refused", err)
		}
	}
}

// TestKeyFileSpecialFilesRefused: devices and sockets are refused before
// any open; a symbolic link to a private regular file is fine.
func TestKeyFileSpecialFilesRefused(t *testing.T) {
	credClearEnv(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	key := credKeyFile(t, credTestKey+"\n", 0o600)
	good := filepath.Join(dir, "good.key")
	if err := os.Symlink(key, good); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/dev/zero": "/dev/zero is a character device, not a regular file",
		"/dev/tty":  "/dev/tty is a character device, not a regular file",
		sock:        sock + " is a socket, not a regular file",
		dir:         dir + " is a directory, not a regular file",
	} {
		if _, err := os.Stat(path); err != nil {
			continue // no such device here
		}
		src := credWithin(t, "readKeyFile", func() CredentialSource {
			_, src := readKeyFile(path)
			return src
		})
		if src.State != SourceInvalid || !strings.Contains(src.Detail, want) {
			t.Errorf("readKeyFile(%s) = %v; want invalid containing %q", path, src, want)
		}
	}
	if k, src := readKeyFile(good); k != credTestKey || src.State != SourceFound {
		t.Errorf("symbolic link to a private key file: %q, %v", k, src)
	}
}

// TestCLITokenFIFOLeavesNothingBehind: many clients, each with several
// concurrent callers, read an auth0_token that is a named pipe. Every call
// ends with the invalid source (not with its deadline), no goroutine of
// the token load or the lock is left, and the lock is free.
func TestCLITokenFIFOLeavesNothingBehind(t *testing.T) {
	home := credClearEnv(t)
	credFIFO(t, filepath.Join(home, tokenFileName))
	before := len(credGoroutines())
	const clients, callers = 32, 4
	errs := make(chan error, clients*callers)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		chain := DefaultCredentialsChain() // what each Client without a key builds
		for j := 0; j < callers; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				_, err := chain.Credentials(ctx)
				errs <- err
			}()
		}
	}
	credWithin(t, "the callers", func() struct{} { wg.Wait(); return struct{}{} })
	close(errs)
	want := filepath.Join(home, tokenFileName) + " is a named pipe (FIFO), not a regular file; it should be the regular file `fal auth login` writes"
	bad := 0
	for err := range errs {
		var me *MissingCredentialsError
		if !errors.As(err, &me) || errors.Is(err, context.DeadlineExceeded) ||
			me.Sources[3].State != SourceInvalid || !strings.Contains(me.Sources[3].Detail, want) {
			if bad++; bad <= 3 {
				t.Errorf("err = %v, want the login source invalid containing %q", err, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d calls did not report the named pipe", bad, clients*callers)
	}
	credWaitGoroutines(t, before)
	// The lock is free now: taking it does not wait (an ended context
	// stops a lockFile that would have to wait).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	unlock, err := lockFile(ctx, filepath.Join(home, lockFileName))
	if err != nil {
		t.Fatalf("lock still held after the calls returned: %v", err)
	}
	unlock()
}

// TestLockFileThatIsAFIFO: a .portalock that is a named pipe is not
// waited on; the token is read without the lock.
func TestLockFileThatIsAFIFO(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	jwt := credJWT(t, time.Now().Add(time.Hour), "x")
	credWriteToken(t, home, credTestRefresh+"\n"+jwt)
	credFIFO(t, filepath.Join(home, lockFileName))
	c, err := credCallWithin(t, context.Background(), &cliToken{home: home})
	if err != nil || c.Token != jwt {
		t.Errorf("got %v, %v; want the file's access token", c, err)
	}
}

// TestLockHeldElsewhereCallerKeepsDeadline: while another holder keeps the
// lock, a caller returns with its own deadline, and the shared load ends
// once the lock is released, leaving nothing behind.
func TestLockHeldElsewhereCallerKeepsDeadline(t *testing.T) {
	home := credClearEnv(t)
	jwt := credJWT(t, time.Now().Add(time.Hour), "x")
	credWriteToken(t, home, credTestRefresh+"\n"+jwt)
	before := len(credGoroutines())
	unlock, err := lockFile(context.Background(), filepath.Join(home, lockFileName))
	if err != nil {
		t.Fatal(err)
	}
	p := &cliToken{}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = credCallWithin(t, ctx, p)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	unlock()
	c, err := credCallWithin(t, context.Background(), p)
	if err != nil || c.Token != jwt {
		t.Errorf("after the lock was released: %v, %v", c, err)
	}
	credWaitGoroutines(t, before)
}
