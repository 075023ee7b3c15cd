package fal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// defaultAuthTokenURL is the OAuth endpoint where the fal CLI login token is
// refreshed. The environment variable FAL_AUTH_TOKEN_URL (a falgo
// extension) replaces it.
const defaultAuthTokenURL = "https://auth.fal.ai/oauth/token"

const (
	// authClientID is the fal CLI's public OAuth client id.
	authClientID = "TwXR51Vz8JbY8GUUMy6EyuVR0fTO7N4N"
	// tokenFileName is the fal CLI's login file inside its home directory.
	tokenFileName = "auth0_token"
	// lockFileName is the lock the fal CLI takes around that file.
	lockFileName = ".portalock"

	// refreshWindow: an access token is refreshed when it expires within it.
	refreshWindow = 5 * time.Minute
	// refreshTimeout bounds one call to the token endpoint.
	refreshTimeout = 30 * time.Second
	// minTokenReuse: a freshly refreshed token whose expiry is unreadable or
	// already inside refreshWindow is reused this long (never past its
	// expiry) before the next refresh, so a misbehaving token endpoint is
	// not called on every request.
	minTokenReuse = time.Minute
	// lockTimeout bounds the wait for another process's lock.
	lockTimeout      = 20 * time.Second
	lockPollInterval = 50 * time.Millisecond
	// maxTokenResponse bounds what is read from the token endpoint or file.
	maxTokenResponse = 1 << 20
)

// cliToken authorizes with the login of the fal command-line tool (`fal
// auth login`): the file auth0_token in the fal home directory holds a
// refresh token on its first line and, optionally, an access token (a JWT)
// on its second. Requests carry "Bearer <access token>".
//
// The access token is kept in memory and its expiry (the JWT's exp claim;
// the signature is not checked) is checked on every call. When it expires
// within five minutes or cannot be read, the file is read again (another
// process may have refreshed it) and, if needed, the token is refreshed at
// the token URL; the file is then rewritten atomically with mode 0600,
// keeping a new refresh token if the endpoint rotated it. Concurrent
// callers wait for a single refresh; a caller whose context ends stops
// waiting without cancelling the refresh for the others. The file is read
// and written under an advisory lock on <home>/.portalock where the
// platform has one (shared with the fal CLI); the lock is not held during
// the network call. The file must be a regular file that group and others
// have no permission on, like the key file (see readCredentialFile);
// anything else is an invalid source, found without waiting. The zero
// value is ready to use.
type cliToken struct {
	home     string           // the fal home directory; "" for $FAL_HOME_DIR, else ~/.fal
	tokenURL string           // "" for $FAL_AUTH_TOKEN_URL, else the default
	client   *http.Client     // sends refreshes; nil for falgo's default
	clock    func() time.Time // nil for time.Now

	mu sync.Mutex
	st *cliState
}

// cliState is the in-memory cache of a cliToken.
type cliState struct {
	creds      Credentials
	src        CredentialSource
	validUntil time.Time // refresh from this instant on
	flight     *cliFlight

	// When a refresh succeeded but the file could not be rewritten,
	// unsavedRefresh is the new refresh token and replacedRefresh the one
	// the file still holds; the next refresh uses the new one.
	unsavedRefresh, replacedRefresh string
}

// cliFlight is one load of the token (file read and maybe refresh) that
// concurrent callers share.
type cliFlight struct {
	done       chan struct{}
	creds      Credentials
	src        CredentialSource
	validUntil time.Time
}

// Credentials returns "Bearer <access token>", refreshing it first when it
// nears expiry. Without a login it returns a *MissingCredentialsError; if
// the refresh fails, one that says to run `fal auth login` again.
func (p *cliToken) Credentials(ctx context.Context) (Credentials, error) {
	c, src, err := p.retrieve(ctx)
	if err != nil {
		return Credentials{}, err
	}
	if src.State != SourceFound {
		return Credentials{}, &MissingCredentialsError{Sources: []CredentialSource{src}}
	}
	return c, nil
}

// Format describes the provider for every verb without its token.
func (p *cliToken) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "fal CLI login (home %q)", p.home)
}

// now reads the provider's clock.
func (p *cliToken) now() time.Time {
	if p.clock != nil {
		return p.clock()
	}
	return time.Now()
}

