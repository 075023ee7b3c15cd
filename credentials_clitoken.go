package fal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultAuthTokenURL is the OAuth endpoint where the fal CLI login token is
// refreshed. The environment variable FAL_AUTH_TOKEN_URL (a falgo
// extension) or CLITokenCredentials.TokenURL replaces it.
const DefaultAuthTokenURL = "https://auth.fal.ai/oauth/token"

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

// CLITokenCredentials authorizes with the login of the fal command-line
// tool (`fal auth login`): the file auth0_token in HomeDir holds a refresh
// token on its first line and, optionally, an access token (a JWT) on its
// second. Requests carry "Bearer <access token>".
//
// The access token is kept in memory and its expiry (the JWT's exp claim;
// the signature is not checked) is checked on every call. When it expires
// within five minutes or cannot be read, the file is read again (another
// process may have refreshed it) and, if needed, the token is refreshed at
// TokenURL; the file is then rewritten atomically with mode 0600, keeping a
// new refresh token if the endpoint rotated it. Concurrent callers wait for
// a single refresh; a caller whose context ends stops waiting without
// cancelling the refresh for the others. The file is read and written under
// an advisory lock on HomeDir/.portalock where the platform has one
// (shared with the fal CLI); the lock is not held during the network call.
//
// Use a pointer; the zero value is ready to use. It is safe for concurrent
// use; do not change its fields after the first call.
type CLITokenCredentials struct {
	// HomeDir is the fal CLI's directory. Empty means $FAL_HOME_DIR, else
	// ~/.fal; a leading ~ is expanded.
	HomeDir string
	// TokenURL is the OAuth token endpoint. Empty means
	// $FAL_AUTH_TOKEN_URL, else DefaultAuthTokenURL. It must be https,
	// except on a loopback address.
	TokenURL string
	// HTTPClient sends the refresh request. Nil means a client that does
	// not follow redirects; each refresh is bounded to 30 seconds.
	HTTPClient *http.Client

	mu sync.Mutex
	// st is behind a pointer so that printing a copy of the struct shows an
	// address, never the token.
	st *cliState
}

// cliState is the in-memory cache of a CLITokenCredentials.
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
func (p *CLITokenCredentials) Credentials(ctx context.Context) (Credentials, error) {
	if p == nil {
		return Credentials{}, errors.New("fal: CLITokenCredentials is a nil pointer; use &fal.CLITokenCredentials{}")
	}
	c, src, err := p.retrieve(ctx)
	if err != nil {
		return Credentials{}, err
	}
	if src.State != SourceFound {
		return Credentials{}, &MissingCredentialsError{Sources: []CredentialSource{src}}
	}
	return c, nil
}

// String describes the provider without any token.
func (p *CLITokenCredentials) String() string {
	if p == nil {
		return "fal.CLITokenCredentials(nil)"
	}
	return fmt.Sprintf("fal.CLITokenCredentials{HomeDir: %q, TokenURL: %q}", p.HomeDir, p.TokenURL)
}

// GoString is String, so %#v never shows a token.
func (p *CLITokenCredentials) GoString() string { return p.String() }

// Format prints String for every verb.
func (p *CLITokenCredentials) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, p.String()) }

// retrieve returns the credentials and the source's state. Its error is
// only the caller's context ending; every other failure is in the source.
func (p *CLITokenCredentials) retrieve(ctx context.Context) (Credentials, CredentialSource, error) {
	p.mu.Lock()
	if p.st == nil {
		p.st = &cliState{}
	}
	st := p.st
	if !st.creds.IsZero() && now().Before(st.validUntil) {
		c, src := st.creds, st.src
		p.mu.Unlock()
		return c, src, nil
	}
	f := st.flight
	if f == nil {
		f = &cliFlight{done: make(chan struct{})}
		st.flight = f
		// The load runs on its own so that this caller leaving does not
		// cancel it for the callers waiting on it; it is bounded by the
		// lock and refresh timeouts.
		go p.fly(context.WithoutCancel(ctx), st, f)
	}
	p.mu.Unlock()
	select {
	case <-f.done:
		return f.creds, f.src, nil
	case <-ctx.Done():
		return Credentials{}, CredentialSource{}, fmt.Errorf("fal: waiting for the fal CLI login token: %w", ctx.Err())
	}
}

func (p *CLITokenCredentials) fly(ctx context.Context, st *cliState, f *cliFlight) {
	f.creds, f.src, f.validUntil = p.load(ctx, st)
	p.mu.Lock()
	st.creds, st.src, st.validUntil = f.creds, f.src, f.validUntil
	st.flight = nil
	p.mu.Unlock()
	close(f.done)
}

