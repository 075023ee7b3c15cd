package fal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Upload stores the content of r in fal storage and returns its public URL,
// to pass as an input to apps. Options: WithContentType (default: from
// WithFileName's extension, else sniffed), WithFileName, WithExpiration,
// WithStorageACL, WithMultipartUpload.
//
// The upload streams: a reader that implements io.ReaderAt and Size (an
// *os.File, *bytes.Reader, *strings.Reader, *io.SectionReader) is sent
// without being copied; any other reader is read part by part, so memory
// stays near parallel parts × part size (40 MiB by default) whatever the
// size. Content up to one part, or of known size up to the multipart
// threshold, is sent in one request to the CDN with a CDN token (cached per
// client and renewed before it expires); larger content goes in parts, sent
// in parallel, each retried, and completed with the parts in order. When the
// CDN path fails for a single upload, falgo falls back to fal's REST
// storage (initiate, then PUT to the signed URL). The API key is never sent
// to a signed URL.
func (c *Client) Upload(ctx context.Context, r io.Reader, opts ...RequestOption) (string, error) {
	cfg, err := c.callConfig(opts)
	if err != nil {
		return "", err
	}
	if r == nil {
		return "", errors.New("fal: Upload: the reader is nil")
	}
	return c.upload(ctx, cfg, r)
}

// UploadFile uploads the file at path (see Upload). The content type comes
// from the extension, else from the first bytes; the name is the base name.
func (c *Client) UploadFile(ctx context.Context, path string, opts ...RequestOption) (string, error) {
	cfg, err := c.callConfig(opts)
	if err != nil {
		return "", err
	}
	return c.uploadFile(ctx, cfg, path)
}

func (c *Client) uploadFile(ctx context.Context, cfg *config, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("fal: UploadFile: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("fal: UploadFile: %w", err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("fal: UploadFile: %s is a directory", path)
	}
	if cfg.upload.fileName == "" {
		cfg = cfg.clone()
		cfg.upload.fileName = filepath.Base(path)
	}
	return c.upload(ctx, cfg, f)
}

// Upload calls Upload on the default client.
func Upload(ctx context.Context, r io.Reader, opts ...RequestOption) (string, error) {
	c, err := DefaultClient()
	if err != nil {
		return "", err
	}
	return c.Upload(ctx, r, opts...)
}

// sized is content whose length is known and that can be read from any
// offset, concurrently.
type sized struct {
	ra   io.ReaderAt
	off  int64
	size int64
}

func (s sized) section(off, n int64) io.Reader { return io.NewSectionReader(s.ra, s.off+off, n) }

// asSized recognises readers that can be uploaded without copying.
func asSized(r io.Reader) (sized, bool) {
	ra, ok := r.(io.ReaderAt)
	if !ok {
		return sized{}, false
	}
	switch v := r.(type) {
	case *os.File:
		st, err := v.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return sized{}, false
		}
		pos, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return sized{}, false
		}
		return sized{ra, pos, st.Size() - pos}, true
	case interface {
		Size() int64
		Len() int
	}:
		return sized{ra, v.Size() - int64(v.Len()), int64(v.Len())}, true
	case interface{ Size() int64 }:
		return sized{ra, 0, v.Size()}, true
	}
	return sized{}, false
}

func (c *Client) upload(ctx context.Context, cfg *config, r io.Reader) (string, error) {
	u := &cfg.upload
	part := u.partBytes()
	if s, ok := asSized(r); ok {
		ct, err := contentTypeOf(u, s.section(0, min(s.size, 512)))
		if err != nil {
			return "", err
		}
		if s.size > u.thresholdBytes() {
			return c.multipart(ctx, cfg, ct, s, nil)
		}
		return c.single(ctx, cfg, ct, func() io.Reader { return s.section(0, s.size) }, s.size)
	}
	// A plain stream: read one part ahead to learn whether it fits.
	first := make([]byte, part)
	n, err := io.ReadFull(r, first)
	first = first[:n]
	ct, cerr := contentTypeOf(u, bytes.NewReader(first[:min(n, 512)]))
	if cerr != nil {
		return "", cerr
	}
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return c.single(ctx, cfg, ct, func() io.Reader { return bytes.NewReader(first) }, int64(n))
	case err != nil:
		return "", fmt.Errorf("fal: upload: reading the content: %w", err)
	}
	return c.multipart(ctx, cfg, ct, sized{}, &streamParts{r: r, first: first, size: part})
}

