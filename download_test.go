package fal_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/falgo/fal"
)

func TestDownloadDataURIAndErrors(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := (fal.File{URL: fal.Encode([]byte("hé"), "text/plain")}).Download(context.Background(), &buf); err != nil || buf.String() != "hé" {
		t.Fatalf("data URI: %v %q", err, buf.String())
	}
	if fal.Encode([]byte("hé"), "text/plain") != "data:text/plain;base64,aMOp" {
		t.Fatal("Encode differs from the Python client's")
	}
	var withAuth atomic.Int32
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			withAuth.Add(1)
		}
		http.Error(w, "gone", http.StatusNotFound)
	})
	// The package-level File.Download, and a client's Download of a file
	// on the client's own CDN host: no credentials either way.
	err := (fal.File{URL: srv.URL + "/x.png"}).Download(context.Background(), io.Discard)
	if he := asHTTPError(t, err); he.StatusCode != 404 {
		t.Fatalf("err %v", err)
	}
	err = srv.client(t).Download(bg(t), fal.File{URL: srv.URL + "/cdn/x.png"}, io.Discard)
	if he := asHTTPError(t, err); he.StatusCode != 404 {
		t.Fatalf("err %v", err)
	}
	checkErrorText(t, "download 404", err)
	if n := withAuth.Load(); n != 0 {
		t.Fatalf("%d downloads sent credentials", n)
	}
	for _, u := range []string{"ftp://x/y", "x.png", "data:text/plain", ""} {
		err := srv.client(t).Download(bg(t), fal.File{URL: u}, io.Discard)
		if err == nil {
			t.Errorf("%q accepted", u)
		}
		checkErrorText(t, "bad URL "+u, err)
	}
}

// TestDownloadsUseTheClientsHTTPClient: Download and DownloadTo go through
// the http.Client given with WithHTTPClient, redirect hops included.
func TestDownloadsUseTheClientsHTTPClient(t *testing.T) {
	t.Parallel()
	srv, c0, _ := newLocal(t, nil)
	u, err := c0.Upload(bg(t), strings.NewReader("file content"), fal.WithContentType("text/plain"))
	if err != nil {
		t.Fatal(err)
	}
	moved := newScripted(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, u, http.StatusFound) })
	rt := &recordingTransport{}
	c := srv.Client(fal.WithHTTPClient(&http.Client{Transport: rt}))
	ctx := bg(t)

	var out bytes.Buffer
	if err := c.Download(ctx, fal.File{URL: moved.URL + "/file.txt"}, &out); err != nil || out.String() != "file content" {
		t.Fatalf("Download: %v %q", err, out.String())
	}
	path := filepath.Join(t.TempDir(), "out.txt")
	if err := c.DownloadTo(ctx, fal.File{URL: u}, path); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "file content" {
		t.Fatalf("DownloadTo wrote %q, %v", b, err)
	}
	var got []string
	for _, r := range rt.requests() {
		got = append(got, r.Method+" "+r.URL)
		if r.Authorization != "" {
			t.Errorf("%s %s carried credentials", r.Method, r.URL)
		}
	}
	want := []string{"GET " + moved.URL + "/file.txt", "GET " + u, "GET " + u}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the client's transport saw:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A failed DownloadTo leaves no file behind.
	bad := filepath.Join(t.TempDir(), "bad.txt")
	err = c.DownloadTo(ctx, fal.File{URL: srv.URL + "/cdn/files/no-such-file"}, bad)
	if err == nil {
		t.Fatal("downloading a missing file succeeded")
	}
	if _, serr := os.Stat(bad); !errors.Is(serr, os.ErrNotExist) {
		t.Fatalf("a failed DownloadTo left %s (%v)", bad, serr)
	}
}
