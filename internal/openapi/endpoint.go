package openapi

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// An Endpoint is a parsed per-endpoint OpenAPI document: the endpoint id
// and the schemas of its input and output. Nothing changes it after Parse,
// so it (and its Schemas) may be used from many goroutines at once; do not
// modify it yourself while others read it.
type Endpoint struct {
	// ID is the endpoint id, e.g. "fal-ai/flux/schnell": from
	// info.x-fal-metadata.endpointId, else from the submit path (with the
	// path of servers[0].url, if any, in front), else from info.title.
	ID string
	// Title and Description are the document's info.title and
	// info.description; Category is info.x-fal-metadata.category.
	Title, Description, Category string
	// OpenAPI is the document's openapi version string.
	OpenAPI string

	// Input is the schema of the request body, Output that of the result.
	// Neither is nil: a document without one gets an any schema with a
	// note.
	Input, Output *Schema
	// InputName and OutputName are the component names of Input and
	// Output, when they are components.
	InputName, OutputName string

	// Schemas are the document's components/schemas in document order.
	Schemas []*Schema

	// Notes say how the document was read where it was not plain (the
	// input found by name rather than by path, say), one line each.
	Notes []string
}

// Parse parses one fal per-endpoint OpenAPI document (JSON), as served by
// https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=… or in the
// `openapi` field of the Platform API's models listing.
//
// It fails only when doc is not a JSON object (or nests more than 200
// levels deep). Everything inside the document that it does not
// understand degrades to an any schema with a note.
func Parse(doc []byte) (*Endpoint, error) {
	root, err := decodeNode(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: not a JSON document: %w", err)
	}
	if root.kind != kindObject {
		return nil, errors.New("openapi: document is not a JSON object")
	}
	p := newParser(root)
	e := &Endpoint{}
	if v, ok := root.get("openapi").stringValue(); ok {
		e.OpenAPI = v
	} else if v, ok := root.get("swagger").stringValue(); ok {
		e.OpenAPI = v
	}
	info := root.get("info")
	e.Title, _ = info.get("title").stringValue()
	e.Description, _ = info.get("description").stringValue()
	meta := info.get("x-fal-metadata")
	e.Category, _ = meta.get("category").stringValue()

	for _, name := range p.components.keys() {
		e.Schemas = append(e.Schemas, p.component(name))
	}

	submitPath, submit := findSubmit(root.get("paths"))
	e.ID, _ = meta.get("endpointId").stringValue()
	if e.ID == "" && submitPath != "" {
		e.ID = serverPrefix(root) + strings.TrimPrefix(submitPath, "/")
	}
	if e.ID == "" {
		e.ID = idFromTitle(e.Title)
	}

	if submit != nil {
		if s, name, ok := p.bodySchema(submit.get("requestBody")); ok {
			e.Input, e.InputName = s, name
		}
	}
	if result := findResult(root.get("paths"), submitPath); result != nil {
		if s, name, ok := p.responseSchema(result); ok {
			e.Output, e.OutputName = s, name
		}
	}
	if e.Input == nil {
		e.Input, e.InputName = p.byName(e, "Input")
	}
	if e.Output == nil {
		e.Output, e.OutputName = p.byName(e, "Output")
	}
	return e, nil
}

// findSubmit returns the submit operation: the POST of a path without
// parameters, preferring one that has a …/requests/{request_id} sibling.
func findSubmit(paths *node) (string, *node) {
	var firstPath string
	var first *node
	for _, path := range paths.keys() {
		post := paths.get(path).get("post")
		if post == nil || strings.Contains(path, "{") {
			continue
		}
		for _, other := range paths.keys() {
			if strings.HasPrefix(other, strings.TrimSuffix(path, "/")+"/requests/{") {
				return path, post
			}
		}
		if first == nil {
			firstPath, first = path, post
		}
	}
	return firstPath, first
}

// findResult returns the GET operation of …/requests/{request_id} (not
// …/status), for the submit path when known.
func findResult(paths *node, submitPath string) *node {
	var fallback *node
	for _, path := range paths.keys() {
		get := paths.get(path).get("get")
		if get == nil {
			continue
		}
		base, param, ok := strings.Cut(path, "/requests/{")
		if !ok || strings.Contains(param, "/") || !strings.HasSuffix(param, "}") {
			continue
		}
		if submitPath != "" && strings.TrimSuffix(base, "/") == strings.TrimSuffix(submitPath, "/") {
			return get
		}
		if fallback == nil {
			fallback = get
		}
	}
	return fallback
}

