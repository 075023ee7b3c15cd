package fal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// Multipart uploads to the v3 CDN: create, the parts in parallel (each
// retried on its own), then complete with the parts in order.

// partSource hands out the parts of an upload to concurrent workers.
type partSource interface {
	// next returns the next part: its number (from 1), a function that
	// opens its body for each attempt, and its size; ok is false at the
	// end. buf is the calling worker's own buffer, of bufSize bytes.
	next(buf []byte) (n int, body func() io.Reader, size int64, ok bool, err error)
	// bufSize is the buffer each worker needs (0 for none).
	bufSize() int64
}

// sizedParts are the parts of content of known size, read in place.
type sizedParts struct {
	src      sized
	partSize int64
	mu       sync.Mutex
	n        int
}

func partsOfSized(s sized, partSize int64) *sizedParts {
	return &sizedParts{src: s, partSize: partSize}
}

func (p *sizedParts) bufSize() int64 { return 0 }

func (p *sizedParts) next([]byte) (int, func() io.Reader, int64, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	off := int64(p.n) * p.partSize
	if off >= p.src.size {
		return 0, nil, 0, false, nil
	}
	p.n++
	size := min(p.partSize, p.src.size-off)
	return p.n, func() io.Reader { return p.src.section(off, size) }, size, true, nil
}

// streamParts are the parts of a plain reader, read in order into each
// worker's buffer: memory is workers × part size.
type streamParts struct {
	mu    sync.Mutex
	r     io.Reader
	first []byte
	size  int64
	n     int
	done  bool
}

func (s *streamParts) bufSize() int64 { return s.size }

func (s *streamParts) next(buf []byte) (int, func() io.Reader, int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return 0, nil, 0, false, nil
	}
	s.n++
	data := s.first
	if s.n > 1 {
		m, err := io.ReadFull(s.r, buf[:s.size])
		switch {
		case err == io.EOF:
			s.done = true
			return 0, nil, 0, false, nil
		case err == io.ErrUnexpectedEOF:
			s.done = true
		case err != nil:
			return 0, nil, 0, false, falerr.Wrap(err, "upload: reading the content")
		}
		data = buf[:m]
	}
	return s.n, func() io.Reader { return bytes.NewReader(data) }, int64(len(data)), true, nil
}

type partETag struct {
	PartNumber int    `json:"partNumber"`
	ETag       string `json:"etag"`
}

// multipart uploads the parts of src to the CDN.
func (c *Client) multipart(ctx context.Context, cl *call, u *uploadSettings, ct string, src partSource) (string, error) {
	tok, err := c.cdnToken(ctx, cl)
	if err != nil {
		return "", err
	}
	hdr := uploadHeaders(u)
	if u.fileName == "" {
		hdr.Set("X-Fal-File-Name", "upload"+extensionFor(ct))
	}
	resp, err := cl.eng.Do(ctx, &engine.Request{
		Op: "upload: multipart create", Method: http.MethodPost, URL: engine.Join(tok.baseURL, "files/upload/multipart"),
		Header: hdr, ContentType: ct, BodyFrom: func() io.Reader { return http.NoBody }, Auth: tok.header, Class: retry.Idempotent,
	})
	if err != nil {
		return "", err
	}
	var mb struct {
		AccessURL string `json:"access_url"`
		UploadID  string `json:"uploadId"`
	}
	if err := json.Unmarshal(resp.Body, &mb); err != nil || mb.AccessURL == "" || mb.UploadID == "" {
		return "", falerr.New("upload: multipart create answered without access_url and uploadId: %s", resp.Quote(200))
	}
	cdn := cl.eng.Hosts.CDN
	if au, err := url.Parse(mb.AccessURL); err != nil || !strings.EqualFold(au.Host, cdn.Host) || au.Scheme != cdn.Scheme {
		return "", falerr.New("upload: multipart access URL %q is not on the CDN host %s; refusing to send the CDN token there", engine.RedactURL(mb.AccessURL), cdn.Host)
	}
	partURL := strings.TrimRight(mb.AccessURL, "/") + "/multipart/" + url.PathEscape(mb.UploadID)
	parts, err := sendParts(ctx, u.concurrency(), src, func(ctx context.Context, n int, body func() io.Reader, size int64) (string, error) {
		return sendPart(ctx, cl, tok, partURL, ct, n, body, size)
	})
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(map[string]any{"parts": parts})
	if _, err := cl.eng.Do(ctx, &engine.Request{
		Op: "upload: multipart complete", Method: http.MethodPost, URL: partURL + "/complete",
		Body: body, Auth: tok.header, Class: retry.Idempotent,
	}); err != nil {
		return "", err
	}
	return mb.AccessURL, nil
}

// sendParts runs workers that take parts from src and send them, and
// returns the ETags sorted by part number. The first failure stops the
// others.
func sendParts(ctx context.Context, workers int, src partSource, send func(context.Context, int, func() io.Reader, int64) (string, error)) ([]partETag, error) {
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
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, src.bufSize())
			for ctx.Err() == nil {
				n, body, size, ok, err := src.next(buf)
				if err != nil {
					fail(err)
					return
				}
				if !ok {
					return
				}
				etag, err := send(ctx, n, body, size)
				if err != nil {
					fail(err)
					return
				}
				mu.Lock()
				parts = append(parts, partETag{n, etag})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, falerr.Wrap(err, "upload")
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].PartNumber < parts[j].PartNumber })
	return parts, nil
}

// sendPart PUTs one part and returns its ETag.
func sendPart(ctx context.Context, cl *call, tok *cdnToken, partURL, ct string, n int, body func() io.Reader, size int64) (string, error) {
	res, err := cl.eng.Do(ctx, &engine.Request{
		Op: fmt.Sprintf("upload: part %d", n), Method: http.MethodPut, URL: fmt.Sprintf("%s/%d", partURL, n),
		BodyFrom: body, Size: size, ContentType: ct, Auth: tok.header, Class: retry.Idempotent, NoTimeout: true,
		Header: http.Header{"Accept-Encoding": {"identity"}},
	})
	if err != nil {
		return "", err
	}
	etag := res.Header.Get("ETag")
	if etag == "" {
		var pe partETag
		if json.Unmarshal(res.Body, &pe) == nil {
			etag = pe.ETag
		}
	}
	if etag == "" {
		return "", falerr.New("upload: part %d was accepted without an ETag", n)
	}
	return etag, nil
}
