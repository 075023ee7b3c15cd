package fal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"sync"

	"github.com/falgo/fal/internal/falerr"
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

// describe names the file in messages.
func (f *InputFile) describe() string {
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
		return nil, fmt.Errorf("%s was not uploaded (automatic upload is off: upload it with Client.Upload and pass the URL)", f.describe())
	}
	return json.Marshal(u)
}

// ensure uploads f with the call's storage settings unless it already has
// a URL.
func (f *InputFile) ensure(ctx context.Context, c *Client, cl *call) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.url != "" {
		return nil
	}
	u := cl.s.uploads()
	u.fileName, u.contentType = f.name, f.ct
	var (
		url string
		err error
	)
	switch {
	case f.path != "":
		url, err = c.uploadFile(ctx, cl, u, f.path)
	case f.r != nil:
		url, err = c.upload(ctx, cl, u, f.r)
	default:
		url, err = c.upload(ctx, cl, u, bytes.NewReader(f.data))
	}
	if err != nil {
		return falerr.Wrap(err, "uploading input %s", f.describe())
	}
	f.url = url
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

// fileFreeTypes remembers, per type, whether a value of it may hold an
// *InputFile (plain structs of strings and numbers cannot: their inputs
// skip the reflection walk).
var fileFreeTypes sync.Map // reflect.Type -> bool

// typeMayHoldFiles reports whether a value of type t may hold an
// *InputFile: false only when no field, element or pointee of t, however
// deep, is an interface or an *InputFile.
func typeMayHoldFiles(t reflect.Type) bool {
	if v, ok := fileFreeTypes.Load(t); ok {
		return v.(bool)
	}
	may := typeHoldsFiles(t, map[reflect.Type]bool{})
	fileFreeTypes.Store(t, may)
	return may
}

func typeHoldsFiles(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == inputFileType {
		return true
	}
	if seen[t] {
		return false // a recursive type: its other paths decide
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return typeHoldsFiles(t.Elem(), seen)
	case reflect.Map:
		return typeHoldsFiles(t.Key(), seen) || typeHoldsFiles(t.Elem(), seen)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() && typeHoldsFiles(f.Type, seen) {
				return true
			}
		}
	}
	return false
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
func (c *Client) uploadInputs(ctx context.Context, cl *call, input any) error {
	if input == nil || cl.s.uploads().noAuto {
		return nil
	}
	switch input.(type) {
	case json.RawMessage, []byte, string:
		return nil
	}
	if !mayHoldFiles(input) || !typeMayHoldFiles(reflect.TypeOf(input)) {
		return nil
	}
	var files []*InputFile
	collectFiles(reflect.ValueOf(input), map[uintptr]bool{}, &files)
	if len(files) == 0 {
		return nil
	}
	// A variable of its own, not ctx: the goroutines capture it, and a
	// captured parameter would be moved to the heap on every call.
	uctx, cancel := context.WithCancel(ctx)
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
			case <-uctx.Done():
				errs[i] = uctx.Err()
				return
			}
			defer func() { <-sem }()
			if err := f.ensure(uctx, c, cl); err != nil {
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
