package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	falgen "github.com/falgo/fal/internal/gen"
	"github.com/falgo/fal/platform"
	"github.com/spf13/cobra"
)

// genOptions holds the flags of `falgo gen`.
type genOptions struct {
	out     string
	openapi bool
	pkg     string
	id      string
	stream  bool
}

// genMaxDocument bounds one OpenAPI document read from a file (fal's are
// tens of kilobytes; its listing of many models a few megabytes).
const genMaxDocument = 64 << 20

// newGenCmd builds `falgo gen`.
func newGenCmd(c *cli) *cobra.Command {
	var o genOptions
	cmd := &cobra.Command{
		Use:   "gen (APP... | --openapi FILE...) -o DIR",
		Short: "Generate typed Go packages for fal endpoints",
		Long: `Generate a typed Go package for each endpoint: Input and Output structs with
fal's fields in fal's order and their documentation, enums as constants,
unions, file inputs that take a URL or a local file, and Run, Subscribe,
Submit (and Stream for endpoints that stream) calls on a *fal.Client.

With APP arguments, each endpoint's OpenAPI document comes from fal's
Platform API (GET /v1/models?endpoint_id=APP&expand=openapi-3.0; with
--local, from the demo server, offline). With --openapi, the arguments are
files: fal OpenAPI documents, or Platform API answers that hold them
({"models": [...]}); a directory stands for every .json file in it, "-" for
stdin.

Each package is written to DIR/<endpoint id>/endpoint.go (package schnell
for fal-ai/flux/schnell). With --package NAME there must be one endpoint,
and its package is written to DIR/endpoint.go under that name. Only files
falgo gen wrote are ever overwritten; other files in DIR are left alone.
The paths written are printed on stdout (with --json, one
{"endpoint_id", "package", "file", "warnings"} object per line); schema
parts that were not understood (generated as json.RawMessage) are warned
about on stderr.

An OpenAPI document does not say whether the endpoint streams: with APP
arguments fal's metadata says (its stream_url); for files, --stream adds
Stream.`,
		Example: `  falgo --local gen fal-ai/flux/schnell -o ./falendpoints
  falgo gen fal-ai/flux/dev fal-ai/any-llm -o ./internal/fal
  falgo gen --openapi schema.json -o ./internal/flux --package flux
  curl -s 'https://api.fal.ai/v1/models?endpoint_id=fal-ai/flux/dev&expand=openapi-3.0' | falgo gen --openapi - -o .`,
		Args:              usageArgs(cobra.MinimumNArgs(1)),
		ValidArgsFunction: completeApp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.gen(cmd.Context(), args, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "out", "o", "", "write the packages under `DIR` (required)")
	f.BoolVar(&o.openapi, "openapi", false, "the arguments are OpenAPI documents (files, directories, - for stdin), not app ids")
	f.StringVar(&o.pkg, "package", "", "package `NAME` for a single endpoint, written to DIR itself")
	f.StringVar(&o.id, "id", "", "endpoint `ID` for a single document that names none")
	f.BoolVar(&o.stream, "stream", false, "add a typed Stream call (with APP arguments: also when fal's metadata has no stream_url)")
	return cmd
}

// gen is `falgo gen`.
func (c *cli) gen(ctx context.Context, args []string, o genOptions) error {
	if o.out == "" {
		return usageErrorf("-o DIR is required: the directory to write the packages under")
	}
	if o.pkg != "" && !falgen.ValidPackageName(o.pkg) {
		return usageErrorf("--package %q is not a Go package name (lower-case letters and digits, e.g. schnell)", o.pkg)
	}
	var specs []falgen.Spec
	var err error
	if o.openapi {
		specs, err = c.genSpecsFromFiles(args, o)
	} else {
		specs, err = c.genSpecsFromApps(ctx, args, o)
	}
	if err != nil {
		return err
	}
	if (o.pkg != "" || o.id != "") && len(specs) != 1 {
		return usageErrorf("--package and --id take a single endpoint; %d were given", len(specs))
	}

	// Generate everything before writing anything.
	var files []*falgen.File
	dirs := make(map[string]string)
	for i := range specs {
		s := &specs[i]
		s.Package = o.pkg
		if o.id != "" {
			s.EndpointID = o.id
		}
		f, err := falgen.Generate(*s)
		if errors.Is(err, falgen.ErrNoEndpointID) {
			return usageErrorf("%s: %v: pass it with --id", s.Source, err)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", s.Source, err)
		}
		dir := filepath.Join(o.out, filepath.FromSlash(f.Dir))
		if o.pkg != "" {
			dir = o.out
		}
		if prev, ok := dirs[dir]; ok {
			return usageErrorf("%s and %s are both %s; give each endpoint once", prev, s.Source, f.EndpointID)
		}
		dirs[dir] = s.Source
		files = append(files, f)
	}
	for _, f := range files {
		dir := filepath.Join(o.out, filepath.FromSlash(f.Dir))
		if o.pkg != "" {
			dir = o.out
		}
		path := filepath.Join(dir, falgen.FileName)
		if err := genWrite(path, f.Code); err != nil {
			return err
		}
		for _, w := range f.Warnings {
			c.con.errorf("falgo gen: %s: warning: %s", f.EndpointID, w)
		}
		if c.g.json {
			warnings := f.Warnings
			if warnings == nil {
				warnings = []string{}
			}
			err = c.con.writeJSONLine(map[string]any{"endpoint_id": f.EndpointID, "package": f.Package, "file": path, "warnings": warnings})
		} else {
			err = c.con.printOut(path)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// genWrite writes a generated file, refusing to replace one falgo gen did
// not write.
func genWrite(path string, code []byte) error {
	old, err := os.ReadFile(path)
	switch {
	case err == nil && !falgen.IsGenerated(old):
		return fmt.Errorf("%s exists and was not written by falgo gen; move it away or choose another -o", path)
	case err == nil && bytes.Equal(old, code):
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, code, 0o644)
}

// genSpecsFromApps fetches each app's document from the Platform API.
func (c *cli) genSpecsFromApps(ctx context.Context, apps []string, o genOptions) ([]falgen.Spec, error) {
	for _, app := range apps {
		if err := checkApp(app); err != nil {
			return nil, err
		}
	}
	cl, release, err := c.newClient()
	if err != nil {
		return nil, err
	}
	defer release()
	pc, err := platform.New(cl)
	if err != nil {
		return nil, fmt.Errorf("%s (check FAL_API_HOST)", oneLine(err.Error()))
	}
	wctx, stop := c.waitContext(ctx)
	defer stop()
	source := "fal Platform API (GET /v1/models?expand=openapi-3.0)"
	if c.g.local {
		source = "falgo --local (faltest's Platform API)"
	}
	var specs []falgen.Spec
	for _, app := range apps {
		m, err := pc.Model(wctx, app, platform.ExpandOpenAPI)
		switch {
		case timedOut(wctx):
			return nil, codedErrorf(exitTimeout, "gave up fetching the schema of %s after %v (--timeout)", app, c.g.timeout)
		case errors.Is(err, platform.ErrNotFound):
			return nil, fmt.Errorf("%s is not in fal's catalogue of models, so it has no published schema; check the id, or generate from a file with --openapi", app)
		case err != nil:
			return nil, fmt.Errorf("fetching the schema of %s: %w", app, err)
		case m.OpenAPIError != nil:
			return nil, fmt.Errorf("fal has no OpenAPI document for %s: %s", app, oneLine(m.OpenAPIError.Message))
		case len(m.OpenAPI) == 0:
			return nil, fmt.Errorf("fal sent no OpenAPI document for %s", app)
		}
		stream := o.stream || (m.Metadata != nil && m.Metadata.StreamURL != "")
		specs = append(specs, falgen.Spec{Doc: m.OpenAPI, Source: source, EndpointID: app, Stream: stream})
	}
	return specs, nil
}

// genSpecsFromFiles reads the documents in files, directories and stdin.
func (c *cli) genSpecsFromFiles(args []string, o genOptions) ([]falgen.Spec, error) {
	var paths []string
	for _, a := range args {
		if a == "-" {
			paths = append(paths, a)
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		if !st.IsDir() {
			paths = append(paths, a)
			continue
		}
		matches, err := filepath.Glob(filepath.Join(a, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, usageErrorf("directory %s has no .json files", a)
		}
		sort.Strings(matches)
		paths = append(paths, matches...)
	}
	var specs []falgen.Spec
	for _, p := range paths {
		data, err := genReadFile(c, p)
		if err != nil {
			return nil, err
		}
		docs, skipped, err := falgen.ReadDocuments(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		for _, s := range skipped {
			c.con.errorf("falgo gen: %s: skipped %s", p, s)
		}
		source := filepath.ToSlash(p)
		if p == "-" {
			source = "stdin"
		}
		for _, d := range docs {
			specs = append(specs, falgen.Spec{Doc: d.Doc, Source: source, EndpointID: d.EndpointID, Stream: o.stream || d.Stream})
		}
	}
	return specs, nil
}

// genReadFile reads a document, at most genMaxDocument bytes.
func genReadFile(c *cli, path string) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = c.con.stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, genMaxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > genMaxDocument {
		return nil, fmt.Errorf("%s is larger than %d MiB; is it an OpenAPI document?", path, genMaxDocument>>20)
	}
	return data, nil
}
