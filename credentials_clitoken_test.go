package fal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCLITokenRefreshRewritesFile(t *testing.T) {
	tests := []struct {
		name        string
		file        func(t *testing.T, now time.Time) string // token file content
		rotate      string                                   // refresh_token in the reply, "" for none
		wantRefresh string                                   // line 1 of the rewritten file
	}{
		{"expired access token, rotation", func(t *testing.T, now time.Time) string {
			return credTestRefresh + "\n" + credJWT(t, now.Add(-time.Hour), "old")
		}, "rt-ROTATED", "rt-ROTATED"},
		{"no access token, no rotation keeps the old refresh token", func(t *testing.T, _ time.Time) string {
			return "\n  " + credTestRefresh + "  \n\n"
		}, "", credTestRefresh},
		{"expires within five minutes", func(t *testing.T, now time.Time) string {
			return credTestRefresh + "\n" + credJWT(t, now.Add(4*time.Minute), "soon")
		}, "", credTestRefresh},
		{"unparsable access token", func(t *testing.T, _ time.Time) string {
			return credTestRefresh + "\nnot-a-jwt"
		}, "rt-ROTATED", "rt-ROTATED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := credClearEnv(t)
			clk := newTestClock(time.Unix(1_800_000_000, 0))
			fresh := credJWT(t, clk.now().Add(time.Hour), "fresh")
			srv := newCredTokenServer(t, func(w http.ResponseWriter, n int) { credTokenReply(w, fresh, tc.rotate) })
			credWriteToken(t, home, tc.file(t, clk.now()))
			if err := os.Chmod(filepath.Join(home, tokenFileName), 0o400); err != nil {
				t.Fatal(err)
			}
			p := &cliToken{clock: clk.now}
			c, err := p.Credentials(context.Background())
			if err != nil {
				t.Fatalf("Credentials: %v", err)
			}
			if c != (Credentials{Scheme: "Bearer", Token: fresh}) {
				t.Errorf("got %s %q, want the refreshed token", c.Scheme, c.Token)
			}
			forms := srv.forms()
			if len(forms) != 1 {
				t.Fatalf("%d refresh requests, want 1", len(forms))
			}
			f := forms[0]
			if f.Get("grant_type") != "refresh_token" || f.Get("client_id") != "TwXR51Vz8JbY8GUUMy6EyuVR0fTO7N4N" || f.Get("refresh_token") != credTestRefresh {
				t.Errorf("refresh form = %v", f)
			}
			if got, want := credReadToken(t, home), tc.wantRefresh+"\n"+fresh; got != want {
				t.Errorf("token file = %q, want %q", got, want)
			}
			if runtime.GOOS != "windows" {
				fi, err := os.Stat(filepath.Join(home, tokenFileName))
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("token file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
				}
			}
			// No temporary file is left behind.
			ents, _ := os.ReadDir(home)
			for _, e := range ents {
				if strings.HasSuffix(e.Name(), ".tmp") {
					t.Errorf("left behind %s", e.Name())
				}
			}
			// The refreshed token is cached: no second refresh.
			if c2, err := p.Credentials(context.Background()); err != nil || c2 != c || srv.hits.Load() != 1 {
				t.Errorf("second call: %v, %v, hits %d", c2, err, srv.hits.Load())
			}
		})
	}
}