// contentTypeOf picks the upload's content type: the option, the file
// name's extension, or a sniff of the first bytes.
func contentTypeOf(u *uploadConfig, head io.Reader) (string, error) {
	if u.contentType != "" {
		return u.contentType, nil
	}
	if ct := typeByName(u.fileName); ct != "" {
		return ct, nil
	}
	b, err := io.ReadAll(head)
	if err != nil {
		return "", fmt.Errorf("fal: upload: reading the content: %w", err)
	}
	return http.DetectContentType(b), nil
}

// cdnToken is a token for the v3 CDN.
type cdnToken struct {
	header  string // "<type> <token>"
	baseURL *url.URL
	expires time.Time
}

// cdnTokens caches one CDN token per set of credentials.
type cdnTokens struct {
	mu     sync.Mutex
	tokens map[string]*cdnToken
}

// tokenRenewal renews a cached CDN token this long before it expires.
const tokenRenewal = time.Minute

// cdnToken returns a valid CDN token, fetching one when the cache holds
// none for these credentials or it is about to expire.
func (c *Client) cdnToken(ctx context.Context, cfg *config) (*cdnToken, error) {
	creds, err := c.credentials(ctx, cfg)
	if err != nil {
		return nil, err
	}
	key := creds.HeaderValue() + "\x00" + cfg.hosts.rest.String()
	c.cdn.mu.Lock()
	defer c.cdn.mu.Unlock()
	if t := c.cdn.tokens[key]; t != nil && now().Add(tokenRenewal).Before(t.expires) {
		return t, nil
	}
	resp, err := c.do(ctx, cfg, &apiRequest{
		op: "upload: CDN token", method: http.MethodPost,
		url:  join(cfg.hosts.rest, "storage/auth/token") + "?storage_type=fal-cdn-v3",
		body: []byte("{}"), class: idempotent,
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
	if err := json.Unmarshal(resp.body, &tb); err != nil || tb.Token == "" {
		return nil, fmt.Errorf("fal: upload: the CDN token answer has no token (%v)", err)
	}
	t := &cdnToken{header: strings.TrimSpace(orDefault(tb.TokenType, "Bearer") + " " + tb.Token), baseURL: cfg.hosts.cdn}
	// The token is a credential for the CDN only: use the base URL it names
	// only when it is the client's CDN host.
	if bu, err := url.Parse(strings.TrimRight(tb.BaseURL, "/")); err == nil && tb.BaseURL != "" && strings.EqualFold(bu.Host, cfg.hosts.cdn.Host) && bu.Scheme == cfg.hosts.cdn.Scheme {
		t.baseURL = bu
	}
	if exp, err := time.Parse(time.RFC3339Nano, tb.ExpiresAt); err == nil {
		t.expires = exp
	} else {
		t.expires = now().Add(10 * time.Minute) // unparsable: use briefly, then renew
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

// transferConfig is cfg without the per-call timeout: moving file data may
// take longer than any fixed bound; the context limits it.
func transferConfig(cfg *config) *config {
	if cfg.timeout == 0 {
		return cfg
	}
	t := cfg.clone()
	t.timeout = 0
	return t
}

// uploadHeaders are the headers of a CDN upload or multipart create.
func uploadHeaders(u *uploadConfig) http.Header {
	h := storageLifecycleHeaders(u)
	if u.fileName != "" {
		h.Set("X-Fal-File-Name", u.fileName)
	}
	return h
}

// storageLifecycleHeaders carry the lifecycle of an upload, under both the
// CDN's name and the REST storage's, as the Python client sends them.
func storageLifecycleHeaders(u *uploadConfig) http.Header {
	h := http.Header{}
	if lc := u.lifecycle(); lc != "" {
		h.Set("X-Fal-Object-Lifecycle", lc)
		h.Set("X-Fal-Object-Lifecycle-Preference", lc)
	}
	return h
}

// single uploads content in one request: to the CDN, else through the
// REST storage's signed URL.
func (c *Client) single(ctx context.Context, cfg *config, ct string, body func() io.Reader, size int64) (string, error) {
	url, err := c.singleCDN(ctx, cfg, ct, body, size)
	if err == nil || ctx.Err() != nil {
		return url, err
	}
	var me *MissingCredentialsError
	if errors.As(err, &me) {
		return "", err
	}
	if cfg.logger != nil {
		cfg.logger.Debug("fal: CDN upload failed; falling back to REST storage", "error", err.Error())
	}
	url, ferr := c.signedUpload(ctx, cfg, ct, body, size)
	if ferr != nil {
		return "", fmt.Errorf("fal: upload failed on the CDN (%v) and through REST storage: %w", err, ferr)
	}
	return url, nil
}

func (c *Client) singleCDN(ctx context.Context, cfg *config, ct string, body func() io.Reader, size int64) (string, error) {
	for renewed := false; ; renewed = true {
		tok, err := c.cdnToken(ctx, cfg)
		if err != nil {
			return "", err
		}
		resp, err := c.do(ctx, transferConfig(cfg), &apiRequest{
			op: "upload", method: http.MethodPost, url: join(cfg.hosts.cdn, "files/upload"),
			bodyFrom: body, size: size, contentType: ct, header: uploadHeaders(&cfg.upload),
			auth: tok.header, class: idempotent,
		})
		var he *HTTPError
		if !renewed && errors.As(err, &he) && (he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden) {
			c.dropCDNToken(tok) // revoked or expired early: fetch a new one once
			continue
		}
		if err != nil {
			return "", err
		}
		return accessURL(resp.body, "access_url")
	}
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

func accessURL(body []byte, field string) (string, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return "", fmt.Errorf("fal: upload: the answer is not JSON: %s", clip(string(body), 200))
	}
	s, _ := m[field].(string)
	if s == "" {
		return "", fmt.Errorf("fal: upload: the answer has no %s: %s", field, clip(string(body), 200))
	}
	return s, nil
}

// signedUpload is fal's REST storage flow: initiate, then PUT the bytes to
// the signed URL without any credentials.
func (c *Client) signedUpload(ctx context.Context, cfg *config, ct string, body func() io.Reader, size int64) (string, error) {
	name := cfg.upload.fileName
	if name == "" {
		name = "upload" + extensionFor(ct)
	}
	in, _ := json.Marshal(map[string]string{"file_name": name, "content_type": ct})
	h := storageLifecycleHeaders(&cfg.upload)
	resp, err := c.do(ctx, cfg, &apiRequest{
		op: "upload: storage initiate", method: http.MethodPost,
		url: join(cfg.hosts.rest, "storage/upload/initiate") + "?storage_type=gcs", body: in, header: h, class: idempotent,
	})
	if err != nil {
		return "", err
	}
	var ib struct {
		UploadURL string `json:"upload_url"`
		FileURL   string `json:"file_url"`
	}
	if err := json.Unmarshal(resp.body, &ib); err != nil || ib.UploadURL == "" || ib.FileURL == "" {
		return "", fmt.Errorf("fal: upload: storage initiate answered without upload_url and file_url: %s", clip(string(resp.body), 200))
	}
	if err := checkTransferURL(cfg, ib.UploadURL); err != nil {
		return "", err
	}
	if _, err := c.do(ctx, transferConfig(cfg), &apiRequest{
		op: "upload: signed PUT", method: http.MethodPut, url: ib.UploadURL,
		bodyFrom: body, size: size, contentType: ct, auth: noAuth, class: idempotent,
	}); err != nil {
		return "", err
	}
	return ib.FileURL, nil
}

// checkTransferURL refuses server-supplied upload URLs that are not http(s),
// or are plain http to a host that is not loopback nor one of the client's.
func checkTransferURL(cfg *config, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("fal: upload: the server returned an unusable upload URL %q", redactURL(raw))
	}
	if u.Scheme == "http" && !cfg.hosts.owns(u) && !isLoopback(u.Hostname()) {
		return fmt.Errorf("fal: upload: refusing to send data over plain http to %s", u.Host)
	}
	return nil
}

// streamParts hands out the parts of a plain reader, in order.
type streamParts struct {
	mu    sync.Mutex
	r     io.Reader
	first []byte
	size  int64
	next  int
	done  bool
}

// read returns the next part number and its bytes (in buf), or ok false at
// the end.
func (s *streamParts) read(buf []byte) (n int, data []byte, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return 0, nil, false, nil
	}
	s.next++
	if s.next == 1 {
		return 1, s.first, true, nil
	}
	m, err := io.ReadFull(s.r, buf[:s.size])
	switch {
	case err == io.EOF:
		s.done = true
		return 0, nil, false, nil
	case err == io.ErrUnexpectedEOF:
		s.done = true
	case err != nil:
		return 0, nil, false, fmt.Errorf("fal: upload: reading the content: %w", err)
	}
	return s.next, buf[:m], true, nil
}

type partETag struct {
	PartNumber int    `json:"partNumber"`
	ETag       string `json:"etag"`
}

// multipart uploads content in parts to the CDN: create, parts in
// parallel (each retried), complete with the parts sorted.
func (c *Client) multipart(ctx context.Context, cfg *config, ct string, src sized, stream *streamParts) (string, error) {
	tok, err := c.cdnToken(ctx, cfg)
	if err != nil {
		return "", err
	}
	u := &cfg.upload
	hdr := uploadHeaders(u)
	if u.fileName == "" {
		hdr.Set("X-Fal-File-Name", "upload"+extensionFor(ct))
	}
	resp, err := c.do(ctx, cfg, &apiRequest{
		op: "upload: multipart create", method: http.MethodPost, url: join(tok.baseURL, "files/upload/multipart"),
		header: hdr, contentType: ct, bodyFrom: func() io.Reader { return http.NoBody }, auth: tok.header, class: idempotent,
	})
	if err != nil {
		return "", err
	}
	var mb struct {
		AccessURL string `json:"access_url"`
		UploadID  string `json:"uploadId"`
	}
	if err := json.Unmarshal(resp.body, &mb); err != nil || mb.AccessURL == "" || mb.UploadID == "" {
		return "", fmt.Errorf("fal: upload: multipart create answered without access_url and uploadId: %s", clip(string(resp.body), 200))
	}
	au, err := url.Parse(mb.AccessURL)
	if err != nil || !strings.EqualFold(au.Host, cfg.hosts.cdn.Host) || au.Scheme != cfg.hosts.cdn.Scheme {
		return "", fmt.Errorf("fal: upload: multipart access URL %q is not on the CDN host %s; refusing to send the CDN token there", redactURL(mb.AccessURL), cfg.hosts.cdn.Host)
	}
	partURL := strings.TrimRight(mb.AccessURL, "/") + "/multipart/" + url.PathEscape(mb.UploadID)

	tcfg := transferConfig(cfg)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		parts []partETag
		first error
		wg    sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
			cancel()
		}
		mu.Unlock()
	}
	send := func(n int, body func() io.Reader, size int64) {
		res, err := c.do(ctx, tcfg, &apiRequest{
			op: fmt.Sprintf("upload: part %d", n), method: http.MethodPut, url: fmt.Sprintf("%s/%d", partURL, n),
			bodyFrom: body, size: size, contentType: ct, auth: tok.header, class: idempotent,
			header: http.Header{"Accept-Encoding": {"identity"}},
		})
		if err != nil {
			fail(err)
			return
		}
		etag := res.header.Get("ETag")
		if etag == "" {
			var pe partETag
			if json.Unmarshal(res.body, &pe) == nil {
				etag = pe.ETag
			}
		}
		if etag == "" {
			fail(fmt.Errorf("fal: upload: part %d was accepted without an ETag", n))
			return
		}
		mu.Lock()
		parts = append(parts, partETag{n, etag})
		mu.Unlock()
	}
	workers := u.concurrency()
	partSize := u.partBytes()
	if stream == nil {
		next := make(chan int)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range next {
					off := int64(n-1) * partSize
					size := min(partSize, src.size-off)
					send(n, func() io.Reader { return src.section(off, size) }, size)
				}
			}()
		}
		total := int((src.size + partSize - 1) / partSize)
	feed:
		for n := 1; n <= total; n++ {
			select {
			case next <- n:
			case <-ctx.Done():
				break feed
			}
		}
		close(next)
	} else {
		// Each worker owns one part buffer: memory is workers × part size.
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, partSize)
				for ctx.Err() == nil {
					n, data, ok, err := stream.read(buf)
					if err != nil {
						fail(err)
						return
					}
					if !ok {
						return
					}
					send(n, func() io.Reader { return bytes.NewReader(data) }, int64(len(data)))
				}
			}()
		}
	}
	wg.Wait()
	if first != nil {
		return "", first
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("fal: upload: %w", err)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].PartNumber < parts[j].PartNumber })
	body, _ := json.Marshal(map[string]any{"parts": parts})
	if _, err := c.do(ctx, cfg, &apiRequest{
		op: "upload: multipart complete", method: http.MethodPost, url: partURL + "/complete",
		body: body, auth: tok.header, class: idempotent,
	}); err != nil {
		return "", err
	}
	return mb.AccessURL, nil
}

// lifecycleHeader carries the call's storage settings to an app, so the
// files it generates follow them (X-Fal-Object-Lifecycle-Preference).
func lifecycleHeader(cfg *config) http.Header {
	lc := cfg.upload.lifecycle()
	if lc == "" {
		return nil
	}
	return http.Header{"X-Fal-Object-Lifecycle-Preference": {lc}}
}

// UploadImage encodes img in format ("png", "jpeg" or "gif") and uploads
// it (see Upload).
func (c *Client) UploadImage(ctx context.Context, img image.Image, format string, opts ...RequestOption) (string, error) {
	data, ct, err := encodeImage(img, format)
	if err != nil {
		return "", err
	}
	cfg, err := c.callConfig(opts)
	if err != nil {
		return "", err
	}
	cfg = cfg.clone()
	if cfg.upload.contentType == "" {
		cfg.upload.contentType = ct
	}
	if cfg.upload.fileName == "" {
		cfg.upload.fileName = "image" + extensionFor(ct)
	}
	return c.upload(ctx, cfg, bytes.NewReader(data))
}