// retrieve returns the credentials and the source's state. Its error is
// only the caller's context ending; every other failure is in the source.
func (p *cliToken) retrieve(ctx context.Context) (Credentials, CredentialSource, error) {
	p.mu.Lock()
	if p.st == nil {
		p.st = &cliState{}
	}
	st := p.st
	if st.creds.Token != "" && p.now().Before(st.validUntil) {
		c, src := st.creds, st.src
		p.mu.Unlock()
		return c, src, nil
	}
	f := st.flight
	if f == nil {
		f = &cliFlight{done: make(chan struct{})}
		st.flight = f
		// The load runs on its own so that this caller leaving does not
		// cancel it for the callers waiting on it (cancelling a refresh
		// the token endpoint may already have answered could lose a
		// rotated refresh token). It is bounded without a context: file
		// reads never block (readCredentialFile), each lock wait ends
		// within lockTimeout and the refresh within refreshTimeout, so it
		// ends within 2*lockTimeout+refreshTimeout at worst, and at once
		// when a file is refused; the lock is released on every path.
		// Callers stop waiting when their own context ends.
		go p.fly(context.WithoutCancel(ctx), st, f)
	}
	p.mu.Unlock()
	select {
	case <-f.done:
		return f.creds, f.src, nil
	case <-ctx.Done():
		return Credentials{}, CredentialSource{}, falerr.Wrap(ctx.Err(), "waiting for the fal CLI login token")
	}
}

func (p *cliToken) fly(ctx context.Context, st *cliState, f *cliFlight) {
	f.creds, f.src, f.validUntil = p.load(ctx, st)
	p.mu.Lock()
	st.creds, st.src, st.validUntil = f.creds, f.src, f.validUntil
	st.flight = nil
	p.mu.Unlock()
	close(f.done)
}

// load reads the token file and refreshes the access token if needed.
func (p *cliToken) load(ctx context.Context, st *cliState) (Credentials, CredentialSource, time.Time) {
	src := CredentialSource{Name: "fal CLI login", State: SourceInvalid}
	dir, err := p.homeDir()
	if err != nil {
		src.Detail = err.Error()
		return Credentials{}, src, time.Time{}
	}
	path := filepath.Join(dir, tokenFileName)
	refresh, access, err := readTokenFile(ctx, dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		src.State, src.Detail = SourceNotSet, "no login token at "+path
		return Credentials{}, src, time.Time{}
	case err != nil:
		src.Detail = tokenReadDetail(err)
		return Credentials{}, src, time.Time{}
	case refresh == "":
		src.State, src.Detail = SourceNotSet, path+" holds no refresh token"
		return Credentials{}, src, time.Time{}
	}
	exp, expOK := jwtExpiry(access)
	if expOK && p.now().Add(refreshWindow).Before(exp) {
		src.State, src.Detail = SourceFound, "login token from "+path
		return Credentials{Scheme: "Bearer", Token: access}, src, exp.Add(-refreshWindow)
	}

	p.mu.Lock()
	fileRefresh := refresh
	if st.unsavedRefresh != "" && st.replacedRefresh == refresh {
		refresh = st.unsavedRefresh
	}
	p.mu.Unlock()
	tokenURL, err := p.refreshURL()
	if err != nil {
		src.Detail = err.Error()
		return Credentials{}, src, time.Time{}
	}
	newAccess, newRefresh, err := p.refresh(ctx, tokenURL, refresh)
	if err != nil {
		// A token that has not expired yet is still good: use it and try
		// the refresh again shortly.
		if expOK && p.now().Before(exp) {
			src.State = SourceFound
			src.Detail = fmt.Sprintf("login token from %s (refresh failed: %v; using the current token until it expires)", path, err)
			return Credentials{Scheme: "Bearer", Token: access}, src, earliest(p.now().Add(minTokenReuse), exp)
		}
		src.Detail = fmt.Sprintf("refreshing the login token from %s at %s failed: %v; run `fal auth login` again", path, tokenURL, err)
		return Credentials{}, src, time.Time{}
	}
	if newRefresh == "" {
		newRefresh = refresh
	}
	src.State, src.Detail = SourceFound, "login token from "+path+", refreshed"
	werr := writeTokenFile(ctx, dir, newRefresh, newAccess)
	p.mu.Lock()
	if werr != nil {
		st.unsavedRefresh, st.replacedRefresh = newRefresh, fileRefresh
		src.Detail += fmt.Sprintf(" (could not save it: %v)", werr)
	} else {
		st.unsavedRefresh, st.replacedRefresh = "", ""
	}
	p.mu.Unlock()

	validUntil := p.now().Add(minTokenReuse)
	if exp, ok := jwtExpiry(newAccess); ok {
		if e := exp.Add(-refreshWindow); e.After(validUntil) {
			validUntil = e
		} else {
			validUntil = earliest(validUntil, exp)
		}
	}
	return Credentials{Scheme: "Bearer", Token: newAccess}, src, validUntil
}

