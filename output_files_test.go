package fal_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/falgo/fal"
)

func TestFindFiles(t *testing.T) {
	t.Parallel()
	out := json.RawMessage(`{
		"z": {"url": "https://cdn/z.txt", "file_name": "z.txt"},
		"images": [{"url": "https://cdn/a.png", "content_type": "image/png", "width": 4, "height": 3, "file_size": 99}],
		"deep": {"list": [[{"url": "https://cdn/b.wav", "content_type": "audio/wav"}]]},
		"not_a_file": {"url": "https://example.com"},
		"empty_url": {"url": "", "content_type": "image/png"}
	}`)
	var got []string
	for _, f := range fal.FindFiles(out) {
		got = append(got, fmt.Sprintf("%s %s %s %dx%d %d", f.URL, f.ContentType, f.FileName, f.Width, f.Height, f.FileSize))
	}
	want := "[https://cdn/b.wav audio/wav  0x0 0 https://cdn/a.png image/png  4x3 99 https://cdn/z.txt  z.txt 0x0 0]"
	if fmt.Sprint(got) != want {
		t.Errorf("FindFiles = %v\nwant %s (objects with a url and a content_type or file_name, keys in sorted order)", got, want)
	}
	if files := fal.FindFiles(json.RawMessage(`{"a":`)); files != nil {
		t.Errorf("invalid JSON gave %v", files)
	}
}
