package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	fal "github.com/falgo/fal"
)

// saveOutputs downloads every file in an app's output (fal.FindFiles: any
// object with a "url" and a "content_type" or "file_name", at any depth)
// into dir, creating it if needed, and reports each path on stderr. It
// returns the paths, in the order of the files in the output.
//
// Names: the file's own file_name when it is a plain name, else
// "<app>-<request id prefix>[-<i>].<ext>" (i the file's index in the
// output, from 0, when there are several) with the extension from the
// content type (else the URL). A file is never overwritten: a name that
// is taken gets "-2", "-3", ... before the extension.
func (c *cli) saveOutputs(ctx context.Context, cl *fal.Client, dir, app, requestID string, data json.RawMessage) ([]string, error) {
	if len(fal.FindFiles(data)) == 0 {
		c.con.errorf("falgo: --save: the output holds no files")
		return nil, nil
	}
	return c.saveFilesAs(ctx, cl, dir, data, func(f fal.File, i, n int) string {
		return outputName(f, app, requestID, i, n)
	})
}

// saveFiles is saveFilesAs for callers that need only the error.
func (c *cli) saveFiles(ctx context.Context, cl *fal.Client, dir string, data json.RawMessage, name func(f fal.File, i, n int) string) error {
	_, err := c.saveFilesAs(ctx, cl, dir, data, name)
	return err
}

// saveFilesAs downloads the files of an output into dir, the i-th of n
// under name(f, i, n) (made unique), and reports each path on stderr.
func (c *cli) saveFilesAs(ctx context.Context, cl *fal.Client, dir string, data json.RawMessage, name func(f fal.File, i, n int) string) ([]string, error) {
	files := fal.FindFiles(data)
	if len(files) == 0 {
		return nil, nil
	}
	if err := makeSaveDir(dir); err != nil {
		return nil, err
	}
	var paths []string
	for i, f := range files {
		out, p, err := createUnique(dir, name(f, i, len(files)))
		if err != nil {
			return paths, fmt.Errorf("--save: %w", err)
		}
		err = cl.Download(ctx, f, out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(p)
			return paths, fmt.Errorf("--save: downloading %s: %s", p, oneLine(err.Error()))
		}
		paths = append(paths, p)
		c.con.errorf("falgo: saved %s", p)
	}
	return paths, nil
}

// outputName picks the file name of the i-th of n output files.
func outputName(f fal.File, app, requestID string, i, n int) string {
	if name := plainName(f.FileName); name != "" {
		return name
	}
	stem := appSlug(app)
	if id := shortID(requestID); id != "" {
		stem += "-" + id
	}
	if n > 1 {
		// The file's own index in the output: image-0 is ...-0.
		stem += fmt.Sprintf("-%d", i)
	}
	return stem + extensionOf(f)
}

// plainName returns name if it is safe as a file name in the save
// directory, else "". The name comes from the server, so it must be one
// plain path element on every system: no directories or drive letters,
// no dot files, nothing a shell glob could take for an option (a leading
// "-"), none of Windows' reserved characters and device names, no
// trailing dot or space (which Windows drops), and nothing escapeControls
// would change (control characters, invalid UTF-8): the name is printed
// as "saved PATH" and must read as it is.
func plainName(name string) string {
	if name == "" || len(name) > 200 || name != filepath.Base(name) ||
		strings.HasPrefix(name, ".") || strings.HasPrefix(name, "-") ||
		strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") ||
		strings.ContainsAny(name, `/\:<>"|?*`) ||
		escapeControls(name, inline) != name || windowsDevice(name) {
		return ""
	}
	return name
}

// windowsDevice reports names Windows opens as a device whatever the
// extension: CON, PRN, AUX, NUL, COM1-9, LPT1-9.
func windowsDevice(name string) bool {
	stem, _, _ := strings.Cut(strings.ToUpper(name), ".")
	stem = strings.TrimRight(stem, " ")
	switch stem {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	return len(stem) == 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) && stem[3] >= '0' && stem[3] <= '9'
}

