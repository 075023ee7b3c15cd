package faltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The per-app OpenAPI document: GET /api/v1/models?expand=openapi-3.0
// serves, for every app declared with Schema (or OpenAPI), a document in
// the shape fal publishes for its endpoints' queue API. The shape follows
// real documents returned by fal's GET /v1/models?expand=openapi-3.0, for
// example the one for fal-ai/flux/schnell saved in github.com/TanStack/ai,
// packages/typescript/ai-fal/json/fal.models.text-to-image.json (commit
// 15183e7dd, fetched by that project on 2026-01-28): "openapi": "3.0.4",
// info with x-fal-metadata, components.securitySchemes.apiKeyAuth,
// components.schemas with QueueStatus, <Name>Input, <Name>Output and the
// shared schemas they reference, paths for submit, status, cancel and
// result, servers [https://queue.fal.run] and security [apiKeyAuth].

// SchemaDescriber is implemented by Go types that describe their own JSON
// schema, for values Go types cannot express, such as fal's image_size
// union: a preset name or an {width, height} object. ref returns
// {"$ref": "#/components/schemas/<Name>"} for the Go type of v, adding
// its schema to the document's components first.
//
// The walker calls FalSchema on the zero value of the type; struct tags
// on the field that holds it (title, description, default, examples) are
// added around what it returns.
type SchemaDescriber interface {
	FalSchema(ref func(v any) map[string]any) map[string]any
}

// obj is a JSON object that keeps its keys in insertion order, so the
// documents read in fal's order and are byte-for-byte deterministic.
type obj []kv

type kv struct {
	k string
	v any
}

// set adds or replaces key k.
func (o *obj) set(k string, v any) {
	for i := range *o {
		if (*o)[i].k == k {
			(*o)[i].v = v
			return
		}
	}
	*o = append(*o, kv{k, v})
}

// get returns the value of key k.
func (o obj) get(k string) (any, bool) {
	for _, e := range o {
		if e.k == k {
			return e.v, true
		}
	}
	return nil, false
}

// MarshalJSON writes the keys in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// schemaGen walks Go types into OpenAPI 3.0 schemas, collecting the named
// struct types it meets as components.
type schemaGen struct {
	comps obj                     // components.schemas, in the order met
	names map[reflect.Type]string // component name of each named type
	taken map[string]reflect.Type
	depth int
}

func newSchemaGen() *schemaGen {
	return &schemaGen{names: map[reflect.Type]string{}, taken: map[string]reflect.Type{}}
}

var (
	timeType        = reflect.TypeOf(time.Time{})
	rawMessageType  = reflect.TypeOf(json.RawMessage(nil))
	describerType   = reflect.TypeOf((*SchemaDescriber)(nil)).Elem()
	errSchemaTooDep = errors.New("the type nests too deeply (a recursive type?)")
)

// maxSchemaDepth bounds the walk; recursion through named structs is cut
// by $ref, so only absurd anonymous nesting reaches it.
const maxSchemaDepth = 32

// ref returns a $ref to the component for t (a named struct type or a
// SchemaDescriber), adding the component first.
func (g *schemaGen) ref(t reflect.Type) (obj, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name, ok := g.names[t]; ok {
		return obj{{"$ref", "#/components/schemas/" + name}}, nil
	}
	base := blankTitle(t)
	if base == "" {
		base = exportedName(t.Name())
	}
	if base == "" {
		base = "Schema"
	}
	name := base
	for i := 2; g.taken[name] != nil; i++ {
		name = base + strconv.Itoa(i)
	}
	g.names[t], g.taken[name] = name, t
	// Reserve the slot first so that the components keep the order they
	// were first referenced in, and a recursive type finds its own name.
	g.comps.set(name, nil)
	s, err := g.inline(t, name)
	if err != nil {
		return nil, err
	}
	g.comps.set(name, s)
	return obj{{"$ref", "#/components/schemas/" + name}}, nil
}

