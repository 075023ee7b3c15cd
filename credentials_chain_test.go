package fal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDefaultChainSourcesAndOrder(t *testing.T) {
	type env struct {
		home string
		srv  *credTokenServer
		jwt  string // a valid access token written to the token file by withToken
	}
	withToken := func(t *testing.T, e *env) {
		credWriteToken(t, e.home, credTestRefresh+"\n"+e.jwt+"\n")
	}
	tests := []struct {
		name       string
		setup      func(t *testing.T, e *env)
		wantScheme string
		wantToken  func(e *env) string
	}{
		{"FAL_KEY", func(t *testing.T, e *env) { t.Setenv("FAL_KEY", credTestKey) },
			"Key", func(*env) string { return credTestKey }},
		{"FAL_KEY is trimmed", func(t *testing.T, e *env) { t.Setenv("FAL_KEY", "  "+credTestKey+"\n") },
			"Key", func(*env) string { return credTestKey }},
		{"key pair", func(t *testing.T, e *env) {
			t.Setenv("FAL_KEY_ID", credTestKeyID)
			t.Setenv("FAL_KEY_SECRET", credTestSecret)
		}, "Key", func(*env) string { return credTestKeyID + ":" + credTestSecret }},
		{"key file", func(t *testing.T, e *env) {
			t.Setenv("FAL_KEY_FILE", credKeyFile(t, "\n  "+credTestKey+"  \n", 0o600))
		}, "Key", func(*env) string { return credTestKey }},
		{"CLI login", withToken, "Bearer", func(e *env) string { return e.jwt }},
		{"FAL_KEY beats everything", func(t *testing.T, e *env) {
			t.Setenv("FAL_KEY", credTestKey)
			t.Setenv("FAL_KEY_ID", credTestKeyID)
			t.Setenv("FAL_KEY_SECRET", credTestSecret)
			t.Setenv("FAL_KEY_FILE", credKeyFile(t, "file-key", 0o600))
			withToken(t, e)
		}, "Key", func(*env) string { return credTestKey }},
		{"empty FAL_KEY is unset", func(t *testing.T, e *env) {
			t.Setenv("FAL_KEY", "")
			t.Setenv("FAL_KEY_ID", credTestKeyID)
			t.Setenv("FAL_KEY_SECRET", credTestSecret)
		}, "Key", func(*env) string { return credTestKeyID + ":" + credTestSecret }},
		{"pair beats key file and login", func(t *testing.T, e *env) {
			t.Setenv("FAL_KEY_ID", credTestKeyID)
			t.Setenv("FAL_KEY_SECRET", credTestSecret)
			t.Setenv("FAL_KEY_FILE", credKeyFile(t, "file-key", 0o600))
			withToken(t, e)
		}, "Key", func(*env) string { return credTestKeyID + ":" + credTestSecret }},
		{"key file beats login", func(t *testing.T, e *env) {
			t.Setenv("FAL_KEY_FILE", credKeyFile(t, "file-key", 0o600))
			withToken(t, e)
		}, "Key", func(*env) string { return "file-key" }},
		{"half pair falls through to login", func(t *testing.T, e *env) {
			t.Setenv("FAL_KEY_ID", credTestKeyID)
			withToken(t, e)
		}, "Bearer", func(e *env) string { return e.jwt }},
		{"FAL_FORCE_AUTH_BY_USER=1 uses only the login", func(t *testing.T, e *env) {
			t.Setenv("FAL_FORCE_AUTH_BY_USER", "1")
			t.Setenv("FAL_KEY", credTestKey)
			t.Setenv("FAL_KEY_ID", credTestKeyID)
			t.Setenv("FAL_KEY_SECRET", credTestSecret)
			t.Setenv("FAL_KEY_FILE", credKeyFile(t, "file-key", 0o600))
			withToken(t, e)
		}, "Bearer", func(e *env) string { return e.jwt }},
		{"FAL_FORCE_AUTH_BY_USER other than 1 is ignored", func(t *testing.T, e *env) {
			t.Setenv("FAL_FORCE_AUTH_BY_USER", "true")
			t.Setenv("FAL_KEY", credTestKey)
			withToken(t, e)
		}, "Key", func(*env) string { return credTestKey }},
		{"Colab with an exported key", func(t *testing.T, e *env) {
			t.Setenv("COLAB_RELEASE_TAG", "release-colab_20250902-060114_RC00")
			t.Setenv("FAL_KEY", credTestKey)
		}, "Key", func(*env) string { return credTestKey }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{home: credClearEnv(t)}
			e.srv = newCredTokenServer(t, func(w http.ResponseWriter, n int) { http.Error(w, "unexpected", 500) })
			e.jwt = credJWT(t, time.Now().Add(time.Hour), "valid")
			tc.setup(t, e)
			got, err := DefaultCredentialsChain().Credentials(context.Background())
			if err != nil {
				t.Fatalf("Credentials: %v", err)
			}
			if got.Scheme != tc.wantScheme || got.Token != tc.wantToken(e) {
				t.Errorf("got %s %q, want %s %q", got.Scheme, got.Token, tc.wantScheme, tc.wantToken(e))
			}
			if n := e.srv.hits.Load(); n != 0 {
				t.Errorf("the token endpoint was called %d times; a valid login needs no refresh", n)
			}
		})
	}
}

