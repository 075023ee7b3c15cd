package fal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// InputFile is a file in an app's input that falgo uploads before the
// request and replaces by its URL. Make one with LocalFile, FileBytes or
// FileReader and put it anywhere in the input: a map value, a slice
// element, or a struct field of type *InputFile.
//
// Run, Submit, Subscribe and Stream upload all the files of an input
// concurrently (with the call's storage options, such as WithExpiration),
// then send the input with each file's URL in its place. A file is uploaded
// once: reusing the same *InputFile in later calls reuses its URL.
// WithoutAutoUpload turns this off.
type InputFile struct {
	name string
	ct   string
	path string
	data []byte
	r    io.Reader

	mu  sync.Mutex
	url string
}

// LocalFile is the file at path, as an app input.
func LocalFile(path string) *InputFile {
	return &InputFile{path: path, name: filepath.Base(path)}
}

// FileBytes is data, stored under name, as an app input.
func FileBytes(name string, data []byte) *InputFile {
	return &InputFile{name: name, data: data}
}

// FileReader is the content of r, stored under name, as an app input. r is
// read once, when the input is first sent.
func FileReader(name string, r io.Reader) *InputFile {
	return &InputFile{name: name, r: r}
}

// WithType sets the file's content type (default: from its name, else
// sniffed) and returns f.
func (f *InputFile) WithType(contentType string) *InputFile {
	f.ct = contentType
	return f
}

// URL is the file's URL once it has been uploaded, else "".
func (f *InputFile) URL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.url
}

// String names the file.
func (f *InputFile) String() string {
	if f.path != "" {
		return "file " + f.path
	}
	return "file " + f.name
}

// MarshalJSON encodes the file as its URL. A file that was not uploaded is
// an error: automatic upload is off, or the file was encoded outside falgo.
func (f *InputFile) MarshalJSON() ([]byte, error) {
	u := f.URL()
	if u == "" {
		return nil, fmt.Errorf("%s was not uploaded (automatic upload is off: upload it with Client.Upload and pass the URL)", f)
	}
	return json.Marshal(u)
}

// ensure uploads f unless it already has a URL.
func (f *InputFile) ensure(ctx context.Context, c *Client, cfg *config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.url != "" {
		return nil
	}
	fc := cfg.clone()
	fc.upload.fileName = f.name
	fc.upload.contentType = f.ct
	var (
		u   string
		err error
	)
	switch {
	case f.path != "":
		u, err = c.uploadFile(ctx, fc, f.path)
	case f.r != nil:
		u, err = c.upload(ctx, fc, f.r)
	default:
		u, err = c.upload(ctx, fc, strings.NewReader(string(f.data)))
	}
	if err != nil {
		return fmt.Errorf("fal: uploading input %s: %w", f, err)
	}
	f.url = u
	return nil
}

var inputFileType = reflect.TypeOf((*InputFile)(nil))

// mayHoldFiles is a quick look, without reflection, at the JSON-like values
// most inputs are made of: false means input certainly holds no InputFile.
func mayHoldFiles(input any) bool {
	switch v := input.(type) {
	case nil, string, bool, float64, float32, int, int64, int32, uint, uint64, json.Number, json.RawMessage, []byte, []string, []int, []float64:
		return false
	case *InputFile:
		return true
	case map[string]any:
		for _, e := range v {
			if mayHoldFiles(e) {
				return true
			}
		}
		return false
	case []any:
		for _, e := range v {
			if mayHoldFiles(e) {
				return true
			}
		}
		return false
	case map[string]string:
		return false
	}
	return true // structs, typed maps and slices: walk them with reflection
}

