package gen

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/format"
	"strings"

	"github.com/falgo/fal/internal/openapi"
)

// FileName is the name of the file Generate writes in each package
// directory. Other files there (tests, examples) are the user's.
const FileName = "endpoint.go"

// A Spec is one endpoint to generate a package for.
type Spec struct {
	// Doc is the endpoint's OpenAPI document, as fal serves it.
	Doc []byte
	// Source says where Doc came from (a file path, "fal Platform API");
	// it is written in the header. Keep it free of machine-specific
	// parts (absolute paths, ports) for output that does not change.
	Source string
	// EndpointID overrides the endpoint id the document names; needed
	// for documents that name none.
	EndpointID string
	// Package is the package name; default PackageName(id).
	Package string
	// Stream adds a typed Stream call. The OpenAPI document does not say
	// whether an endpoint streams; fal's model metadata does (its
	// stream_url), which is what `falgo gen APP` uses.
	Stream bool
	// Note is a paragraph added to the package documentation, e.g. about
	// where the document came from.
	Note string
}

// A File is one generated package: a single Go file.
type File struct {
	EndpointID string
	Package    string
	// Dir is the package's directory relative to the output root, slash
	// separated: the endpoint id ("fal-ai/flux/schnell").
	Dir string
	// Code is the gofmt'd source of Dir/FileName.
	Code []byte
	// Warnings list the schema constructs that degraded (to
	// json.RawMessage, or left out), one line each, in a stable order.
	Warnings []string
}

// Generate writes the package for one endpoint. Schema constructs it does
// not support degrade (to json.RawMessage, with a comment and a warning);
// it fails only on a document that is not JSON, an endpoint id that is
// missing or unusable as a directory, or an invalid package name.
func Generate(s Spec) (*File, error) {
	ep, err := openapi.Parse(s.Doc)
	if err != nil {
		return nil, err
	}
	id := s.EndpointID
	if id == "" {
		id = ep.ID
	}
	if id == "" {
		return nil, ErrNoEndpointID
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	pkg := s.Package
	if pkg == "" {
		pkg = PackageName(id)
	}
	if !ValidPackageName(pkg) {
		return nil, fmt.Errorf("%q is not a Go package name", pkg)
	}
	sum := sha256.Sum256(s.Doc)
	g := &generator{
		ep: ep, spec: s, id: id, pkg: pkg,
		hash:        hex.EncodeToString(sum[:]),
		meta:        readMeta(s.Doc),
		names:       newNamer(fixedNames...),
		reserved:    make(map[string]string),
		components:  make(map[string]*openapi.Schema),
		bySchema:    make(map[*openapi.Schema]*namedType),
		byComponent: make(map[string]*namedType),
		enums:       make(map[string]*namedType),
		imports: map[string]bool{
			"context":                        true,
			"github.com/falgo/fal":           true,
			"github.com/falgo/fal/endpoints": true,
		},
	}
	g.build()
	src := g.emit()
	code, err := format.Source(src)
	if err != nil {
		// A bug of the generator, not of the document.
		return nil, fmt.Errorf("internal error: the generated code for %s does not parse (%v); please report it with the document", id, err)
	}
	return &File{EndpointID: id, Package: pkg, Dir: id, Code: code, Warnings: g.warnings}, nil
}

// ErrNoEndpointID is returned for a document that does not name its
// endpoint when Spec.EndpointID is empty.
var ErrNoEndpointID = errors.New("the document names no endpoint id (no info.x-fal-metadata.endpointId, no submit path, no \"Queue OpenAPI for …\" title)")

// fixedNames are the package-level names every generated package
// declares.
var fixedNames = []string{"EndpointID", "Input", "Output", "Run", "Subscribe", "Submit", "Handle", "Attach", "Stream", "Decode"}

// checkID refuses endpoint ids that cannot be a directory path.
func checkID(id string) error {
	for _, seg := range strings.Split(id, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("endpoint id %q: empty, . or .. path segment", id)
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				return fmt.Errorf("endpoint id %q: character %q cannot be in a package directory", id, r)
			}
		}
	}
	return nil
}

