package fal

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// Single-request uploads: to the v3 CDN with a CDN token (cached per
// client), else through fal's REST storage (initiate, then PUT to a signed
// URL).

// cdnToken is a token for the v3 CDN.
type cdnToken struct {
	header  string // "<type> <token>"
	baseURL *url.URL
	expires time.Time
}

// cdnTokens caches one CDN token per set of credentials and REST host.
type cdnTokens struct {
	mu     sync.Mutex
	tokens map[string]*cdnToken
}

// tokenRenewal renews a cached CDN token this long before it expires.
const tokenRenewal = time.Minute

// cdnToken returns a valid CDN token, fetching one when the cache holds
// none for these credentials or it is about to expire.
func (c *Client) cdnToken(ctx context.Context, cl *call) (*cdnToken, error) {
	tokenURL := engine.Join(cl.eng.Hosts.Rest, "storage/auth/token") + "?storage_type=fal-cdn-v3"
	auth, err := cl.eng.AuthFor(ctx, tokenURL)
	if err != nil {
		return nil, err
	}
	key := auth.Header + "\x00" + cl.eng.Hosts.Rest.String()
	c.cdn.mu.Lock()
	defer c.cdn.mu.Unlock()
	if t := c.cdn.tokens[key]; t != nil && cl.eng.Clock().Add(tokenRenewal).Before(t.expires) {
		return t, nil
	}
	resp, err := cl.eng.Do(ctx, &engine.Request{
		Op: "upload: CDN token", Method: http.MethodPost, URL: tokenURL, Body: []byte("{}"), Class: retry.Idempotent,
	})
	if err != nil {
		return nil, err
	}
	var tb struct {
		Token     string `json:"token"`
		TokenType string `json:"token_type"`
		BaseURL   string `json:"base_url"`
		ExpiresAt string `json:"expires_at"`
	}
	if err := json.Unmarshal(resp.Body, &tb); err != nil || tb.Token == "" {
		return nil, falerr.New("upload: the CDN token answer has no token")
	}
	cdn := cl.eng.Hosts.CDN
	t := &cdnToken{header: strings.TrimSpace(orDefault(tb.TokenType, "Bearer") + " " + tb.Token), baseURL: cdn}
	// The token is a credential for the CDN only: use the base URL it names
	// only when it is the client's CDN host.
	if bu, err := url.Parse(strings.TrimRight(tb.BaseURL, "/")); err == nil && tb.BaseURL != "" && strings.EqualFold(bu.Host, cdn.Host) && bu.Scheme == cdn.Scheme {
		t.baseURL = bu
	}
	if exp, err := time.Parse(time.RFC3339Nano, tb.ExpiresAt); err == nil {
		t.expires = exp
	} else {
		t.expires = cl.eng.Clock().Add(10 * time.Minute) // unparsable: use briefly, then renew
	}
	if c.cdn.tokens == nil {
		c.cdn.tokens = map[string]*cdnToken{}
	}
	c.cdn.tokens[key] = t
	return t, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// dropCDNToken removes t from the cache.
func (c *Client) dropCDNToken(t *cdnToken) {
	c.cdn.mu.Lock()
	defer c.cdn.mu.Unlock()
	for k, v := range c.cdn.tokens {
		if v == t {
			delete(c.cdn.tokens, k)
		}
	}
}

// single uploads content in one request: to the CDN, else through the
// REST storage's signed URL.
func (c *Client) single(ctx context.Context, cl *call, u *uploadSettings, ct string, body func() io.Reader, size int64) (string, error) {
	url, err := c.singleCDN(ctx, cl, u, ct, body, size)
	if err == nil || ctx.Err() != nil {
		return url, err
	}
	var me *MissingCredentialsError
	if errors.As(err, &me) {
		return "", err
	}
	cl.eng.Debug(ctx, "fal: CDN upload failed; falling back to REST storage", slogError(err))
	url, ferr := c.signedUpload(ctx, cl, u, ct, body, size)
	if ferr != nil {
		return "", falerr.Wrap(ferr, "upload failed on the CDN (%s) and through REST storage", falerr.Trim(err.Error()))
	}
	return url, nil
}

func (c *Client) singleCDN(ctx context.Context, cl *call, u *uploadSettings, ct string, body func() io.Reader, size int64) (string, error) {
	for renewed := false; ; renewed = true {
		tok, err := c.cdnToken(ctx, cl)
		if err != nil {
			return "", err
		}
		resp, err := cl.eng.Do(ctx, &engine.Request{
			Op: "upload", Method: http.MethodPost, URL: engine.Join(cl.eng.Hosts.CDN, "files/upload"),
			BodyFrom: body, Size: size, ContentType: ct, Header: uploadHeaders(u),
			Auth: tok.header, Class: retry.Idempotent, NoTimeout: true,
		})
		var he *HTTPError
		if !renewed && errors.As(err, &he) && (he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden) {
			c.dropCDNToken(tok) // revoked or expired early: fetch a new one once
			continue
		}
		if err != nil {
			return "", err
		}
		return accessURL(resp, "access_url")
	}
}

func accessURL(resp *engine.Response, field string) (string, error) {
	var m map[string]any
	if err := json.Unmarshal(resp.Body, &m); err != nil {
		return "", falerr.New("upload: the answer is not JSON: %s", resp.Quote(200))
	}
	s, _ := m[field].(string)
	if s == "" {
		return "", falerr.New("upload: the answer has no %s: %s", field, resp.Quote(200))
	}
	return s, nil
}

// signedUpload is fal's REST storage flow: initiate, then PUT the bytes to
// the signed URL without any credentials.
func (c *Client) signedUpload(ctx context.Context, cl *call, u *uploadSettings, ct string, body func() io.Reader, size int64) (string, error) {
	name := u.fileName
	if name == "" {
		name = "upload" + extensionFor(ct)
	}
	in, _ := json.Marshal(map[string]string{"file_name": name, "content_type": ct})
	resp, err := cl.eng.Do(ctx, &engine.Request{
		Op: "upload: storage initiate", Method: http.MethodPost,
		URL:  engine.Join(cl.eng.Hosts.Rest, "storage/upload/initiate") + "?storage_type=gcs",
		Body: in, Header: storageHeaders(u), Class: retry.Idempotent,
	})
	if err != nil {
		return "", err
	}
	var ib struct {
		UploadURL string `json:"upload_url"`
		FileURL   string `json:"file_url"`
	}
	if err := json.Unmarshal(resp.Body, &ib); err != nil || ib.UploadURL == "" || ib.FileURL == "" {
		return "", falerr.New("upload: storage initiate answered without upload_url and file_url: %s", resp.Quote(200))
	}
	if err := checkTransferURL(cl.eng, ib.UploadURL); err != nil {
		return "", err
	}
	if _, err := cl.eng.Do(ctx, &engine.Request{
		Op: "upload: signed PUT", Method: http.MethodPut, URL: ib.UploadURL,
		BodyFrom: body, Size: size, ContentType: ct, Auth: engine.NoAuth, Class: retry.Idempotent, NoTimeout: true,
	}); err != nil {
		return "", err
	}
	return ib.FileURL, nil
}

// checkTransferURL refuses server-supplied upload URLs that are not http(s),
// or are plain http to a host that is neither loopback nor one of the
// client's.
func checkTransferURL(eng *engine.Config, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return falerr.New("upload: the server returned an unusable upload URL %q", engine.RedactURL(raw))
	}
	if u.Scheme == "http" && !eng.Hosts.Owns(u) && !engine.IsLoopback(u.Hostname()) {
		return falerr.New("upload: refusing to send data over plain http to %s", u.Host)
	}
	return nil
}