// serverPrefix returns the path of servers[0].url ("" for
// https://queue.fal.run) with a trailing slash.
func serverPrefix(root *node) string {
	servers := root.get("servers")
	if servers == nil || servers.kind != kindArray || len(servers.arr) == 0 {
		return ""
	}
	raw, _ := servers.arr[0].get("url").stringValue()
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	p := strings.Trim(u.Path, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

var titleID = regexp.MustCompile(`(?i)^queue openapi for\s+(\S+)$`)

func idFromTitle(title string) string {
	if m := titleID.FindStringSubmatch(strings.TrimSpace(title)); m != nil {
		return m[1]
	}
	return ""
}

// bodySchema returns the JSON schema of a request body.
func (p *parser) bodySchema(body *node) (*Schema, string, bool) {
	if ref, ok := body.get("$ref").stringValue(); ok {
		target, _, err := p.pointer(ref)
		if err != nil {
			return nil, "", false
		}
		body = target
	}
	return p.contentSchema(body.get("content"))
}

// responseSchema returns the JSON schema of an operation's success answer.
func (p *parser) responseSchema(op *node) (*Schema, string, bool) {
	responses := op.get("responses")
	for _, code := range []string{"200", "201", "2XX", "default"} {
		r := responses.get(code)
		if r == nil {
			continue
		}
		if ref, ok := r.get("$ref").stringValue(); ok {
			target, _, err := p.pointer(ref)
			if err != nil {
				continue
			}
			r = target
		}
		if s, name, ok := p.contentSchema(r.get("content")); ok {
			return s, name, true
		}
	}
	return nil, "", false
}

// contentSchema picks the application/json (or other JSON) media type.
func (p *parser) contentSchema(content *node) (*Schema, string, bool) {
	var media *node
	for _, mt := range content.keys() {
		base := strings.TrimSpace(strings.SplitN(mt, ";", 2)[0])
		if base == "application/json" {
			media = content.get(mt)
			break
		}
		if media == nil && strings.HasSuffix(base, "json") {
			media = content.get(mt)
		}
	}
	sn := media.get("schema")
	if sn == nil {
		return nil, "", false
	}
	s := p.schema(sn, 0)
	return s, s.Name, true
}

// byName finds the input or output schema by fal's <Name>Input /
// <Name>Output naming, when the paths do not say.
func (p *parser) byName(e *Endpoint, suffix string) (*Schema, string) {
	var candidates []*Schema
	for _, s := range e.Schemas {
		if strings.HasSuffix(s.Name, suffix) && s.Name != suffix {
			candidates = append(candidates, s)
		}
	}
	if len(candidates) == 0 {
		e.Notes = append(e.Notes, fmt.Sprintf("no %s schema found; %s not checked", strings.ToLower(suffix), strings.ToLower(suffix)))
		return anySchema("no " + strings.ToLower(suffix) + " schema in the document; not checked"), ""
	}
	pick := candidates[0]
	if len(candidates) > 1 {
		want := pascalName(e.ID) + suffix
		found := false
		for _, c := range candidates {
			if strings.EqualFold(c.Name, want) {
				pick, found = c, true
				break
			}
		}
		if !found {
			e.Notes = append(e.Notes, fmt.Sprintf("%d schemas end in %q; took the first, %s", len(candidates), suffix, pick.Name))
		}
	}
	e.Notes = append(e.Notes, fmt.Sprintf("%s schema %s found by name, not by path", strings.ToLower(suffix), pick.Name))
	return pick, pick.Name
}

// pascalName turns an endpoint id into fal's schema name prefix:
// "fal-ai/flux-pro/v1.1-ultra" → "FluxProV11Ultra". The owner "fal-ai" is
// dropped, as fal does.
func pascalName(id string) string {
	id = strings.TrimPrefix(id, "fal-ai/")
	var b strings.Builder
	up := true
	for _, r := range id {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if up {
				b.WriteRune(unicode.ToUpper(r))
			} else {
				b.WriteRune(r)
			}
			up = false
		case r == '.':
			// "v1.1" → "V11": the dot goes, the case does not change.
		default:
			up = true
		}
	}
	return b.String()
}