// inspect reports the state of the login without refreshing it.
func (p *cliToken) inspect(ctx context.Context) CredentialSource {
	src := CredentialSource{Name: "fal CLI login", State: SourceInvalid}
	dir, err := p.homeDir()
	if err != nil {
		src.Detail = err.Error()
		return src
	}
	path := filepath.Join(dir, tokenFileName)
	refresh, access, err := readTokenFile(ctx, dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		src.State, src.Detail = SourceNotSet, "no login token at "+path
		return src
	case err != nil:
		src.Detail = tokenReadDetail(err)
		return src
	case refresh == "":
		src.State, src.Detail = SourceNotSet, path+" holds no refresh token"
		return src
	}
	if exp, ok := jwtExpiry(access); ok && p.now().Add(refreshWindow).Before(exp) {
		src.State = SourceFound
		src.Detail = fmt.Sprintf("login token from %s, access token valid for %v", path, exp.Sub(p.now()).Round(time.Minute))
		return src
	}
	tokenURL, err := p.refreshURL()
	if err != nil {
		src.Detail = err.Error()
		return src
	}
	src.State = SourceFound
	src.Detail = fmt.Sprintf("login token from %s; the access token is missing or expiring and will be refreshed at %s when first used", path, tokenURL)
	return src
}

// tokenReadDetail is the source detail for an error of readTokenFile.
func tokenReadDetail(err error) string {
	var r *credFileRefusal
	if errors.As(err, &r) {
		return r.Error()
	}
	return fmt.Sprintf("cannot read the login token: %v", err)
}

// homeDir is the home set, else $FAL_HOME_DIR, else ~/.fal.
func (p *cliToken) homeDir() (string, error) {
	dir := p.home
	if dir == "" {
		dir = strings.TrimSpace(os.Getenv("FAL_HOME_DIR"))
	}
	if dir == "" {
		dir = "~/.fal"
	}
	d, err := expandHome(dir)
	if err != nil {
		return "", fmt.Errorf("cannot find the fal home directory: %v; set FAL_HOME_DIR", err)
	}
	return d, nil
}

// refreshURL is the token URL, else $FAL_AUTH_TOKEN_URL, else the default. The
// refresh token is a long-lived secret, so it is only sent over https or
// to a loopback address.
func (p *cliToken) refreshURL() (string, error) {
	raw, from := p.tokenURL, "the token URL"
	if raw == "" {
		raw, from = strings.TrimSpace(os.Getenv("FAL_AUTH_TOKEN_URL")), "FAL_AUTH_TOKEN_URL"
	}
	if raw == "" {
		return defaultAuthTokenURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%s is not an absolute http(s) URL: %q", from, raw)
	}
	if u.Scheme == "http" && !engine.IsLoopback(u.Hostname()) {
		return "", fmt.Errorf("%s must use https (plain http is allowed only for loopback addresses): %q", from, raw)
	}
	return u.String(), nil
}