func TestDefaultChainNothingFound(t *testing.T) {
	credClearEnv(t)
	_, err := DefaultCredentialsChain().Credentials(context.Background())
	if !errors.Is(err, ErrMissingCredentials) {
		t.Fatalf("err = %v, want ErrMissingCredentials", err)
	}
	var me *MissingCredentialsError
	if !errors.As(err, &me) {
		t.Fatalf("err is %T, want *MissingCredentialsError", err)
	}
	want := []struct {
		name  string
		state SourceState
	}{
		{"FAL_KEY", SourceNotSet}, {"FAL_KEY_ID/FAL_KEY_SECRET", SourceNotSet}, {"FAL_KEY_FILE", SourceNotSet},
		{"fal CLI login", SourceNotSet}, {"Google Colab", SourceNotSet},
	}
	if len(me.Sources) != len(want) {
		t.Fatalf("sources = %v, want %d entries", me.Sources, len(want))
	}
	for i, w := range want {
		if me.Sources[i].Name != w.name || me.Sources[i].State != w.state {
			t.Errorf("source %d = %v, want %s %v", i, me.Sources[i], w.name, w.state)
		}
	}
	msg, advice := err.Error(), me.Advice()
	for _, s := range []string{"no credentials found", "FAL_KEY", "auth0_token", "not a Colab runtime"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message lacks %q:\n%s", s, msg)
		}
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("Error() is not one line:\n%s", msg)
	}
	for _, s := range []string{"FAL_KEY", "fal auth login", "https://fal.ai/dashboard/keys"} {
		if !strings.Contains(advice, s) {
			t.Errorf("Advice() lacks %q:\n%s", s, advice)
		}
	}
	if me.Colab || strings.Contains(msg+advice, "userdata") {
		t.Errorf("Colab advice outside Colab:\n%s\n%s", msg, advice)
	}
}

func TestDefaultChainHalfPairIsReported(t *testing.T) {
	for _, set := range []string{"FAL_KEY_ID", "FAL_KEY_SECRET"} {
		t.Run(set, func(t *testing.T) {
			credClearEnv(t)
			t.Setenv(set, credTestSecret)
			_, err := DefaultCredentialsChain().Credentials(context.Background())
			var me *MissingCredentialsError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want *MissingCredentialsError", err)
			}
			if me.Sources[1].State != SourcePartial {
				t.Errorf("pair state = %v, want partial", me.Sources[1])
			}
			// The chain went on after the partial pair.
			if me.Sources[3].State != SourceNotSet || me.Sources[3].Name != srcCLI {
				t.Errorf("login source = %v, want not set (tried)", me.Sources[3])
			}
			msg := err.Error()
			if !strings.Contains(msg, "partial") || !strings.Contains(msg, set+" is set (") {
				t.Errorf("message does not report the half-set pair:\n%s", msg)
			}
			if strings.Contains(msg, credTestSecret) {
				t.Errorf("message leaks the secret:\n%s", msg)
			}
		})
	}
}

func TestDefaultChainForceAuthWithoutLogin(t *testing.T) {
	credClearEnv(t)
	t.Setenv("FAL_FORCE_AUTH_BY_USER", "1")
	t.Setenv("FAL_KEY", credTestKey)
	t.Setenv("COLAB_RELEASE_TAG", "x")
	_, err := DefaultCredentialsChain().Credentials(context.Background())
	var me *MissingCredentialsError
	if !errors.As(err, &me) || !me.ForceAuthByUser {
		t.Fatalf("err = %v, want *MissingCredentialsError with ForceAuthByUser", err)
	}
	for i, s := range me.Sources {
		want := SourceSkipped
		if s.Name == srcCLI {
			want = SourceNotSet
		}
		if s.State != want {
			t.Errorf("source %d = %v, want %v", i, s, want)
		}
	}
	msg, advice := err.Error(), me.Advice()
	if !strings.Contains(msg, "FAL_FORCE_AUTH_BY_USER=1") {
		t.Errorf("message does not name FAL_FORCE_AUTH_BY_USER:\n%s", msg)
	}
	if !strings.Contains(advice, "FAL_FORCE_AUTH_BY_USER=1") || !strings.Contains(advice, "fal auth login") {
		t.Errorf("Advice() does not explain FAL_FORCE_AUTH_BY_USER:\n%s", advice)
	}
	if strings.Contains(msg+advice, credTestKey) {
		t.Errorf("message leaks the key:\n%s\n%s", msg, advice)
	}
}

