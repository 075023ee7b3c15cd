package fal_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// pattern is deterministic content of n bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func fetch(t *testing.T, url string) ([]byte, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	return b, res.Header.Get("Content-Type")
}

// mp makes multipart cheap to exercise: 5 MiB parts above 6 MiB.
var mp = fal.WithMultipartUpload(6<<20, 5<<20, 3)

func TestUploadSmall(t *testing.T) {
	srv, c, _ := newLocal(t, nil)
	u, err := c.Upload(bg(t), strings.NewReader("Hello, world!"), fal.WithFileName("hello.txt"), fal.WithExpiration(time.Hour),
		fal.WithStorageACL(fal.StorageACL{Default: "forbid", Rules: []fal.StorageACLRule{{User: "u1", Decision: "allow"}}}))
	if err != nil {
		t.Fatal(err)
	}
	body, ct := fetch(t, u)
	if string(body) != "Hello, world!" || !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("got %q (%s)", body, ct)
	}
	f, ok := srv.File(u)
	if !ok || f.Via != "cdn" || f.Name != "hello.txt" {
		t.Fatalf("stored %+v", f)
	}
	want := `{"expiration_duration_seconds":3600,"initial_acl":{"default":"forbid","rules":[{"user":"u1","decision":"allow"}]}}`
	if string(f.Lifecycle) != want {
		t.Fatalf("lifecycle %s, want %s", f.Lifecycle, want)
	}
}

func TestUploadAtAndAboveThreshold(t *testing.T) {
	srv, c, _ := newLocal(t, nil)
	for _, tc := range []struct {
		size int
		via  string
	}{{6 << 20, "cdn"}, {6<<20 + 1, "cdn-multipart"}, {17 << 20, "cdn-multipart"}} {
		data := pattern(tc.size)
		u, err := c.Upload(bg(t), bytes.NewReader(data), mp, fal.WithContentType("application/octet-stream"))
		if err != nil {
			t.Fatal(err)
		}
		f, ok := srv.File(u)
		if !ok || f.Via != tc.via || !bytes.Equal(f.Data, data) {
			t.Fatalf("size %d: via %q (want %q), equal %v", tc.size, f.Via, tc.via, bytes.Equal(f.Data, data))
		}
	}
}