// refresh exchanges the refresh token for a new access token (and maybe a
// new refresh token), through the request engine with no credentials and
// no redirects followed (the body carries the refresh token). Its errors
// never contain a token.
func (p *cliToken) refresh(ctx context.Context, tokenURL, refreshToken string) (access, newRefresh string, err error) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {authClientID},
		"refresh_token": {refreshToken},
	}
	hc := p.client
	if hc == nil {
		hc = defaultHTTPClient
	}
	eng := &engine.Config{
		HTTPClient: hc,
		Retry:      retry.Policy{MaxAttempts: 3, BaseDelay: 200 * time.Millisecond, MaxDelay: 2 * time.Second},
		UserAgent:  defaultUserAgent,
		Errors:     errorBuilder{},
		MaxBody:    maxTokenResponse,
		Now:        p.clock,
	}
	if err := eng.Prepare(); err != nil {
		return "", "", err
	}
	resp, err := eng.Do(ctx, &engine.Request{
		Op: "refreshing the login token", Method: http.MethodPost, URL: tokenURL,
		Body: []byte(form.Encode()), ContentType: "application/x-www-form-urlencoded",
		Auth: engine.NoAuth, Secrets: []string{refreshToken}, Class: retry.Once,
	})
	if err != nil {
		var he *HTTPError
		if !errors.As(err, &he) {
			if ctx.Err() != nil {
				return "", "", fmt.Errorf("no answer within %v", refreshTimeout)
			}
			return "", "", errors.New(falerr.Trim(err.Error()))
		}
		msg := fmt.Sprintf("the token endpoint answered HTTP %d", he.StatusCode)
		var oe struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(he.Body, &oe) == nil && isOAuthErrorCode(oe.Error) {
			msg += " (" + oe.Error + ")"
		}
		return "", "", errors.New(msg)
	}
	if resp.Status != http.StatusOK {
		return "", "", fmt.Errorf("the token endpoint answered HTTP %d, not 200", resp.Status)
	}
	var tr struct {
		AccessToken  any `json:"access_token"`
		RefreshToken any `json:"refresh_token"`
	}
	jerr := json.Unmarshal(resp.Body, &tr)
	access, _ = tr.AccessToken.(string)
	newRefresh, _ = tr.RefreshToken.(string)
	if jerr != nil || access == "" {
		return "", "", errors.New("the token endpoint answered HTTP 200 without an access_token")
	}
	if !validToken(access) || !validToken(newRefresh) {
		return "", "", errors.New("the token endpoint answered with a malformed token (whitespace or control characters)")
	}
	return access, newRefresh, nil
}

// isOAuthErrorCode accepts the short snake_case codes of RFC 6749 (such as
// invalid_grant), so nothing else from a response body reaches a message.
func isOAuthErrorCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}

// jwtExpiry reads the exp claim of a JWT without checking its signature.
func jwtExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) < 2 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == "" {
		return time.Time{}, false
	}
	if n, err := claims.Exp.Int64(); err == nil {
		return time.Unix(n, 0), true
	}
	if f, err := claims.Exp.Float64(); err == nil && f > 0 && f < 1<<62 {
		return time.Unix(int64(f), 0), true
	}
	return time.Time{}, false
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// readTokenFile returns the first two non-blank lines of dir/auth0_token,
// trimmed, under the lock. A missing directory or file is os.ErrNotExist;
// a file that is not regular, is accessible by group or others or is
// larger than maxTokenResponse is a *credFileRefusal (see
// readCredentialFile: nothing here waits but the bounded lock wait).
func readTokenFile(ctx context.Context, dir string) (refresh, access string, err error) {
	if _, err := os.Stat(dir); err != nil {
		return "", "", err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, lockFileName))
	if err != nil {
		return "", "", err
	}
	defer unlock()
	data, err := readCredentialFile(tokenFileKind, filepath.Join(dir, tokenFileName))
	if err != nil {
		return "", "", err
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > 0 && validToken(lines[0]) {
		refresh = lines[0]
	}
	if len(lines) > 1 && validToken(lines[1]) {
		access = lines[1]
	}
	return refresh, access, nil
}

// writeTokenFile replaces dir/auth0_token with "<refresh>\n<access>"
// atomically (a temporary file in the same directory, then a rename), mode
// 0600, under the lock, creating dir (0700) if it is missing.
func writeTokenFile(ctx context.Context, dir, refresh, access string) (err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, lockFileName))
	if err != nil {
		return err
	}
	defer unlock()
	tmp, err := os.CreateTemp(dir, "."+tokenFileName+"-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = io.WriteString(tmp, refresh+"\n"+access); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, tokenFileName))
}