func TestDefaultChainCachesWinnerButNotFailure(t *testing.T) {
	credClearEnv(t)
	chain := DefaultCredentialsChain()
	ctx := context.Background()
	if _, err := chain.Credentials(ctx); !errors.Is(err, ErrMissingCredentials) {
		t.Fatalf("first call: err = %v, want ErrMissingCredentials", err)
	}
	// A key set after a failure is picked up.
	t.Setenv("FAL_KEY", credTestKey)
	c, err := chain.Credentials(ctx)
	if err != nil || c.Token != credTestKey {
		t.Fatalf("after setting FAL_KEY: %v, %v", c, err)
	}
	// Once found, the source is kept: the environment is not read again.
	t.Setenv("FAL_KEY", "another-key")
	os.Unsetenv("FAL_KEY")
	c, err = chain.Credentials(ctx)
	if err != nil || c.Token != credTestKey {
		t.Fatalf("after unsetting FAL_KEY: %v, %v; want the cached key", c, err)
	}
	// A new chain (a new client) reads the environment again.
	if _, err := DefaultCredentialsChain().Credentials(ctx); !errors.Is(err, ErrMissingCredentials) {
		t.Fatalf("new chain: err = %v, want ErrMissingCredentials", err)
	}
}

func TestDefaultChainFallsBackAfterLoginStopsWorking(t *testing.T) {
	home := credClearEnv(t)
	clk := newTestClock(time.Unix(1_800_000_000, 0))
	srv := newCredTokenServer(t, func(w http.ResponseWriter, n int) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
	})
	jwt := credJWT(t, clk.now().Add(time.Hour), "a")
	credWriteToken(t, home, credTestRefresh+"\n"+jwt)
	chain := newTestChain(clk)
	ctx := context.Background()
	if c, err := chain.Credentials(ctx); err != nil || c.Token != jwt {
		t.Fatalf("login: %v, %v", c, err)
	}
	// The login expires and cannot be refreshed; a key set meanwhile wins.
	clk.advance(2 * time.Hour)
	t.Setenv("FAL_KEY", credTestKey)
	c, err := chain.Credentials(ctx)
	if err != nil || c.Scheme != "Key" || c.Token != credTestKey {
		t.Fatalf("after the login failed: %v, %v; want FAL_KEY", c, err)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("token endpoint hits = %d, want 1", n)
	}
}

