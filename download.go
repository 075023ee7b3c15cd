package fal

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// Download writes the content of f to w, streaming, through the client:
// its HTTP client (WithHTTPClient), user agent, logger, the per-attempt
// timeout (for the wait for the answer's headers) and retries (before the
// first byte arrives). It sends no credentials: output URLs point at CDNs
// and storage buckets. A data: URI (apps answer with them in sync mode) is
// decoded without a request.
func (c *Client) Download(ctx context.Context, f File, w io.Writer, opts ...RequestOption) error {
	cl, err := c.newCall(callDownload, opts)
	if err != nil {
		return err
	}
	if strings.HasPrefix(f.URL, "data:") {
		data, err := decodeDataURI(f.URL)
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return falerr.Wrap(err, "download: writing the content")
		}
		return nil
	}
	u, err := url.Parse(f.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return falerr.New("download: %q is not an http(s) or data URL", engine.RedactURL(f.URL))
	}
	op := "download " + engine.RedactURL(f.URL)
	st, err := cl.eng.Open(ctx, &engine.Request{
		Op: op, Method: http.MethodGet, URL: f.URL, Accept: "*/*", Auth: engine.NoAuth, Class: retry.Idempotent,
	}, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := io.Copy(w, st); err != nil {
		if ctx.Err() != nil {
			return falerr.Wrap(ctx.Err(), "%s", op)
		}
		return falerr.Wrap(err, "%s", op)
	}
	return nil
}

// DownloadTo saves f at path (created or truncated; removed again when
// the download fails); see Download.
func (c *Client) DownloadTo(ctx context.Context, f File, path string, opts ...RequestOption) error {
	out, err := os.Create(path)
	if err != nil {
		return falerr.Wrap(err, "download: creating the file")
	}
	if err := c.Download(ctx, f, out, opts...); err != nil {
		out.Close()
		os.Remove(path)
		return err
	}
	if err := out.Close(); err != nil {
		return falerr.Wrap(err, "download: writing %s", path)
	}
	return nil
}

// Download writes the content of f to w with a client built from the
// environment on first use; see Client.Download.
func (f File) Download(ctx context.Context, w io.Writer) error {
	c, err := defaultClient()
	if err != nil {
		return err
	}
	return c.Download(ctx, f, w)
}