// component adds t's schema under the given name (the app's <Name>Input
// and <Name>Output) and returns a $ref to it.
func (g *schemaGen) component(name string, t reflect.Type) (obj, error) {
	if t == nil {
		g.comps.set(name, obj{{"title", name}})
		return obj{{"$ref", "#/components/schemas/" + name}}, nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	g.comps.set(name, nil)
	title := exportedName(t.Name())
	if title == "" {
		title = name
	}
	s, err := g.inline(t, title)
	if err != nil {
		return nil, err
	}
	g.comps.set(name, s)
	if t.Name() != "" && t.Kind() == reflect.Struct {
		if _, ok := g.names[t]; !ok {
			g.names[t], g.taken[name] = name, t
		}
	}
	return obj{{"$ref", "#/components/schemas/" + name}}, nil
}

// schema returns the schema of a value of type t where it is used (a
// field, an item): named structs become references.
func (g *schemaGen) schema(t reflect.Type) (obj, error) {
	if g.depth++; g.depth > maxSchemaDepth {
		return nil, errSchemaTooDep
	}
	defer func() { g.depth-- }()
	if implementsDescriber(t) {
		return g.describe(t)
	}
	switch t.Kind() {
	case reflect.Pointer:
		inner, err := g.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		return obj{{"anyOf", []any{inner, obj{{"type", "null"}}}}}, nil
	case reflect.Struct:
		if t == timeType {
			return obj{{"type", "string"}, {"format", "date-time"}}, nil
		}
		if t.Name() != "" {
			return g.ref(t)
		}
	}
	return g.inline(t, "")
}

// inline returns t's own schema (not a reference); title, if set, titles
// a struct schema.
func (g *schemaGen) inline(t reflect.Type, title string) (obj, error) {
	if implementsDescriber(t) {
		s, err := g.describe(t)
		if err == nil && title != "" {
			s.set("title", title)
		}
		return s, err
	}
	if t == rawMessageType {
		return obj{}, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return obj{{"type", "boolean"}}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return obj{{"type", "integer"}}, nil
	case reflect.Float32, reflect.Float64:
		return obj{{"type", "number"}}, nil
	case reflect.String:
		return obj{{"type", "string"}}, nil
	case reflect.Interface:
		return obj{}, nil
	case reflect.Pointer:
		return g.inline(t.Elem(), title)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return obj{{"type", "string"}, {"format", "byte"}}, nil
		}
		items, err := g.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		return obj{{"type", "array"}, {"items", items}}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map key type %v: JSON objects need string keys", t.Key())
		}
		s := obj{{"type", "object"}}
		if title != "" {
			s.set("title", title)
		}
		if t.Elem().Kind() == reflect.Interface {
			s.set("additionalProperties", true)
			return s, nil
		}
		v, err := g.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		s.set("additionalProperties", v)
		return s, nil
	case reflect.Struct:
		if t == timeType {
			return obj{{"type", "string"}, {"format", "date-time"}}, nil
		}
		return g.object(t, title)
	}
	return nil, fmt.Errorf("type %v has no JSON form (chan, func or complex)", t)
}

// object walks a struct: its fields in order, as encoding/json sees them.
func (g *schemaGen) object(t reflect.Type, title string) (obj, error) {
	props := obj{}
	var required, order []string
	if err := g.fields(t, &props, &required, &order, map[reflect.Type]bool{}); err != nil {
		return nil, err
	}
	// A blank field (_ struct{}) may title and describe the whole schema.
	var desc string
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.Name == "_" {
			if v := f.Tag.Get("title"); v != "" {
				title = v
			}
			desc = f.Tag.Get("description")
		}
	}
	s := obj{}
	if title != "" {
		s.set("title", title)
	}
	if desc != "" {
		s.set("description", desc)
	}
	s.set("type", "object")
	s.set("properties", props)
	s.set("x-fal-order-properties", append([]string{}, order...))
	if len(required) > 0 {
		s.set("required", required)
	}
	return s, nil
}

