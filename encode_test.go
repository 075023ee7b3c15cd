package fal_test

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falgo/fal"
)

func TestEncode(t *testing.T) {
	t.Parallel()
	if got := fal.Encode([]byte("hé"), "text/plain"); got != "data:text/plain;base64,aMOp" {
		t.Errorf("Encode = %q, want the Python client's form", got)
	}
	if got := fal.Encode([]byte("<html></html>"), ""); !strings.HasPrefix(got, "data:text/html; charset=utf-8;base64,") {
		t.Errorf("sniffed: %q", got)
	}
	p := filepath.Join(t.TempDir(), "a.json")
	if err := os.WriteFile(p, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := fal.EncodeFile(p); err != nil || got != "data:application/json;base64,e30=" {
		t.Errorf("EncodeFile = %q, %v", got, err)
	}
	_, err := fal.EncodeFile(filepath.Join(t.TempDir(), "missing.png"))
	checkErrorText(t, "EncodeFile of a missing file", err)
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	for format, prefix := range map[string]string{"png": "data:image/png;base64,", "jpeg": "data:image/jpeg;base64,", "gif": "data:image/gif;base64,"} {
		if got, err := fal.EncodeImage(img, format); err != nil || !strings.HasPrefix(got, prefix) {
			t.Errorf("EncodeImage(%s) = %.40q, %v", format, got, err)
		}
	}
	_, err = fal.EncodeImage(img, "bmp")
	checkErrorText(t, "EncodeImage bmp", err)
	_, err = fal.EncodeImage(nil, "png")
	checkErrorText(t, "EncodeImage nil", err)
}