// load reads the token file and refreshes the access token if needed.
func (p *CLITokenCredentials) load(ctx context.Context, st *cliState) (Credentials, CredentialSource, time.Time) {
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
		src.Detail = fmt.Sprintf("cannot read the login token: %v", err)
		return Credentials{}, src, time.Time{}
	case refresh == "":
		src.State, src.Detail = SourceNotSet, path+" holds no refresh token"
		return Credentials{}, src, time.Time{}
	}
	exp, expOK := jwtExpiry(access)
	if expOK && now().Add(refreshWindow).Before(exp) {
		src.State, src.Detail = SourceFound, "login token from "+path
		return Credentials{Scheme: "Bearer", Token: access}, src, exp.Add(-refreshWindow)
	}

	p.mu.Lock()
	fileRefresh := refresh
	if st.unsavedRefresh != "" && st.replacedRefresh == refresh {
		refresh = st.unsavedRefresh
	}
	p.mu.Unlock()
	tokenURL, err := p.tokenURL()
	if err != nil {
		src.Detail = err.Error()
		return Credentials{}, src, time.Time{}
	}
	newAccess, newRefresh, err := p.refresh(ctx, tokenURL, refresh)
	if err != nil {
		// A token that has not expired yet is still good: use it and try
		// the refresh again shortly.
		if expOK && now().Before(exp) {
			src.State = SourceFound
			src.Detail = fmt.Sprintf("login token from %s (refresh failed: %v; using the current token until it expires)", path, err)
			return Credentials{Scheme: "Bearer", Token: access}, src, earliest(now().Add(minTokenReuse), exp)
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

	validUntil := now().Add(minTokenReuse)
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
func (p *CLITokenCredentials) inspect(ctx context.Context) CredentialSource {
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
		src.Detail = fmt.Sprintf("cannot read the login token: %v", err)
		return src
	case refresh == "":
		src.State, src.Detail = SourceNotSet, path+" holds no refresh token"
		return src
	}
	if exp, ok := jwtExpiry(access); ok && now().Add(refreshWindow).Before(exp) {
		src.State = SourceFound
		src.Detail = fmt.Sprintf("login token from %s, access token valid for %v", path, exp.Sub(now()).Round(time.Minute))
		return src
	}
	tokenURL, err := p.tokenURL()
	if err != nil {
		src.Detail = err.Error()
		return src
	}
	src.State = SourceFound
	src.Detail = fmt.Sprintf("login token from %s; the access token is missing or expiring and will be refreshed at %s when first used", path, tokenURL)
	return src
}

// homeDir is HomeDir, else $FAL_HOME_DIR, else ~/.fal.
func (p *CLITokenCredentials) homeDir() (string, error) {
	dir := p.HomeDir
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

// tokenURL is TokenURL, else $FAL_AUTH_TOKEN_URL, else the default. The
// refresh token is a long-lived secret, so it is only sent over https or
// to a loopback address.
func (p *CLITokenCredentials) tokenURL() (string, error) {
	raw, from := p.TokenURL, "CLITokenCredentials.TokenURL"
	if raw == "" {
		raw, from = strings.TrimSpace(os.Getenv("FAL_AUTH_TOKEN_URL")), "FAL_AUTH_TOKEN_URL"
	}
	if raw == "" {
		return DefaultAuthTokenURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%s is not an absolute http(s) URL: %q", from, raw)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "", fmt.Errorf("%s must use https (plain http is allowed only for loopback addresses): %q", from, raw)
	}
	return u.String(), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// noRedirectClient refreshes tokens by default: a redirect could carry the
// refresh token to another host.
var noRedirectClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// refresh exchanges the refresh token for a new access token (and maybe a
// new refresh token). Its errors never contain a token.
func (p *CLITokenCredentials) refresh(ctx context.Context, tokenURL, refreshToken string) (access, newRefresh string, err error) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {authClientID},
		"refresh_token": {refreshToken},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", DefaultUserAgent)
	hc := p.HTTPClient
	if hc == nil {
		hc = noRedirectClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", "", fmt.Errorf("no answer within %v", refreshTimeout)
		}
		return "", "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return "", "", fmt.Errorf("reading the answer: %v", err)
	}
	var tr struct {
		AccessToken  any    `json:"access_token"`
		RefreshToken any    `json:"refresh_token"`
		Error        string `json:"error"`
	}
	jerr := json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("the token endpoint answered HTTP %d", resp.StatusCode)
		if jerr == nil && isOAuthErrorCode(tr.Error) {
			msg += " (" + tr.Error + ")"
		}
		return "", "", errors.New(msg)
	}
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
// trimmed, under the lock. A missing directory or file is os.ErrNotExist.
func readTokenFile(ctx context.Context, dir string) (refresh, access string, err error) {
	if _, err := os.Stat(dir); err != nil {
		return "", "", err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, lockFileName))
	if err != nil {
		return "", "", err
	}
	defer unlock()
	f, err := os.Open(filepath.Join(dir, tokenFileName))
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTokenResponse))
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