// fields adds the JSON fields of struct t (embedded structs flattened, as
// encoding/json does) to props.
func (g *schemaGen) fields(t reflect.Type, props *obj, required, order *[]string, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if err := g.fields(ft, props, required, order, seen); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s, err := g.field(f, name)
		if err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
		props.set(name, s)
		*order = append(*order, name)
		if isRequired(f, opts) {
			*required = append(*required, name)
		}
	}
	return nil
}

// isRequired: a field is required unless it is a pointer, is omitempty,
// has a default, or says required:"false".
func isRequired(f reflect.StructField, opts string) bool {
	switch f.Tag.Get("required") {
	case "true":
		return true
	case "false":
		return false
	}
	if f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Interface {
		return false
	}
	for _, o := range strings.Split(opts, ",") {
		if o == "omitempty" {
			return false
		}
	}
	_, hasDefault := f.Tag.Lookup("default")
	return !hasDefault
}

// field is the schema of one struct field, with its tags applied:
// title (default: the JSON name in words), description, default,
// examples, enum, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
// format.
func (g *schemaGen) field(f reflect.StructField, name string) (obj, error) {
	s, err := g.schema(f.Type)
	if err != nil {
		return nil, err
	}
	// OpenAPI 3.0 ignores the siblings of a $ref, and a field always has a
	// title: wrap the reference in allOf, as fal's documents do.
	if _, isRef := s.get("$ref"); isRef {
		s = obj{{"allOf", []any{s}}}
	}
	base := f.Type
	for base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	out := obj{}
	title := f.Tag.Get("title")
	if title == "" {
		title = words(name)
	}
	out.set("title", title)
	for _, e := range s {
		out.set(e.k, e.v)
	}
	if d := f.Tag.Get("description"); d != "" {
		out.set("description", d)
	}
	if v, ok := f.Tag.Lookup("enum"); ok {
		var vals []any
		for _, p := range strings.Split(v, ",") {
			pv, err := tagValue(strings.TrimSpace(p), base)
			if err != nil {
				return nil, fmt.Errorf("enum value %q: %w", p, err)
			}
			vals = append(vals, pv)
		}
		out.set("enum", vals)
	}
	for _, k := range []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} {
		if v, ok := f.Tag.Lookup(k); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("%s %q is not a number", k, v)
			}
			out.set(k, json.Number(strconv.FormatFloat(n, 'f', -1, 64)))
		}
	}
	if v := f.Tag.Get("format"); v != "" {
		out.set("format", v)
	}
	if v, ok := f.Tag.Lookup("examples"); ok {
		ex, err := tagValue(v, base)
		if err != nil {
			return nil, fmt.Errorf("examples %q: %w", v, err)
		}
		out.set("examples", []any{ex})
	}
	if v, ok := f.Tag.Lookup("default"); ok {
		d, err := tagValue(v, base)
		if err != nil {
			return nil, fmt.Errorf("default %q: %w", v, err)
		}
		out.set("default", d)
	}
	return out, nil
}

// tagValue converts a tag's text to a JSON value for a field of type t:
// the text itself for strings, else JSON (a number, true/false, an object
// for a union field).
func tagValue(v string, t reflect.Type) (any, error) {
	if t.Kind() == reflect.String && !implementsDescriber(t) {
		return v, nil
	}
	if json.Valid([]byte(v)) {
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return nil, errors.New("not an integer")
			}
		case reflect.Float32, reflect.Float64:
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return nil, errors.New("not a number")
			}
		case reflect.Bool:
			if v != "true" && v != "false" {
				return nil, errors.New("not true or false")
			}
		}
		return json.RawMessage(v), nil
	}
	switch t.Kind() {
	case reflect.Interface, reflect.Struct, reflect.Map, reflect.Slice:
		return v, nil // a union or free-form value: a bare word is a string
	}
	if implementsDescriber(t) {
		return v, nil
	}
	return nil, fmt.Errorf("not a valid value for %v", t)
}