func TestUploadMultipartOutOfOrderAndRetriedPart(t *testing.T) {
	srv, c, _ := newLocal(t, []faltest.Option{faltest.WithFaults(1,
		faltest.FaultRule{Route: "multipart_part", Kind: faltest.Ingress503, Count: 1},
		faltest.FaultRule{Route: "multipart_part", Kind: faltest.Latency, Every: 2, Latency: 300 * time.Millisecond},
	)}, fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}))
	data := pattern(22 << 20) // 5 parts
	// A plain reader (no ReaderAt): parts are read from the stream.
	u, err := c.Upload(bg(t), io.MultiReader(bytes.NewReader(data)), mp, fal.WithFileName("big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f, ok := srv.File(u)
	if !ok || f.Via != "cdn-multipart" || !bytes.Equal(f.Data, data) {
		t.Fatalf("via %q, %d bytes, equal %v", f.Via, len(f.Data), bytes.Equal(f.Data, data))
	}
	st := srv.Stats()
	if st.Faults["multipart_part"] < 1 {
		t.Fatalf("no fault was injected: %+v", st)
	}
}

func TestUploadFallsBackToSignedURL(t *testing.T) {
	srv, c, _ := newLocal(t, []faltest.Option{faltest.WithFaults(1, faltest.FaultRule{Route: "upload", Kind: faltest.AppError500})})
	u, err := c.Upload(bg(t), strings.NewReader("fallback bytes"), fal.WithContentType("text/plain"), fal.WithExpiration(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	f, ok := srv.File(u)
	if !ok || f.Via != "signed" || string(f.Data) != "fallback bytes" {
		t.Fatalf("stored %+v", f)
	}
	if string(f.LifecyclePreference) != `{"expiration_duration_seconds":60}` {
		t.Fatalf("lifecycle preference %s", f.LifecyclePreference)
	}
	if n := srv.SignedURLAuthHeaders(); n != 0 {
		t.Fatalf("%d signed-URL requests carried an Authorization header", n)
	}
}

func TestUploadFileAndImage(t *testing.T) {
	srv, c, _ := newLocal(t, nil)
	dir := t.TempDir()
	p := filepath.Join(dir, "photo.png")
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := c.UploadFile(bg(t), p)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := srv.File(u)
	if f.ContentType != "image/png" || f.Name != "photo.png" || !bytes.Equal(f.Data, buf.Bytes()) {
		t.Fatalf("stored %s %s", f.ContentType, f.Name)
	}
	u2, err := c.UploadImage(bg(t), img, "jpeg")
	if err != nil {
		t.Fatal(err)
	}
	if f2, _ := srv.File(u2); f2.ContentType != "image/jpeg" {
		t.Fatalf("image upload type %s", f2.ContentType)
	}
	// Sniffed when there is no name.
	u3, err := c.Upload(bg(t), bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if f3, _ := srv.File(u3); f3.ContentType != "image/png" {
		t.Fatalf("sniffed type %s", f3.ContentType)
	}
	if _, err := c.UploadFile(bg(t), filepath.Join(dir, "missing.png")); err == nil || !strings.Contains(err.Error(), "missing.png") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestUploadCDNTokenCachedAndRenewed(t *testing.T) {
	srv, c, _ := newLocal(t, nil)
	for i := 0; i < 3; i++ {
		if _, err := c.Upload(bg(t), strings.NewReader("x"), fal.WithContentType("text/plain")); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Stats().Requests["cdn_token"]; n != 1 {
		t.Fatalf("%d CDN token requests for 3 uploads, want 1 (cached)", n)
	}
	srv.ExpireCDNTokens() // the server forgets them: a stale token gets 401
	u, err := c.Upload(bg(t), strings.NewReader("y"), fal.WithContentType("text/plain"))
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := srv.File(u); f.Via != "cdn" || srv.Stats().Requests["cdn_token"] != 2 {
		t.Fatalf("after the token was revoked: via %q with %d token requests; want a renewed token on the CDN", f.Via, srv.Stats().Requests["cdn_token"])
	}
}

func TestFileInputsUploadedAndOutputsDownloaded(t *testing.T) {
	var seen string
	srv, c, _ := newLocal(t, []faltest.Option{faltest.WithApp("t/describe", func(ctx context.Context, req *faltest.Request) (any, error) {
		var in struct {
			Image string   `json:"image_url"`
			Extra []string `json:"extras"`
		}
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		seen = in.Image
		data := []byte("generated output " + in.Image)
		return map[string]any{"file": map[string]any{"url": req.Upload("text/plain", "out.txt", data), "content_type": "text/plain"}, "inputs": in}, nil
	})})
	dir := t.TempDir()
	p := filepath.Join(dir, "in.png")
	content := pattern(5000)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	type input struct {
		Image  *fal.InputFile   `json:"image_url"`
		Extras []*fal.InputFile `json:"extras"`
	}
	in := input{Image: fal.LocalFile(p), Extras: []*fal.InputFile{fal.FileBytes("a.txt", []byte("aaa")), fal.FileReader("b.txt", strings.NewReader("bbb"))}}
	res, err := c.Subscribe(bg(t), "t/describe", in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(seen, srv.URL) || seen != in.Image.URL() {
		t.Fatalf("app saw %q, want the uploaded URL %q", seen, in.Image.URL())
	}
	stored, ok := srv.File(seen)
	if !ok || !bytes.Equal(stored.Data, content) {
		t.Fatal("the app's input URL does not serve the local file")
	}
	files := fal.FindFiles(res.Data)
	if len(files) != 1 {
		t.Fatalf("FindFiles: %+v in %s", files, res.Data)
	}
	var out bytes.Buffer
	if err := files[0].Download(bg(t), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "generated output "+seen {
		t.Fatalf("downloaded %q", out.String())
	}
	var decoded struct {
		Inputs struct {
			Extras []string `json:"extras"`
		} `json:"inputs"`
	}
	_ = json.Unmarshal(res.Data, &decoded)
	for i, u := range decoded.Inputs.Extras {
		b, _ := fetch(t, u)
		if want := []string{"aaa", "bbb"}[i]; string(b) != want {
			t.Fatalf("extra %d: %q", i, b)
		}
	}
	// Turned off: the request fails before anything is sent.
	_, err = c.Run(bg(t), "t/describe", map[string]any{"image_url": fal.FileBytes("x.txt", []byte("x"))}, fal.WithoutAutoUpload())
	if err == nil || !strings.Contains(err.Error(), "not uploaded") {
		t.Fatalf("WithoutAutoUpload: %v", err)
	}
}

func TestDownloadDataURIAndErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := (fal.File{URL: fal.Encode([]byte("hé"), "text/plain")}).Download(context.Background(), &buf); err != nil || buf.String() != "hé" {
		t.Fatalf("data URI: %v %q", err, buf.String())
	}
	if fal.Encode([]byte("hé"), "text/plain") != "data:text/plain;base64,aMOp" {
		t.Fatal("Encode differs from the Python client's")
	}
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("Download sent credentials")
		}
		http.Error(w, "gone", http.StatusNotFound)
	})
	err := (fal.File{URL: srv.URL + "/x.png"}).Download(context.Background(), io.Discard)
	var he *fal.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 404 {
		t.Fatalf("err %v", err)
	}
	if err := (fal.File{URL: "ftp://x/y"}).Download(context.Background(), io.Discard); err == nil {
		t.Fatal("ftp URL accepted")
	}
	_ = sha256.New
}