// TestCLITokenRefreshesAgainWhenRefreshedTokenNearsExpiry is the long-lived
// client case the Python client gets wrong.
func TestCLITokenRefreshesAgainWhenRefreshedTokenNearsExpiry(t *testing.T) {
	home := credClearEnv(t)
	clk := newTestClock(time.Unix(1_800_000_000, 0))
	var minted []string
	var mu sync.Mutex
	srv := newCredTokenServer(t, func(w http.ResponseWriter, n int) {
		tok := credJWT(t, clk.now().Add(time.Hour), "gen"+string(rune('0'+n)))
		mu.Lock()
		minted = append(minted, tok)
		mu.Unlock()
		credTokenReply(w, tok, "rt-gen"+string(rune('0'+n)))
	})
	credWriteToken(t, home, credTestRefresh+"\n"+credJWT(t, clk.now().Add(-time.Minute), "expired"))
	p := &cliToken{clock: clk.now}
	ctx := context.Background()
	get := func() string {
		t.Helper()
		c, err := p.Credentials(ctx)
		if err != nil {
			t.Fatalf("Credentials: %v", err)
		}
		return c.Token
	}
	first := get()
	clk.advance(50 * time.Minute) // 10 minutes left: still good
	if tok := get(); tok != first || srv.hits.Load() != 1 {
		t.Fatalf("at +50m: new token or extra refresh (hits %d)", srv.hits.Load())
	}
	clk.advance(6 * time.Minute) // 4 minutes left: refresh again
	second := get()
	if second == first || srv.hits.Load() != 2 {
		t.Fatalf("at +56m: token not refreshed again (hits %d)", srv.hits.Load())
	}
	mu.Lock()
	if second != minted[1] {
		t.Errorf("second token is not the one minted by the second refresh")
	}
	mu.Unlock()
	forms := srv.forms()
	if forms[1].Get("refresh_token") != "rt-gen1" {
		t.Errorf("second refresh used %q, want the rotated rt-gen1", forms[1].Get("refresh_token"))
	}
	if got := credReadToken(t, home); got != "rt-gen2\n"+second {
		t.Errorf("token file = %q", got)
	}
}

func TestCLITokenUsesTokenRefreshedByAnotherProcess(t *testing.T) {
	home := credClearEnv(t)
	clk := newTestClock(time.Unix(1_800_000_000, 0))
	srv := newCredTokenServer(t, func(w http.ResponseWriter, n int) { http.Error(w, "no", 500) })
	a := credJWT(t, clk.now().Add(time.Hour), "a")
	credWriteToken(t, home, credTestRefresh+"\n"+a)
	p := &cliToken{clock: clk.now}
	if c, err := p.Credentials(context.Background()); err != nil || c.Token != a {
		t.Fatalf("%v, %v", c, err)
	}
	// The fal CLI refreshed the file meanwhile; the in-memory token expires.
	b := credJWT(t, clk.now().Add(2*time.Hour), "b")
	credWriteToken(t, home, "rt-other\n"+b)
	clk.advance(58 * time.Minute)
	if c, err := p.Credentials(context.Background()); err != nil || c.Token != b {
		t.Fatalf("%v, %v; want the token another process wrote", c, err)
	}
	if srv.hits.Load() != 0 {
		t.Errorf("refreshed although the file held a valid token")
	}
}

