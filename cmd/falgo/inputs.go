package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/internal/engine"
	"github.com/spf13/cobra"
)

// inputFlags are the flags that build an app's input: -i/--set and --input.
type inputFlags struct {
	sets []string // -i key=value, in order
	file string   // --input: a JSON file, or "-" for stdin
}

// addInputFlags registers -i/--set and --input on a command.
func addInputFlags(cmd *cobra.Command, f *inputFlags) {
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.sets, "set", "i", nil, "set an input field: `key=value` (JSON, else text); dotted keys nest; key=@path uploads a file")
	fl.StringVar(&f.file, "input", "", "read the input from the JSON object in `FILE` (\"-\" for stdin)")
}

// inputHelp documents the input flags; commands that take an input include
// it in their long help.
const inputHelp = `Input:
  -i key=value    sets one input field. The value is parsed as JSON when it
                  is valid JSON (-i num_images=2, -i sync_mode=true,
                  -i 'image_size={"width":512,"height":512}'), else taken as
                  a string (-i prompt="a lighthouse at dusk"); a value that
                  starts with {, [ or " must be valid JSON (exit 2, naming
                  the character where it breaks). Quote a JSON
                  string to keep a value that looks like JSON a string
                  (-i 'seed="42"'). Dotted keys build nested objects
                  (-i image_size.width=512). key=@path uploads the file at
                  path to fal storage and passes its URL (-i image_url=@cat.png).
                  Later -i flags override earlier ones.
  --input FILE    reads the input from a JSON object in FILE ("-" for stdin);
                  -i flags are applied on top of it.`

// errNoEquals and friends are the -i syntax errors.
var (
	errNoEquals  = errors.New(`expected key=value, e.g. -i prompt="a cat"`)
	errEmptyKey  = errors.New("the key before '=' is empty")
	errEmptyPart = errors.New("the dotted key has an empty part (no leading, trailing or doubled dots)")
	errEmptyPath = errors.New("nothing after '@': give the path of the file to upload, e.g. image_url=@cat.png")
)

// fileValue turns the path of a key=@path assignment into the input value
// that stands for the file (for falgo, a *fal.InputFile uploaded before the
// request).
type fileValue func(path string) (any, error)

// parseAssignments applies -i assignments, in order, on top of base (which
// may be nil) and returns the resulting input object. Objects are
// map[string]any; leaf values are json.RawMessage, or whatever file returns
// for key=@path. base is modified.
func parseAssignments(base map[string]any, sets []string, file fileValue) (map[string]any, error) {
	if base == nil {
		base = map[string]any{}
	}
	for _, s := range sets {
		if err := assign(base, s, file); err != nil {
			return nil, fmt.Errorf("-i %s: %w", quoteArg(s), err)
		}
	}
	return base, nil
}

// assign applies one key=value assignment to obj.
func assign(obj map[string]any, s string, file fileValue) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8 text")
	}
	key, raw, ok := strings.Cut(s, "=")
	if !ok {
		return errNoEquals
	}
	if key == "" {
		return errEmptyKey
	}
	path := strings.Split(key, ".")
	for _, p := range path {
		if p == "" {
			return errEmptyPart
		}
	}
	value, err := parseValue(raw, file)
	if err != nil {
		return err
	}
	cur := obj
	for i, p := range path[:len(path)-1] {
		next, err := child(cur, p)
		if err != nil {
			return fmt.Errorf("cannot set %s: %s %w", key, strings.Join(path[:i+1], "."), err)
		}
		cur = next
	}
	cur[path[len(path)-1]] = value
	return nil
}

// parseValue reads the right-hand side of an assignment: a file to upload
// (@path), a JSON value, or else a string.
func parseValue(raw string, file fileValue) (any, error) {
	if p, ok := strings.CutPrefix(raw, "@"); ok {
		if p == "" {
			return nil, errEmptyPath
		}
		if file == nil {
			return nil, errors.New("file uploads (@path) are not supported here")
		}
		return file(p)
	}
	b := []byte(raw)
	if json.Valid(b) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err == nil {
			return json.RawMessage(buf.Bytes()), nil
		}
	}
	if looksLikeJSON(raw) {
		// Sent as text, a broken object would only be refused by the app
		// (or, worse, accepted as a prompt).
		return nil, fmt.Errorf("the value starts like JSON but is not valid JSON: %s; fix it, or to send it as text quote it as a JSON string (-i 'key=\"...\"')", jsonErrorAt(b))
	}
	enc, err := marshalString(raw)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(enc), nil
}

// looksLikeJSON reports a value meant as JSON: an object, an array or a
// quoted string.
func looksLikeJSON(raw string) bool {
	return raw != "" && strings.ContainsRune("{[\"", rune(raw[0]))
}

// jsonErrorAt says where data stops being valid JSON: the character
// position (counted from 1) and why.
func jsonErrorAt(data []byte) string {
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se) && se.Error() == "unexpected end of JSON input":
		return fmt.Sprintf("it ends after character %d before the JSON value is complete", utf8.RuneCount(data))
	case errors.As(err, &se):
		return fmt.Sprintf("at character %d: %v", utf8.RuneCount(data[:min(int(se.Offset), len(data))]), se)
	case err != nil:
		return err.Error()
	}
	return "it holds more than one JSON value"
}