func implementsDescriber(t reflect.Type) bool {
	return t.Implements(describerType) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(describerType))
}

// describe calls a SchemaDescriber.
func (g *schemaGen) describe(t reflect.Type) (obj, error) {
	var d SchemaDescriber
	if t.Implements(describerType) {
		d, _ = reflect.Zero(t).Interface().(SchemaDescriber)
		if t.Kind() == reflect.Pointer {
			d, _ = reflect.New(t.Elem()).Interface().(SchemaDescriber)
		}
	} else {
		d, _ = reflect.New(t).Interface().(SchemaDescriber)
	}
	var refErr error
	ref := func(v any) map[string]any {
		r, err := g.ref(reflect.TypeOf(v))
		if err != nil && refErr == nil {
			refErr = err
		}
		out := map[string]any{}
		for _, e := range r {
			out[e.k] = e.v
		}
		return out
	}
	m := d.FalSchema(ref)
	if refErr != nil {
		return nil, refErr
	}
	// A map marshals with sorted keys, which is deterministic; keep it as
	// one value so the field's tags can be added around it.
	out := obj{}
	for _, k := range sortedKeys(m) {
		out.set(k, m[k])
	}
	return out, nil
}

// blankTitle is the title tag of a struct's blank field (_ struct{}), or "".
func blankTitle(t reflect.Type) string {
	if t.Kind() != reflect.Struct {
		return ""
	}
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.Name == "_" {
			return f.Tag.Get("title")
		}
	}
	return ""
}

// words turns a JSON name into fal's default title: "num_images" becomes
// "Num Images".
func words(name string) string {
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '_' || r == '-' || r == ' ' })
	for i, p := range parts {
		r := []rune(p)
		r[0] = unicode.ToUpper(r[0])
		parts[i] = string(r)
	}
	return strings.Join(parts, " ")
}

