package main

import (
	"os"
	"path/filepath"
	"testing"

	fal "github.com/falgo/fal"
)

func TestOutputName(t *testing.T) {
	const id = "764cabcf-b745-4b3e-ae38-1200304cf45b"
	tests := []struct {
		f    fal.File
		i, n int
		want string
	}{
		{fal.File{URL: "https://v3.fal.media/files/x/Ab3_z.png", ContentType: "image/png"}, 0, 1, "schnell-764cabcf.png"},
		{fal.File{URL: "https://v3.fal.media/files/x/a.jpeg", ContentType: "image/jpeg"}, 1, 3, "schnell-764cabcf-1.jpg"},
		{fal.File{URL: "https://x/y/clip.MP4", ContentType: "application/octet-stream"}, 0, 1, "schnell-764cabcf.mp4"},
		{fal.File{URL: "https://x/y/noext", ContentType: ""}, 0, 1, "schnell-764cabcf.bin"},
		{fal.File{URL: "https://x/y/z", FileName: "speech.wav", ContentType: "audio/wav"}, 0, 1, "speech.wav"},
		{fal.File{URL: "https://x/y/z", FileName: "../../etc/passwd", ContentType: "text/plain"}, 0, 1, "schnell-764cabcf.txt"},
		{fal.File{URL: "https://x/y/z", FileName: ".bashrc", ContentType: "text/plain"}, 0, 1, "schnell-764cabcf.txt"},
		{fal.File{URL: "data:image/webp;base64,AAAA", ContentType: "image/webp"}, 0, 1, "schnell-764cabcf.webp"},
	}
	for _, tt := range tests {
		if got := outputName(tt.f, "fal-ai/flux/schnell", id, tt.i, tt.n); got != tt.want {
			t.Errorf("outputName(%+v, %d of %d) = %q, want %q", tt.f, tt.i, tt.n, got, tt.want)
		}
	}
	if got := outputName(fal.File{ContentType: "image/png"}, "x/y", "", 0, 1); got != "y.png" {
		t.Errorf("no request id: %q", got)
	}
}

func TestCreateUniqueNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.png"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a-2.png", "a-3.png"} {
		f, p, err := createUnique(dir, "a.png")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if filepath.Base(p) != want {
			t.Errorf("created %s, want %s", p, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.png")); string(b) != "keep" {
		t.Errorf("the existing file was overwritten: %q", b)
	}
}
