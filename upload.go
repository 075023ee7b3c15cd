package fal

import (
	"bytes"
	"context"
	"image"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/falgo/fal/internal/falerr"
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
	cl, err := c.newCall(callUpload, opts)
	if err != nil {
		return "", err
	}
	if r == nil {
		return "", falerr.New("Upload: the reader is nil")
	}
	return c.upload(ctx, cl, cl.s.uploads(), r)
}

// UploadFile uploads the file at path (see Upload). The content type comes
// from the extension, else from the first bytes; the name is the base name.
func (c *Client) UploadFile(ctx context.Context, path string, opts ...RequestOption) (string, error) {
	cl, err := c.newCall(callUpload, opts)
	if err != nil {
		return "", err
	}
	return c.uploadFile(ctx, cl, cl.s.uploads(), path)
}

func (c *Client) uploadFile(ctx context.Context, cl *call, u uploadSettings, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", falerr.Wrap(err, "uploading a file")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", falerr.Wrap(err, "uploading a file")
	}
	if st.IsDir() {
		return "", falerr.New("uploading a file: %s is a directory", path)
	}
	if u.fileName == "" {
		u.fileName = filepath.Base(path)
	}
	return c.upload(ctx, cl, u, f)
}

// UploadImage encodes img in format ("png", "jpeg" or "gif") and uploads
// it (see Upload).
func (c *Client) UploadImage(ctx context.Context, img image.Image, format string, opts ...RequestOption) (string, error) {
	cl, err := c.newCall(callUpload, opts)
	if err != nil {
		return "", err
	}
	data, ct, err := encodeImage(img, format)
	if err != nil {
		return "", err
	}
	u := cl.s.uploads()
	if u.contentType == "" {
		u.contentType = ct
	}
	if u.fileName == "" {
		u.fileName = "image" + extensionFor(ct)
	}
	return c.upload(ctx, cl, u, bytes.NewReader(data))
}

// Upload calls Upload on a client built from the environment on first use.
func Upload(ctx context.Context, r io.Reader, opts ...RequestOption) (string, error) {
	c, err := defaultClient()
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

// upload sends r with the upload settings u: in one request when it is
// small enough, else in parts.
func (c *Client) upload(ctx context.Context, cl *call, u uploadSettings, r io.Reader) (string, error) {
	part := u.partBytes()
	if s, ok := asSized(r); ok {
		ct, err := contentTypeOf(&u, s.section(0, min(s.size, 512)))
		if err != nil {
			return "", err
		}
		if s.size > u.thresholdBytes() {
			return c.multipart(ctx, cl, &u, ct, partsOfSized(s, part))
		}
		return c.single(ctx, cl, &u, ct, func() io.Reader { return s.section(0, s.size) }, s.size)
	}
	// A plain stream: read one part ahead to learn whether it fits.
	first := make([]byte, part)
	n, err := io.ReadFull(r, first)
	first = first[:n]
	ct, cerr := contentTypeOf(&u, bytes.NewReader(first[:min(n, 512)]))
	if cerr != nil {
		return "", cerr
	}
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return c.single(ctx, cl, &u, ct, func() io.Reader { return bytes.NewReader(first) }, int64(n))
	case err != nil:
		return "", falerr.Wrap(err, "upload: reading the content")
	}
	return c.multipart(ctx, cl, &u, ct, &streamParts{r: r, first: first, size: part})
}

// contentTypeOf picks the upload's content type: the option, the file
// name's extension, or a sniff of the first bytes.
func contentTypeOf(u *uploadSettings, head io.Reader) (string, error) {
	if u.contentType != "" {
		return u.contentType, nil
	}
	if ct := typeByName(u.fileName); ct != "" {
		return ct, nil
	}
	b, err := io.ReadAll(head)
	if err != nil {
		return "", falerr.Wrap(err, "upload: reading the content")
	}
	return http.DetectContentType(b), nil
}