func TestCLITokenRefreshFailure(t *testing.T) {
	tests := []struct {
		name  string
		reply func(w http.ResponseWriter, n int)
		want  string
	}{
		{"401 invalid_grant", func(w http.ResponseWriter, n int) {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"Unknown refresh token ` + credTestRefresh + `"}`))
		}, "HTTP 401 (invalid_grant)"},
		{"200 without access_token", func(w http.ResponseWriter, n int) {
			credTokenReply(w, "", "rt-new")
		}, "without an access_token"},
		{"200 not JSON", func(w http.ResponseWriter, n int) {
			_, _ = w.Write([]byte("<html>" + credTestRefresh))
		}, "without an access_token"},
		{"201 is not success", func(w http.ResponseWriter, n int) {
			w.WriteHeader(http.StatusCreated)
			credTokenReply(w, "at-x", "")
		}, "HTTP 201"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := credClearEnv(t)
			srv := newCredTokenServer(t, tc.reply)
			old := credJWT(t, time.Now().Add(-time.Hour), "old")
			content := credTestRefresh + "\n" + old
			credWriteToken(t, home, content)
			_, err := (&cliToken{}).Credentials(context.Background())
			var me *MissingCredentialsError
			if !errors.As(err, &me) || !errors.Is(err, ErrMissingCredentials) {
				t.Fatalf("err = %v, want *MissingCredentialsError", err)
			}
			if me.Sources[0].State != SourceInvalid {
				t.Errorf("source = %v, want invalid", me.Sources[0])
			}
			msg := err.Error()
			for _, s := range []string{tc.want, "run `fal auth login` again", srv.URL} {
				if !strings.Contains(msg, s) {
					t.Errorf("message lacks %q:\n%s", s, msg)
				}
			}
			for _, secret := range []string{credTestRefresh, old, "at-x"} {
				if strings.Contains(msg, secret) {
					t.Errorf("message leaks a token:\n%s", msg)
				}
			}
			if credReadToken(t, home) != content {
				t.Errorf("the token file changed after a failed refresh")
			}
			// The failure is not cached: the next call tries again.
			_, _ = (&cliToken{}).Credentials(context.Background())
			if srv.hits.Load() != 2 {
				t.Errorf("hits = %d, want 2", srv.hits.Load())
			}
		})
	}
}

func TestCLITokenRefreshFailureInChainMentionsColab(t *testing.T) {
	home := credClearEnv(t)
	t.Setenv("COLAB_RELEASE_TAG", "release-colab")
	newCredTokenServer(t, func(w http.ResponseWriter, n int) { w.WriteHeader(http.StatusForbidden) })
	credWriteToken(t, home, credTestRefresh)
	_, err := DefaultCredentialsChain().Credentials(context.Background())
	var me *MissingCredentialsError
	if !errors.As(err, &me) || !me.Colab {
		t.Fatalf("err = %v", err)
	}
	if me.Sources[3].State != SourceInvalid || me.Sources[4].Name != srcColab {
		t.Errorf("sources = %v", me.Sources)
	}
	if msg := err.Error(); !strings.Contains(msg, "fal auth login` again") {
		t.Errorf("message:\n%s", msg)
	}
	if a := me.Advice(); !strings.Contains(a, colabBridge) {
		t.Errorf("Advice():\n%s", a)
	}
}

func TestCLITokenKeepsUnexpiredTokenWhenRefreshFails(t *testing.T) {
	home := credClearEnv(t)
	clk := newTestClock(time.Unix(1_800_000_000, 0))
	srv := newCredTokenServer(t, func(w http.ResponseWriter, n int) { w.WriteHeader(http.StatusBadGateway) })
	soon := credJWT(t, clk.now().Add(3*time.Minute), "soon")
	credWriteToken(t, home, credTestRefresh+"\n"+soon)
	p := &cliToken{clock: clk.now}
	if c, err := p.Credentials(context.Background()); err != nil || c.Token != soon {
		t.Fatalf("%v, %v; want the token that is still valid", c, err)
	}
	clk.advance(4 * time.Minute) // now really expired
	if _, err := p.Credentials(context.Background()); !errors.Is(err, ErrMissingCredentials) {
		t.Fatalf("after expiry: err = %v, want ErrMissingCredentials", err)
	}
	if srv.hits.Load() != 2 {
		t.Errorf("hits = %d, want 2", srv.hits.Load())
	}
}

func TestCLITokenConcurrentCallersShareOneRefresh(t *testing.T) {
	home := credClearEnv(t)
	fresh := credJWT(t, time.Now().Add(time.Hour), "fresh")
	release := &credRelease{ch: make(chan struct{})}
	arrived := make(chan struct{})
	srv := newCredTokenServer(t, func(w http.ResponseWriter, n int) {
		if n == 1 {
			close(arrived)
		}
		<-release.ch
		credTokenReply(w, fresh, "")
	})
	t.Cleanup(release.close) // runs before the server's cleanup: never leave a handler blocked
	credWriteToken(t, home, credTestRefresh)
	p := &cliToken{}
	const callers = 8
	var started, wg sync.WaitGroup
	started.Add(callers)
	errs := make(chan error, callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			c, err := p.Credentials(context.Background())
			if err == nil && c.Token != fresh {
				err = errors.New("wrong token")
			}
			errs <- err
		}()
	}
	// Hold the refresh until every caller has started and the first
	// request arrived; extra time only makes a duplicate refresh likelier.
	started.Wait()
	<-arrived
	time.Sleep(50 * time.Millisecond)
	release.close()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("token endpoint hits = %d, want 1", n)
	}
}