// collectFiles finds the *InputFile values in v.
func collectFiles(v reflect.Value, seen map[uintptr]bool, out *[]*InputFile) {
	if !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if v.Type() == inputFileType {
			*out = append(*out, v.Interface().(*InputFile))
			return
		}
		if seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		collectFiles(v.Elem(), seen, out)
	case reflect.Interface:
		collectFiles(v.Elem(), seen, out)
	case reflect.Map:
		if v.Type().Elem().Kind() <= reflect.Complex128 || v.Type().Elem().Kind() == reflect.String {
			return
		}
		it := v.MapRange()
		for it.Next() {
			collectFiles(it.Value(), seen, out)
		}
	case reflect.Slice, reflect.Array:
		if k := v.Type().Elem().Kind(); k <= reflect.Complex128 || k == reflect.String {
			return // []byte, []int, []string: no files inside
		}
		for i := 0; i < v.Len(); i++ {
			collectFiles(v.Index(i), seen, out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				collectFiles(v.Field(i), seen, out)
			}
		}
	}
}

// maxAutoUploads bounds the concurrent uploads of one input's files.
const maxAutoUploads = 4

// uploadInputs uploads every InputFile in input, concurrently.
func (c *Client) uploadInputs(ctx context.Context, cfg *config, input any) error {
	if input == nil || cfg.upload.noAuto {
		return nil
	}
	switch input.(type) {
	case json.RawMessage, []byte, string:
		return nil
	}
	if !mayHoldFiles(input) {
		return nil
	}
	var files []*InputFile
	collectFiles(reflect.ValueOf(input), map[uintptr]bool{}, &files)
	if len(files) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, maxAutoUploads)
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			if err := f.ensure(ctx, c, cfg); err != nil {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

// prepare uploads the input's files, then encodes it as JSON.
func (c *Client) prepare(ctx context.Context, cfg *config, op string, input any) ([]byte, error) {
	if err := c.uploadInputs(ctx, cfg, input); err != nil {
		return nil, err
	}
	return encodeInput(op, input)
}

// File is a file in an app's output, as fal returns it: decode results into
// structs with File fields (or use FindFiles) and Download them.
type File struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type,omitempty"`
	FileName    string `json:"file_name,omitempty"`
	FileSize    int64  `json:"file_size,omitempty"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
}

// downloadClient fetches output files. It never sends credentials: output
// URLs point at CDNs and storage buckets, not at the API.
var downloadClient = &http.Client{Transport: newTransport()}

// Download writes the file's content to w, streaming. It sends no
// credentials. data: URIs (apps answer with them in sync mode) are decoded
// without a request.
func (f File) Download(ctx context.Context, w io.Writer) error {
	if strings.HasPrefix(f.URL, "data:") {
		data, err := decodeDataURI(f.URL)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	u, err := url.Parse(f.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("fal: Download: %q is not an http(s) or data URL", redactURL(f.URL))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return fmt.Errorf("fal: Download: %w", err)
	}
	req.Header.Set("User-Agent", DefaultUserAgent)
	res, err := downloadClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("fal: Download %s: %w", redactURL(f.URL), ctx.Err())
		}
		return fmt.Errorf("fal: Download: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		return newHTTPError(http.MethodGet, f.URL, res.StatusCode, res.Header, body, "")
	}
	if _, err := io.Copy(w, res.Body); err != nil {
		return fmt.Errorf("fal: Download %s: %w", redactURL(f.URL), err)
	}
	return nil
}

// DownloadTo saves the file at path (created or truncated).
func (f File) DownloadTo(ctx context.Context, path string) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("fal: DownloadTo: %w", err)
	}
	if err := f.Download(ctx, out); err != nil {
		out.Close()
		os.Remove(path)
		return err
	}
	return out.Close()
}

func decodeDataURI(s string) ([]byte, error) {
	meta, payload, ok := strings.Cut(strings.TrimPrefix(s, "data:"), ",")
	if !ok {
		return nil, errors.New("fal: malformed data URI: no comma")
	}
	if strings.HasSuffix(meta, ";base64") {
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return nil, fmt.Errorf("fal: malformed data URI: %w", err)
		}
		return b, nil
	}
	p, err := url.PathUnescape(payload)
	if err != nil {
		return nil, fmt.Errorf("fal: malformed data URI: %w", err)
	}
	return []byte(p), nil
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
