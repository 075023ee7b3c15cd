package fal

import (
	"encoding/json"
	"sort"

	"github.com/falgo/fal/internal/datauri"
	"github.com/falgo/fal/internal/falerr"
)

// File is a file in an app's output, as fal returns it: decode results into
// structs with File fields (or use FindFiles) and download them with
// Client.Download. It is a plain value.
type File struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type,omitempty"`
	FileName    string `json:"file_name,omitempty"`
	FileSize    int64  `json:"file_size,omitempty"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
}

// decodeDataURI decodes a data: URI in an output (what sync_mode returns).
func decodeDataURI(s string) ([]byte, error) {
	b, err := datauri.Decode(s)
	if err != nil {
		return nil, falerr.Wrap(err, "malformed data URI")
	}
	return b, nil
}

// FindFiles returns every file in an app's output: each JSON object with a
// string "url" field and a "content_type" or "file_name" (fal's File and
// Image shapes), at any depth (object keys in sorted order).
func FindFiles(data json.RawMessage) []File {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	var out []File
	var walk func(any)
	walk = func(x any) {
		switch t := x.(type) {
		case map[string]any:
			if u, ok := t["url"].(string); ok && u != "" {
				_, hasCT := t["content_type"]
				_, hasName := t["file_name"]
				if hasCT || hasName {
					b, _ := json.Marshal(t)
					var f File
					if json.Unmarshal(b, &f) == nil {
						out = append(out, f)
						return
					}
				}
			}
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(t[k])
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}