// appSlug is the last segment of an app id, for file names
// ("fal-ai/flux/schnell" gives "schnell").
func appSlug(app string) string {
	s := app[strings.LastIndexByte(app, '/')+1:]
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, s)
	if s == "" {
		return "output"
	}
	return s
}

// shortID is the first eight letters and digits of a request id.
func shortID(id string) string {
	var b strings.Builder
	for _, r := range id {
		if b.Len() == 8 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// commonExtensions maps the content types fal apps produce to the usual
// extension (mime.ExtensionsByType's first pick is sometimes odd, such as
// ".jfif" for JPEG).
var commonExtensions = map[string]string{
	"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif",
	"video/mp4": ".mp4", "video/webm": ".webm", "audio/mpeg": ".mp3", "audio/wav": ".wav",
	"audio/x-wav": ".wav", "audio/ogg": ".ogg", "audio/flac": ".flac", "model/gltf-binary": ".glb",
	"application/json": ".json", "text/plain": ".txt", "application/zip": ".zip",
}

// extensionOf picks a file extension from the content type, else from the
// URL's path, else ".bin".
func extensionOf(f fal.File) string {
	ct, _, _ := mime.ParseMediaType(f.ContentType)
	if ext, ok := commonExtensions[ct]; ok {
		return ext
	}
	if u, err := url.Parse(f.URL); err == nil && u.Scheme != "data" {
		if ext := path.Ext(u.Path); len(ext) > 1 && len(ext) <= 6 && isAlnum(ext[1:]) {
			return strings.ToLower(ext)
		}
	}
	if ct != "" {
		if exts, err := mime.ExtensionsByType(ct); err == nil && len(exts) > 0 {
			return exts[0]
		}
	}
	return ".bin"
}

func isAlnum(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// createUnique creates dir/name, or dir/stem-2.ext, dir/stem-3.ext, ... if
// it exists, without ever truncating an existing file.
func createUnique(dir, name string) (*os.File, string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for n := 1; n <= 1000; n++ {
		p := filepath.Join(dir, name)
		if n > 1 {
			p = filepath.Join(dir, fmt.Sprintf("%s-%d%s", stem, n, ext))
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return f, p, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, "", err
		}
	}
	return nil, "", fmt.Errorf("%s and 999 numbered variants already exist in %s", name, dir)
}

// checkSaveDir checks, before anything is submitted (and billed), that
// files can be saved into dir: it is a writable directory, or it can be
// created inside the nearest directory that exists. It creates nothing.
func checkSaveDir(dir string) error {
	if dir == "" {
		return nil
	}
	p := filepath.Clean(dir)
	for {
		st, err := os.Stat(p)
		switch {
		case err == nil && !st.IsDir():
			if p == filepath.Clean(dir) {
				return usageErrorf("--save %s: that is a file, not a directory", dir)
			}
			return usageErrorf("--save %s: cannot create the directory, %s is a file", dir, p)
		case err == nil:
			return checkWritable(dir, p)
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return usageErrorf("--save %s: %s", dir, fsReason(err))
		}
		parent := filepath.Dir(p)
		if parent == p {
			return usageErrorf("--save %s: no part of that path exists", dir)
		}
		p = parent
	}
}

// checkWritable checks that a file can be created in the existing
// directory p (dir as the user gave it), by creating and removing one.
func checkWritable(dir, p string) error {
	f, err := os.CreateTemp(p, ".falgo-save-check-*")
	if err != nil {
		what := "the directory " + p
		if p == filepath.Clean(dir) {
			what = "it"
		}
		return usageErrorf("--save %s: cannot write files into %s: %s", dir, what, fsReason(err))
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

// makeSaveDir creates the --save directory, with an error that names the
// file system as the culprit.
func makeSaveDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return codedErrorf(exitError, "--save %s: cannot create the directory: %s", dir, fsReason(err))
	}
	return nil
}

// fsReason is the cause of a file system error without the operation and
// path it repeats ("permission denied", "not a directory").
func fsReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return oneLine(err.Error())
}
