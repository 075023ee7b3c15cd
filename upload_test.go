package fal_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
)

func TestUploadSmall(t *testing.T) {
	t.Parallel()
	srv, c, _ := newLocal(t, nil)
	u, err := c.Upload(bg(t), strings.NewReader("Hello, world!"), fal.WithFileName("hello.txt"), fal.WithExpiration(time.Hour),
		fal.WithStorageACL("forbid", map[string]string{"u2": "hide", "u1": "allow"}))
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
	want := `{"expiration_duration_seconds":3600,"initial_acl":{"default":"forbid","rules":[{"user":"u1","decision":"allow"},{"user":"u2","decision":"hide"}]}}`
	if string(f.Lifecycle) != want {
		t.Fatalf("lifecycle %s, want %s", f.Lifecycle, want)
	}
}

func TestUploadFileAndImage(t *testing.T) {
	t.Parallel()
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

func TestUploadRefusesBadOptions(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, jsonReply(200, `{}`))
	c := srv.client(t)
	for name, o := range map[string]fal.RequestOption{
		"content type":   fal.WithContentType("png"),
		"file name":      fal.WithFileName("a/b.txt"),
		"expiration":     fal.WithExpiration(time.Millisecond),
		"acl default":    fal.WithStorageACL("deny", nil),
		"acl rule":       fal.WithStorageACL("", map[string]string{"u": ""}),
		"acl user":       fal.WithStorageACL("", map[string]string{"": "allow"}),
		"part size":      fal.WithMultipartUpload(0, 1<<20, 0),
		"negative parts": fal.WithMultipartUpload(-1, 0, 0),
	} {
		_, err := c.Upload(bg(t), strings.NewReader("x"), o)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		checkErrorText(t, name, err)
	}
	if _, err := c.Upload(bg(t), nil); err == nil {
		t.Error("a nil reader was accepted")
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests", n)
	}
}