// marshalString encodes s as a JSON string without HTML escaping, so that
// "<" and "&" in a prompt reach the app as typed.
func marshalString(s string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// child returns the object stored under key in obj, creating it when
// absent. A JSON object set earlier (-i a='{"x":1}') is opened so that
// later dotted keys merge into it; any other value is an error ("is
// already set to ..."), since silently replacing it would lose data.
func child(obj map[string]any, key string) (map[string]any, error) {
	switch v := obj[key].(type) {
	case nil:
		m := map[string]any{}
		obj[key] = m
		return m, nil
	case map[string]any:
		return v, nil
	case json.RawMessage:
		var fields map[string]json.RawMessage
		if len(v) > 0 && v[0] == '{' && json.Unmarshal(v, &fields) == nil {
			m := make(map[string]any, len(fields))
			for k, f := range fields {
				m[k] = f
			}
			obj[key] = m
			return m, nil
		}
		return nil, fmt.Errorf("is already set to %s, which is not an object", engine.Clip(string(v), 40))
	default:
		return nil, fmt.Errorf("is already set to a file, which is not an object")
	}
}

// maxInputBytes bounds --input files and stdin: fal inputs are small (files
// travel as URLs), so anything bigger is a mistake, such as an image passed
// where JSON was expected.
const maxInputBytes = 64 << 20

// readInputObject reads the JSON object of --input from path ("-" is stdin).
func readInputObject(path string, stdin io.Reader) (map[string]any, error) {
	var (
		data []byte
		err  error
		name = path
	)
	if path == "-" {
		name = "standard input"
		data, err = io.ReadAll(io.LimitReader(stdin, maxInputBytes+1))
	} else {
		var f *os.File
		f, err = os.Open(path)
		if err == nil {
			data, err = io.ReadAll(io.LimitReader(f, maxInputBytes+1))
			f.Close()
		}
	}
	if err != nil {
		return nil, usageErrorf("--input: %v", err)
	}
	if len(data) > maxInputBytes {
		return nil, usageErrorf("--input: %s is larger than %d MiB; an app input is a small JSON object (pass files with -i key=@path)", name, maxInputBytes>>20)
	}
	return decodeInputObject(data, "--input: "+name)
}

// decodeInputObject decodes a JSON object into the form parseAssignments
// extends: a map of raw JSON values (numbers keep their exact digits).
func decodeInputObject(data []byte, what string) (map[string]any, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, usageErrorf("%s is empty; it must hold a JSON object such as {\"prompt\": \"a cat\"}", what)
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		if data[0] != '{' {
			return nil, usageErrorf("%s must hold a JSON object such as {\"prompt\": \"a cat\"}, not %s", what, engine.Clip(string(data), 40))
		}
		return nil, usageErrorf("%s is not valid JSON: %s", what, jsonErrorAt(data))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, usageErrorf("%s holds more than one JSON value; it must hold exactly one object (for many inputs, see falgo batch)", what)
	}
	m := make(map[string]any, len(fields))
	for k, v := range fields {
		m[k] = v
	}
	return m, nil
}

// buildInput builds a command's input from its input flags: the --input
// object, then the -i assignments, with key=@path values as files that the
// client uploads before the request.
func buildInput(f inputFlags, con *console) (map[string]any, error) {
	var base map[string]any
	if f.file != "" {
		if _, tty := terminalFD(con.stdin); tty && f.file == "-" {
			con.errorf("falgo: reading the input JSON from the terminal; end it with Ctrl-D")
		}
		var err error
		if base, err = readInputObject(f.file, con.stdin); err != nil {
			return nil, err
		}
	}
	in, err := parseAssignments(base, f.sets, localFile)
	if err != nil {
		return nil, &usageError{err: err}
	}
	return in, nil
}

// localFile is the fileValue of the CLI: the file must exist and be a
// regular file now, so a typo fails before anything is sent.
func localFile(path string) (any, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("file %s does not exist", path)
		}
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return &fileInput{path: path}, nil
}

// fileInput is a key=@path value: a local file that uploadInputs replaces
// by its URL before the input is sent.
//
// falgo uploads these itself, with Client.UploadFile, rather than passing
// fal.LocalFile values for the client to upload inside Submit: that way an
// upload can be interrupted with Ctrl-C, while the submit that follows is
// not (see submitSafely).
type fileInput struct{ path string }

// MarshalJSON fails: a fileInput must be uploaded before it is encoded.
func (f *fileInput) MarshalJSON() ([]byte, error) {
	return nil, fmt.Errorf("internal error: %s was not uploaded", f.path)
}

// uploadInputs uploads every file of in (key=@path values), one after the
// other, and puts each file's URL in its place.
func uploadInputs(ctx context.Context, cl *fal.Client, in map[string]any) error {
	for k, v := range in {
		switch t := v.(type) {
		case map[string]any:
			if err := uploadInputs(ctx, cl, t); err != nil {
				return err
			}
		case *fileInput:
			u, err := cl.UploadFile(ctx, t.path)
			if err != nil {
				return fmt.Errorf("uploading %s: %w", t.path, err)
			}
			enc, err := marshalString(u)
			if err != nil {
				return err
			}
			in[k] = json.RawMessage(enc)
		}
	}
	return nil
}

// hasFiles reports whether an input built from flags holds a file to
// upload.
func hasFiles(in map[string]any) bool {
	for _, v := range in {
		switch t := v.(type) {
		case map[string]any:
			if hasFiles(t) {
				return true
			}
		case *fileInput:
			return true
		}
	}
	return false
}

// quoteArg shows a command-line argument in an error: as is when it is
// plain, quoted otherwise.
func quoteArg(s string) string {
	s = engine.Clip(s, 80)
	if s != "" && !strings.ContainsAny(s, " \t\r\n\"'\\") && utf8.ValidString(s) {
		return s
	}
	return fmt.Sprintf("%q", s)
}