func TestCLITokenWaiterWhoseContextEndsStopsWaiting(t *testing.T) {
	home := credClearEnv(t)
	fresh := credJWT(t, time.Now().Add(time.Hour), "fresh")
	release := &credRelease{ch: make(chan struct{})}
	arrived := make(chan struct{})
	srv := newCredTokenServer(t, func(w http.ResponseWriter, n int) {
		if n == 1 {
			close(arrived)
		}
		<-release.ch
		credTokenReply(w, fresh, "")
	})
	t.Cleanup(release.close) // runs before the server's cleanup: never leave a handler blocked
	credWriteToken(t, home, credTestRefresh)
	p := &cliToken{}

	// The first caller starts the refresh and then gives up.
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leader := make(chan error, 1)
	go func() {
		_, err := p.Credentials(leaderCtx)
		leader <- err
	}()
	<-arrived
	cancelLeader()
	select {
	case err := <-leader:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("leader err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a caller whose context ended kept waiting")
	}
	// A waiter with a deadline also stops waiting.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.Credentials(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiter err = %v, want context.DeadlineExceeded", err)
	}
	// The refresh itself was not cancelled: it completes for later callers.
	release.close()
	c, err := p.Credentials(context.Background())
	if err != nil || c.Token != fresh {
		t.Fatalf("after release: %v, %v", c, err)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("token endpoint hits = %d, want 1", n)
	}
}

func TestCLITokenFileStates(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, home string) *cliToken
		state   SourceState
		contain string
	}{
		{"no file", func(t *testing.T, home string) *cliToken { return &cliToken{} },
			SourceNotSet, "no login token at "},
		{"missing home dir", func(t *testing.T, home string) *cliToken {
			return &cliToken{home: filepath.Join(home, "nope")}
		}, SourceNotSet, "no login token at "},
		{"blank file", func(t *testing.T, home string) *cliToken {
			credWriteToken(t, home, "\n \n")
			return &cliToken{}
		}, SourceNotSet, "holds no refresh token"},
		{"token file is a directory", func(t *testing.T, home string) *cliToken {
			if err := os.Mkdir(filepath.Join(home, tokenFileName), 0o700); err != nil {
				t.Fatal(err)
			}
			return &cliToken{}
		}, SourceInvalid, "auth0_token is a directory, not a regular file; it should be the regular file `fal auth login` writes: remove it and run `fal auth login` again"},
		{"token file too large", func(t *testing.T, home string) *cliToken {
			credWriteToken(t, home, credTestRefresh+"\n"+strings.Repeat("x", maxTokenResponse))
			return &cliToken{tokenURL: "http://auth.example.com/oauth/token"} // never reached
		}, SourceInvalid, "auth0_token is larger than 1048576 bytes; it should hold a fal CLI login token"},
		{"plain http token URL", func(t *testing.T, home string) *cliToken {
			credWriteToken(t, home, credTestRefresh)
			return &cliToken{tokenURL: "http://auth.example.com/oauth/token"}
		}, SourceInvalid, "must use https"},
		{"FAL_AUTH_TOKEN_URL not a URL", func(t *testing.T, home string) *cliToken {
			credWriteToken(t, home, credTestRefresh)
			t.Setenv("FAL_AUTH_TOKEN_URL", "auth.example.com")
			return &cliToken{}
		}, SourceInvalid, "FAL_AUTH_TOKEN_URL is not an absolute http(s) URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := credClearEnv(t)
			p := tc.setup(t, home)
			_, err := p.Credentials(context.Background())
			var me *MissingCredentialsError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want *MissingCredentialsError", err)
			}
			if s := me.Sources[0]; s.State != tc.state || !strings.Contains(s.Detail, tc.contain) {
				t.Errorf("source = %v, want %v containing %q", s, tc.state, tc.contain)
			}
		})
	}
}

