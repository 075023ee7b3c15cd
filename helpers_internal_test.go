package fal

// Helpers shared by the tests of package fal: recognisable secrets, a
// clean credentials environment, login token files and a token endpoint,
// and a clock that moves only when told to.

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Recognisable secrets: no output may contain them.
const (
	credTestKey     = "sk-TESTKEY-abc123def456"
	credTestKeyID   = "kid-TESTID-0a1b2c"
	credTestSecret  = "ksec-TESTSECRET-9z8y7x"
	credTestRefresh = "rt-TESTREFRESH-5e6f7a"
)

// credClearEnv removes every FAL_* and COLAB_* variable (and VERTEX_PRODUCT)
// for the test, restoring them afterwards, and points FAL_HOME_DIR at an
// empty temporary directory so the real ~/.fal is never read. It returns
// that directory.
func credClearEnv(t *testing.T) string {
	t.Helper()
	names := []string{"FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "FAL_KEY_FILE", "FAL_HOME_DIR",
		"FAL_FORCE_AUTH_BY_USER", "FAL_AUTH_TOKEN_URL", "COLAB_RELEASE_TAG", "COLAB_BACKEND_VERSION",
		"COLAB_JUPYTER_IP", "COLAB_KERNEL_MANAGER_PROXY_PORT", "COLAB_GPU", "VERTEX_PRODUCT"}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "FAL_") || strings.HasPrefix(k, "COLAB_") {
			names = append(names, k)
		}
	}
	for _, k := range names {
		t.Setenv(k, "") // registers the restore
		os.Unsetenv(k)  // presence matters for some COLAB_* variables
	}
	home := t.TempDir()
	t.Setenv("FAL_HOME_DIR", home)
	return home
}

// credJWT mints an unsigned JWT expiring at exp.
func credJWT(t *testing.T, exp time.Time, tag string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	payload, err := json.Marshal(map[string]any{"exp": exp.Unix(), "sub": tag})
	if err != nil {
		t.Fatal(err)
	}
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + ".sig-" + tag
}

// credWriteToken writes the fal CLI login file.
func credWriteToken(t *testing.T, home, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(home, tokenFileName), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func credReadToken(t *testing.T, home string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, tokenFileName))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// credTokenServer is a loopback OAuth token endpoint.
type credTokenServer struct {
	*httptest.Server
	hits atomic.Int32
	mu   sync.Mutex
	form []url.Values
	// reply answers the n-th request (1-based).
	reply func(w http.ResponseWriter, n int)
}

// newCredTokenServer starts the endpoint and points FAL_AUTH_TOKEN_URL at it.
func newCredTokenServer(t *testing.T, reply func(w http.ResponseWriter, n int)) *credTokenServer {
	t.Helper()
	s := &credTokenServer{reply: reply}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.hits.Add(1))
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("token request %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		_ = r.ParseForm()
		s.mu.Lock()
		s.form = append(s.form, r.PostForm)
		s.mu.Unlock()
		s.reply(w, n)
	}))
	t.Cleanup(s.Close)
	t.Setenv("FAL_AUTH_TOKEN_URL", s.URL+"/oauth/token")
	return s
}

func (s *credTokenServer) forms() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.form...)
}

// credTokenReply answers 200 with the given tokens ("" leaves one out).
func credTokenReply(w http.ResponseWriter, access, refresh string) {
	m := map[string]string{"token_type": "Bearer"}
	if access != "" {
		m["access_token"] = access
	}
	if refresh != "" {
		m["refresh_token"] = refresh
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(m)
}

// testClock is a clock that moves only when told to.
type testClock struct{ cur atomic.Int64 }

func newTestClock(t0 time.Time) *testClock {
	c := &testClock{}
	c.cur.Store(t0.UnixNano())
	return c
}

func (c *testClock) now() time.Time { return time.Unix(0, c.cur.Load()) }

func (c *testClock) advance(d time.Duration) { c.cur.Add(int64(d)) }

// newTestChain is the default chain with its fal CLI login read on clk.
func newTestChain(clk *testClock) CredentialsProvider {
	return &defaultChain{cli: &cliToken{clock: clk.now}}
}

// credKeyFile writes a key file with the given mode.
func credKeyFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fal.key")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// credRelease holds a token endpoint handler until released.
type credRelease struct {
	ch   chan struct{}
	once sync.Once
}

func (r *credRelease) close() { r.once.Do(func() { close(r.ch) }) }

// credGoroutines returns the stacks of the goroutines running this
// package's credential-file code: the shared token load, the token file
// read and the lock. Other tests' goroutines (HTTP servers, clients) do
// not match, so a count can be compared before and after.
func credGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "fal.(*cliToken)") || strings.Contains(g, "fal.lockFile(") ||
			strings.Contains(g, "fal.readTokenFile(") || strings.Contains(g, "fal.readCredentialFile(") {
			out = append(out, g)
		}
	}
	return out
}

// credWaitGoroutines waits until at most n credential-file goroutines run
// (see credGoroutines), failing the test with their stacks if that takes
// longer than the hang guard.
func credWaitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		gs := credGoroutines()
		if len(gs) <= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d credential goroutines still running, want at most %d:\n%s", len(gs), n, strings.Join(gs, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