// generator holds the state of one Generate call.
type generator struct {
	ep      *openapi.Endpoint
	spec    Spec
	id, pkg string
	hash    string
	meta    docMeta

	names       *namer
	reserved    map[string]string // component name → Go name
	components  map[string]*openapi.Schema
	bySchema    map[*openapi.Schema]*namedType
	byComponent map[string]*namedType
	enums       map[string]*namedType // inline enums by name and values
	decls       []*namedType          // in the order they were found
	input       *namedType
	output      *namedType
	imports     map[string]bool
	warnings    []string
}

func (g *generator) warn(format string, args ...any) {
	g.warnings = append(g.warnings, fmt.Sprintf(format, args...))
}

// build resolves every type, Input first.
func (g *generator) build() {
	// Components keep their names (ImageSize, LoraWeight), whatever
	// inline types are found first; the input and output components are
	// Input and Output.
	for _, c := range g.ep.Schemas {
		g.components[c.Name] = c
		switch {
		case c == g.ep.Input || (c.Name != "" && c.Name == g.ep.InputName):
			g.reserved[c.Name] = "Input"
		case c == g.ep.Output || (c.Name != "" && c.Name == g.ep.OutputName):
			g.reserved[c.Name] = "Output"
		default:
			g.componentName(c.Name)
		}
	}
	g.input = g.topLevel(g.ep.Input, "Input", true, g.ep.InputName)
	g.output = g.topLevel(g.ep.Output, "Output", false, g.ep.OutputName)
	for _, n := range g.ep.Notes {
		g.warn("%s", n)
	}
}

// topLevel declares Input or Output: a struct for an object with
// properties, else an alias of the schema's type.
func (g *generator) topLevel(s *openapi.Schema, name string, input bool, component string) *namedType {
	what := "input"
	if !input {
		what = "output"
	}
	doc := []string{fmt.Sprintf("%s is the %s of %s.", name, what, g.id)}
	if component != "" {
		doc[0] = fmt.Sprintf("%s is the %s of %s (fal's %s schema).", name, what, g.id, component)
	}
	if d := docText(s.Description); d != "" {
		doc = append(doc, sentence(d))
	}
	if nt := g.lookup(s); nt != nil {
		if nt.name == name {
			// Reached before, from the input: declared once, here.
			for i, d := range g.decls {
				if d == nt {
					g.decls = append(g.decls[:i], g.decls[i+1:]...)
					break
				}
			}
			nt.doc = doc
			return nt
		}
		// The output is the input's schema (falgo/echo).
		return &namedType{name: name, kind: declAlias, alias: nt.name, doc: doc}
	}
	if s.Kind == openapi.KindObject && len(s.Properties) > 0 {
		if isFile, pure := fileShape(s); !(isFile && pure) {
			nt := &namedType{name: name, kind: declStruct, schema: s, building: true, doc: doc}
			g.register(s, nt)
			g.fillStruct(nt, s, input, 0)
			return nt
		}
	}
	t := g.resolve(s, hint{parent: name, input: input}, 0)
	if t.raw != "" {
		doc = append(doc, fmt.Sprintf("The schema was not understood (%s): any JSON value is sent and received as is.", t.raw))
		g.warn("%s: %s; generated as json.RawMessage", name, t.raw)
	}
	return &namedType{name: name, kind: declAlias, alias: t.expr, doc: doc}
}

// docMeta is what the package documentation says about the endpoint,
// from info.x-fal-metadata.
type docMeta struct {
	Category         string `json:"category"`
	DocumentationURL string `json:"documentationUrl"`
}

func readMeta(doc []byte) docMeta {
	var d struct {
		Info struct {
			Meta docMeta `json:"x-fal-metadata"`
		} `json:"info"`
	}
	if json.Unmarshal(doc, &d) != nil {
		return docMeta{}
	}
	m := d.Info.Meta
	if !strings.HasPrefix(m.DocumentationURL, "https://") || strings.ContainsAny(m.DocumentationURL, " \t\r\n") {
		m.DocumentationURL = ""
	}
	m.Category = docText(m.Category)
	if len(m.Category) > 64 {
		m.Category = ""
	}
	return m
}

// Marker is the first line of every generated file.
const Marker = "// Code generated by falgo gen; DO NOT EDIT."

// IsGenerated reports whether src is a file falgo gen wrote, by its first
// line.
func IsGenerated(src []byte) bool {
	return strings.HasPrefix(string(src), Marker+"\n")
}