// TestCLITokenFilePermissions: the login file follows the key file's rule,
// refused when group or others have any permission on it, with the chmod
// that fixes it (the path quoted for the shell), by Credentials and by
// InspectCredentials alike; owner-only modes are accepted.
func TestCLITokenFilePermissions(t *testing.T) {
	if !unixPerms {
		t.Skip("no Unix permission bits here")
	}
	for _, mode := range []os.FileMode{0o666, 0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o600, 0o400} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			credClearEnv(t)
			home := filepath.Join(t.TempDir(), "my fal")
			if err := os.Mkdir(home, 0o700); err != nil {
				t.Fatal(err)
			}
			t.Setenv("FAL_HOME_DIR", home)
			jwt := credJWT(t, time.Now().Add(time.Hour), "x")
			credWriteToken(t, home, credTestRefresh+"\n"+jwt)
			path := filepath.Join(home, tokenFileName)
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			c, err := (&cliToken{}).Credentials(context.Background())
			cli := InspectCredentials(context.Background()).Sources[3]
			if mode&0o077 == 0 {
				if err != nil || c.Token != jwt || cli.State != SourceFound {
					t.Errorf("owner-only file: %v, %v; inspect %v", c, err, cli)
				}
				return
			}
			var me *MissingCredentialsError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want *MissingCredentialsError", err)
			}
			want := fmt.Sprintf("%s is accessible by group or others (mode %04o); refusing to use a fal CLI login token others can read or change: run chmod 600 '%s'", path, mode, path)
			for _, s := range []CredentialSource{me.Sources[0], cli} {
				if s.State != SourceInvalid || !strings.Contains(s.Detail, want) {
					t.Errorf("source = %v, want invalid containing %q", s, want)
				}
			}
			if msg := err.Error(); strings.Contains(msg, credTestRefresh) || strings.Contains(msg, jwt) {
				t.Errorf("message shows a token:\n%s", msg)
			}
		})
	}
}

func TestCLITokenHomeDirFromFieldAndTilde(t *testing.T) {
	credClearEnv(t)
	userHome := t.TempDir()
	t.Setenv("HOME", userHome)
	t.Setenv("USERPROFILE", userHome)
	jwt := credJWT(t, time.Now().Add(time.Hour), "home")
	if err := os.MkdirAll(filepath.Join(userHome, ".fal"), 0o700); err != nil {
		t.Fatal(err)
	}
	credWriteToken(t, filepath.Join(userHome, ".fal"), credTestRefresh+"\n"+jwt)
	// The default ~/.fal when FAL_HOME_DIR is unset...
	os.Unsetenv("FAL_HOME_DIR")
	if c, err := (&cliToken{}).Credentials(context.Background()); err != nil || c.Token != jwt {
		t.Errorf("default home: %v, %v", c, err)
	}
	// ...and a ~ in FAL_HOME_DIR or HomeDir.
	t.Setenv("FAL_HOME_DIR", "~/.fal")
	if c, err := (&cliToken{}).Credentials(context.Background()); err != nil || c.Token != jwt {
		t.Errorf("FAL_HOME_DIR=~/.fal: %v, %v", c, err)
	}
	t.Setenv("FAL_HOME_DIR", t.TempDir())
	if c, err := (&cliToken{home: "~/.fal"}).Credentials(context.Background()); err != nil || c.Token != jwt {
		t.Errorf("HomeDir=~/.fal: %v, %v", c, err)
	}
}

func TestWriteTokenFileCreatesPrivateDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "new", ".fal")
	if err := writeTokenFile(context.Background(), dir, "r", "a"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, tokenFileName))
	if err != nil || string(b) != "r\na" {
		t.Fatalf("content %q, %v", b, err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("dir mode = %v (%v), want 0700", fi.Mode().Perm(), err)
		}
	}
}

func TestJWTExpiry(t *testing.T) {
	t.Parallel()
	exp := time.Unix(1_800_000_000, 0)
	tests := []struct {
		token string
		ok    bool
	}{
		{credJWT(t, exp, "a"), true},
		{"h.eyJleHAiOjE4MDAwMDAwMDB9.s", true},    // {"exp":1800000000}
		{"h.eyJleHAiOjE4MDAwMDAwMDB9==.s", true},  // padded
		{"h.eyJleHAiOjEuOGU5fQ.s", true},          // {"exp":1.8e9}
		{"h.eyJzdWIiOiJ4In0.s", false},            // no exp
		{"h.eyJleHAiOiIxODAwMDAwMDAwIn0.s", true}, // numeric string, as Python's int() takes
		{"no-dots", false}, {"h.!!!.s", false}, {"", false},
	}
	for _, tc := range tests {
		got, ok := jwtExpiry(tc.token)
		if ok != tc.ok || (ok && !got.Equal(exp)) {
			t.Errorf("jwtExpiry(%q) = %v, %v; want ok=%v", tc.token, got, ok, tc.ok)
		}
	}
}