func TestFetchCredentials(t *testing.T) {
	home := credClearEnv(t)
	credWriteToken(t, home, credTestRefresh+"\n"+credJWT(t, time.Now().Add(time.Hour), "a"))
	_, err := FetchCredentials()
	var me *MissingCredentialsError
	if !errors.As(err, &me) || !me.KeyOnly || !errors.Is(err, ErrMissingCredentials) {
		t.Fatalf("with only a login: err = %v, want a key-only *MissingCredentialsError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "key credentials not found") {
		t.Errorf("message:\n%s", msg)
	}
	if a := me.Advice(); !strings.Contains(a, "FAL_KEY_ID and FAL_KEY_SECRET") || !strings.Contains(a, "a fal CLI login is not an API key") {
		t.Errorf("Advice():\n%s", a)
	}
	t.Setenv("FAL_KEY_ID", credTestKeyID)
	t.Setenv("FAL_KEY_SECRET", credTestSecret)
	if k, err := FetchCredentials(); err != nil || k != credTestKeyID+":"+credTestSecret {
		t.Errorf("pair: %q, %v", k, err)
	}
	t.Setenv("FAL_KEY", credTestKey)
	if k, err := FetchCredentials(); err != nil || k != credTestKey {
		t.Errorf("FAL_KEY: %q, %v", k, err)
	}
	t.Setenv("FAL_FORCE_AUTH_BY_USER", "1")
	if _, err := FetchCredentials(); !errors.Is(err, ErrMissingCredentials) {
		t.Errorf("with FAL_FORCE_AUTH_BY_USER=1: err = %v, want ErrMissingCredentials", err)
	}
}

func TestInspectCredentials(t *testing.T) {
	t.Run("key wins, login also set, no network", func(t *testing.T) {
		home := credClearEnv(t)
		srv := newCredTokenServer(t, func(w http.ResponseWriter, n int) { http.Error(w, "no", 500) })
		credWriteToken(t, home, credTestRefresh+"\n"+credJWT(t, time.Now().Add(-time.Hour), "expired"))
		t.Setenv("FAL_KEY", credTestKey)
		t.Setenv("FAL_KEY_ID", credTestKeyID)
		rep := InspectCredentials(context.Background())
		if rep.Winner != srcFalKey {
			t.Errorf("Winner = %q, want FAL_KEY; report:\n%s", rep.Winner, rep)
		}
		if rep.Sources[0].Detail != fmt.Sprintf("set, %d chars", len(credTestKey)) {
			t.Errorf("FAL_KEY detail = %q", rep.Sources[0].Detail)
		}
		if rep.Sources[1].State != SourcePartial {
			t.Errorf("pair = %v, want partial", rep.Sources[1])
		}
		if rep.Sources[3].State != SourceFound || !strings.Contains(rep.Sources[3].Detail, "will be refreshed at "+srv.URL) {
			t.Errorf("login = %v, want found, to be refreshed", rep.Sources[3])
		}
		if srv.hits.Load() != 0 {
			t.Errorf("InspectCredentials called the token endpoint")
		}
		s := rep.String()
		if !strings.Contains(s, "* FAL_KEY: found") || !strings.Contains(s, "Colab: not detected") {
			t.Errorf("report text:\n%s", s)
		}
	})
	t.Run("forced login", func(t *testing.T) {
		home := credClearEnv(t)
		credWriteToken(t, home, credTestRefresh+"\n"+credJWT(t, time.Now().Add(time.Hour), "valid"))
		t.Setenv("FAL_FORCE_AUTH_BY_USER", "1")
		t.Setenv("FAL_KEY", credTestKey)
		rep := InspectCredentials(context.Background())
		if rep.Winner != srcCLI || !rep.ForceAuthByUser || rep.Sources[0].State != SourceSkipped {
			t.Errorf("report:\n%s", rep)
		}
		if !strings.Contains(rep.Sources[3].Detail, "valid for 1h0m0s") {
			t.Errorf("login detail = %q", rep.Sources[3].Detail)
		}
	})
	t.Run("unusable key file, Colab", func(t *testing.T) {
		credClearEnv(t)
		t.Setenv("COLAB_GPU", "")
		t.Setenv("FAL_KEY_FILE", filepath.Join(t.TempDir(), "missing"))
		rep := InspectCredentials(context.Background())
		if rep.Winner != "" || !strings.Contains(rep.Reason, "FAL_KEY_FILE is set but unusable") || !rep.Colab {
			t.Errorf("report:\n%s", rep)
		}
		if !strings.Contains(rep.String(), "Google Colab runtime detected") {
			t.Errorf("report text:\n%s", rep)
		}
	})
	t.Run("nothing", func(t *testing.T) {
		credClearEnv(t)
		rep := InspectCredentials(context.Background())
		if rep.Winner != "" || !strings.Contains(rep.String(), "Using: nothing") {
			t.Errorf("report:\n%s", rep)
		}
	})
}

// TestClientSendsRefreshedLoginToken drives a Client: the chain is asked
// before every request, so a long-lived client moves to the refreshed token.
func TestClientSendsRefreshedLoginToken(t *testing.T) {
	home := credClearEnv(t)
	clk := newTestClock(time.Unix(1_800_000_000, 0))
	first := credJWT(t, clk.now().Add(time.Hour), "first")
	second := credJWT(t, clk.now().Add(2*time.Hour), "second")
	credWriteToken(t, home, credTestRefresh+"\n"+first)
	tok := newCredTokenServer(t, func(w http.ResponseWriter, n int) { credTokenReply(w, second, "") })
	var mu sync.Mutex
	var auths []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(api.Close)
	c, err := NewClient(WithCredentials(newTestChain(clk)), WithRunHost(api.URL+"/run"), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := c.Run(ctx, "fal-ai/x", nil); err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	clk.advance(58 * time.Minute)
	if _, err := c.Run(ctx, "fal-ai/x", nil); err != nil {
		t.Fatalf("Run after expiry: %v", err)
	}
	want := []string{"Bearer " + first, "Bearer " + first, "Bearer " + second}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(auths) != fmt.Sprint(want) {
		t.Errorf("Authorization headers = %q, want %q", auths, want)
	}
	if tok.hits.Load() != 1 {
		t.Errorf("token endpoint hits = %d, want 1", tok.hits.Load())
	}
}