// exportedName capitalizes a Go type name ("t2iInput" → "T2iInput").
func exportedName(n string) string {
	if n == "" {
		return ""
	}
	r := []rune(n)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// schemaBaseName is the prefix of an app's Input and Output schema names,
// formed as fal forms them: "fal-ai/flux/schnell" → "FluxSchnell",
// "fal-ai/fast-sdxl" → "FastSdxl", "me/captioner" → "MeCaptioner".
func schemaBaseName(appID string) string {
	segs := strings.Split(appID, "/")
	if len(segs) > 1 && segs[0] == "fal-ai" {
		segs = segs[1:]
	}
	var b strings.Builder
	for _, seg := range segs {
		for _, p := range strings.FieldsFunc(seg, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			r := []rune(strings.ToLower(p))
			r[0] = unicode.ToUpper(r[0])
			b.WriteString(string(r))
		}
	}
	if b.Len() == 0 {
		return "App"
	}
	return b.String()
}

// queueStatusSchema is fal's QueueStatus schema, as its documents have it.
func queueStatusSchema() obj {
	str := func(d string) obj { return obj{{"type", "string"}, {"description", d}} }
	return obj{
		{"type", "object"},
		{"properties", obj{
			{"status", obj{{"type", "string"}, {"enum", []string{"IN_QUEUE", "IN_PROGRESS", "COMPLETED"}}}},
			{"request_id", str("The request id.")},
			{"response_url", str("The response url.")},
			{"status_url", str("The status url.")},
			{"cancel_url", str("The cancel url.")},
			{"logs", obj{{"type", "object"}, {"description", "The logs."}, {"additionalProperties", true}}},
			{"metrics", obj{{"type", "object"}, {"description", "The metrics."}, {"additionalProperties", true}}},
			{"queue_position", obj{{"type", "integer"}, {"description", "The queue position."}}},
		}},
		{"required", []string{"status", "request_id"}},
	}
}

// queueDocument builds an app's queue OpenAPI document from the Go types
// of its input and output (output may be nil: any JSON).
func queueDocument(appID string, info ModelInfo, input, output reflect.Type) (json.RawMessage, error) {
	g := newSchemaGen()
	base := schemaBaseName(appID)
	g.comps.set("QueueStatus", queueStatusSchema())
	g.taken["QueueStatus"] = reflect.TypeOf(struct{}{})
	in, err := g.component(base+"Input", input)
	if err != nil {
		return nil, fmt.Errorf("input type: %w", err)
	}
	out, err := g.component(base+"Output", output)
	if err != nil {
		return nil, fmt.Errorf("output type: %w", err)
	}
	reqID := obj{
		{"name", "request_id"}, {"in", "path"}, {"required", true},
		{"schema", obj{{"type", "string"}, {"description", "Request ID"}}},
	}
	jsonBody := func(schema any) obj {
		return obj{{"application/json", obj{{"schema", schema}}}}
	}
	statusRef := obj{{"$ref", "#/components/schemas/QueueStatus"}}
	paths := obj{
		{"/" + appID + "/requests/{request_id}/status", obj{{"get", obj{
			{"parameters", []any{reqID, obj{
				{"name", "logs"}, {"in", "query"}, {"required", false},
				{"schema", obj{{"type", "number"}, {"description", "Whether to include logs (`1`) in the response or not (`0`)."}}},
			}}},
			{"responses", obj{{"200", obj{{"description", "The request status."}, {"content", jsonBody(statusRef)}}}}},
		}}}},
		{"/" + appID + "/requests/{request_id}/cancel", obj{{"put", obj{
			{"parameters", []any{reqID}},
			{"responses", obj{{"200", obj{{"description", "The request was cancelled."}, {"content", jsonBody(obj{
				{"type", "object"},
				{"properties", obj{{"success", obj{{"type", "boolean"}, {"description", "Whether the request was cancelled successfully."}}}}},
			})}}}}},
		}}}},
		{"/" + appID, obj{{"post", obj{
			{"requestBody", obj{{"required", true}, {"content", jsonBody(in)}}},
			{"responses", obj{{"200", obj{{"description", "The request status."}, {"content", jsonBody(statusRef)}}}}},
		}}}},
		{"/" + appID + "/requests/{request_id}", obj{{"get", obj{
			{"parameters", []any{reqID}},
			{"responses", obj{{"200", obj{{"description", "Result of the request."}, {"content", jsonBody(out)}}}}},
		}}}},
	}
	meta := obj{
		{"endpointId", appID},
		{"category", info.Category},
		{"thumbnailUrl", info.ThumbnailURL},
		{"playgroundUrl", "https://fal.ai/models/" + appID},
		{"documentationUrl", "https://fal.ai/models/" + appID + "/api"},
	}
	doc := obj{
		{"openapi", "3.0.4"},
		{"info", obj{
			{"title", "Queue OpenAPI for " + appID},
			{"version", "1.0.0"},
			{"description", "The OpenAPI schema for the " + appID + " queue."},
			{"x-fal-metadata", meta},
		}},
		{"components", obj{
			{"securitySchemes", obj{{"apiKeyAuth", obj{
				{"type", "apiKey"}, {"in", "header"}, {"name", "Authorization"}, {"description", "Fal Key"},
			}}}},
			{"schemas", g.comps},
		}},
		{"paths", paths},
		{"servers", []any{obj{{"url", "https://queue.fal.run"}}}},
		{"security", []any{obj{{"apiKeyAuth", []string{}}}}},
	}
	return json.Marshal(doc)
}

// checkOpenAPIDocument checks a document given verbatim (the OpenAPI app
// option): a JSON object with an "openapi" version string.
func checkOpenAPIDocument(doc []byte) (json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("the document is not a JSON object: %v", err)
	}
	var version string
	if err := json.Unmarshal(top["openapi"], &version); err != nil || version == "" {
		return nil, errors.New(`the document has no "openapi" version string (e.g. "3.0.4")`)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
