package openapi

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
)

// Kind is the JSON type a Schema describes.
type Kind int

// The kinds of Schema. KindAny is also what every construct this package
// does not understand degrades to: a value of kind any is never refused.
const (
	KindAny     Kind = iota // any JSON value (also: unsupported construct, see Schema.Notes)
	KindString              // a JSON string
	KindInteger             // a whole number
	KindNumber              // any number
	KindBoolean             // true or false
	KindObject              // a JSON object; see Properties
	KindArray               // a JSON array; see Items
	KindNull                // only null
	KindUnion               // one of Variants (anyOf / oneOf of several schemas)
)

var kindNames = [...]string{"any", "string", "integer", "number", "boolean", "object", "array", "null", "union"}

// String returns the kind's name: "string", "integer", "object", ….
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// A Schema is one parsed schema of a fal OpenAPI document, with $ref,
// allOf and the anyOf-with-null idiom already resolved.
//
// Schemas reached through a $ref to a component are shared: every use of
// #/components/schemas/ImageSize is the same *Schema (or a shallow copy of
// it carrying use-site title, description, default or nullability), so a
// recursive component gives a graph with cycles. Code walking Schemas must
// not assume a tree; Name tells a named component apart.
type Schema struct {
	// Name is the component name ("ImageSize", "LoraWeight") for schemas
	// defined under #/components/schemas, and "" for inline schemas.
	Name string
	// Kind is the JSON type. KindUnion means Variants holds the choices.
	Kind Kind
	// Nullable reports that null is also accepted: `nullable: true`,
	// `type: [X, "null"]`, or anyOf/oneOf with a {type: null} member.
	Nullable bool

	Title       string
	Description string
	// Format is the OpenAPI format ("uri", "binary", "float", …), unchecked.
	Format string

	// Enum lists the allowed values as decoded from JSON (string,
	// json.Number, bool or nil); empty means any value of Kind.
	Enum []any
	// Default is the default value, valid when HasDefault.
	Default    any
	HasDefault bool
	// Examples are the example values, from `examples` and `example`.
	Examples []any

	// Minimum, Maximum, ExclusiveMinimum and ExclusiveMaximum bound
	// numbers; nil means unbounded. The OpenAPI 3.0 boolean form of
	// exclusiveMinimum is turned into the numeric form.
	Minimum, Maximum                   *float64
	ExclusiveMinimum, ExclusiveMaximum *float64
	// MinLength and MaxLength bound strings, in characters.
	MinLength, MaxLength *int
	// Pattern is the regular expression of a string; recorded, not checked.
	Pattern string

	// Properties are an object's fields in fal's display order:
	// x-fal-order-properties first, then any others in document order.
	Properties []*Property
	// Required names the required properties, as listed in the document.
	Required []string
	// Order is the x-fal-order-properties list as written, if any.
	Order []string
	// AdditionalProperties is the schema of properties not listed in
	// Properties: nil when the keyword is absent, an any schema for
	// `additionalProperties: true`. NoAdditional is set for `false`.
	AdditionalProperties *Schema
	NoAdditional         bool

	// Items is the schema of an array's elements (nil: any element).
	Items *Schema
	// MinItems and MaxItems bound an array's length.
	MinItems, MaxItems *int

	// Variants are the choices of a KindUnion, null members removed.
	Variants []*Schema

	// Notes say what was not understood and so not checked, one line
	// each; empty for fully supported schemas.
	Notes []string

	building bool // set while a component is being parsed (cycle guard)
}

// A Property is one field of an object schema.
type Property struct {
	Name     string
	Required bool
	Schema   *Schema
}

// Property returns the property called name, or nil.
func (s *Schema) Property(name string) *Property {
	if s == nil {
		return nil
	}
	for _, p := range s.Properties {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// maxSchemaDepth bounds how deeply inline schemas are followed. Deeper
// schemas degrade to any.
const maxSchemaDepth = 64

// parser turns document nodes into Schemas, resolving references within the
// document.
type parser struct {
	root       *node
	components *node // #/components/schemas
	refs       map[string]*Schema
	active     int // references being resolved, nested
}

// maxRefDepth bounds how many references may be resolved inside one
// another (a chain A → B → C …); deeper ones degrade to any.
const maxRefDepth = 128

func newParser(root *node) *parser {
	return &parser{
		root:       root,
		components: root.get("components").get("schemas"),
		refs:       make(map[string]*Schema),
	}
}

func anySchema(note string) *Schema {
	s := &Schema{Kind: KindAny}
	if note != "" {
		s.Notes = []string{note}
	}
	return s
}

// component returns the parsed component schema called name.
func (p *parser) component(name string) *Schema {
	return p.ref("#/components/schemas/" + escapePointer(name))
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// ref resolves a $ref within the document. Results are memoized by
// reference, so each target is parsed once; a reference met again while
// its target is still being parsed (a cycle) returns the same, still
// incomplete *Schema, which is filled in when parsing unwinds.
func (p *parser) ref(ref string) *Schema {
	if s, ok := p.refs[ref]; ok {
		return s
	}
	if !strings.HasPrefix(ref, "#") {
		s := anySchema(fmt.Sprintf("reference %q points outside the document; not checked", ref))
		p.refs[ref] = s
		return s
	}
	target, name, err := p.pointer(ref)
	if err != nil {
		s := anySchema(err.Error())
		p.refs[ref] = s
		return s
	}
	if p.active >= maxRefDepth {
		return anySchema(fmt.Sprintf("reference %q nested too deeply; not checked", ref))
	}
	s := &Schema{building: true}
	p.refs[ref] = s
	p.active++
	*s = *p.schema(target, 0)
	p.active--
	if name != "" {
		s.Name = name
	}
	s.building = false
	return s
}

// pointer follows a JSON pointer fragment ("#/components/schemas/X") and
// returns the node and, for a component, its name.
func (p *parser) pointer(ref string) (*node, string, error) {
	frag := strings.TrimPrefix(ref, "#")
	if f, err := url.PathUnescape(frag); err == nil {
		frag = f
	}
	if frag == "" {
		return nil, "", fmt.Errorf("reference %q is the whole document; not checked", ref)
	}
	if !strings.HasPrefix(frag, "/") {
		return nil, "", fmt.Errorf("reference %q is not a JSON pointer; not checked", ref)
	}
	parts := strings.Split(frag[1:], "/")
	cur := p.root
	for _, part := range parts {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		switch cur.kind {
		case kindObject:
			cur = cur.get(part)
		case kindArray:
			i, ok := arrayIndex(part, len(cur.arr))
			if !ok {
				cur = nil
			} else {
				cur = cur.arr[i]
			}
		default:
			cur = nil
		}
		if cur == nil {
			return nil, "", fmt.Errorf("reference %q does not resolve; not checked", ref)
		}
	}
	name := ""
	if len(parts) == 3 && parts[0] == "components" && parts[1] == "schemas" {
		name = strings.ReplaceAll(strings.ReplaceAll(parts[2], "~1", "/"), "~0", "~")
	}
	return cur, name, nil
}

func arrayIndex(s string, n int) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	i := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	return i, i < n
}

// ignoredKeywords are keywords that carry no constraint this package
// checks and need no note: annotations, and fal's and others' extensions.
var ignoredKeywords = map[string]bool{
	"title": true, "description": true, "default": true, "examples": true, "example": true,
	"format": true, "deprecated": true, "readOnly": true, "writeOnly": true,
	"externalDocs": true, "xml": true, "discriminator": true, "$schema": true,
	"$id": true, "$comment": true, "contentMediaType": true, "contentEncoding": true,
	"multipleOf": true, "uniqueItems": true, "minProperties": true, "maxProperties": true,
	"pattern": true,
}

// schema parses one schema object.
func (p *parser) schema(n *node, depth int) *Schema {
	if n == nil {
		return anySchema("")
	}
	if depth > maxSchemaDepth {
		return anySchema("schema nested too deeply; not checked")
	}
	switch n.kind {
	case kindBool:
		if n.b {
			return anySchema("")
		}
		// `false` accepts nothing; refusing on our side is not worth
		// the risk, so it reads as any.
		return anySchema("schema `false`; not checked")
	case kindObject:
	default:
		return anySchema("schema is not an object; not checked")
	}

	var s *Schema
	switch {
	case n.has("$ref"):
		s = p.refUse(n)
	case n.has("allOf"):
		s = p.allOf(n, depth)
	case n.has("anyOf") || n.has("oneOf"):
		s = p.union(n, depth)
	default:
		s = p.plain(n, depth)
	}
	p.annotate(s, n)
	return s
}

// refUse parses {$ref: …} with possible sibling keywords.
func (p *parser) refUse(n *node) *Schema {
	ref, ok := n.get("$ref").stringValue()
	if !ok {
		return anySchema("$ref is not a string; not checked")
	}
	target := p.ref(ref)
	if !hasSiblings(n, "$ref") {
		return target
	}
	return p.useCopy(target, ref)
}

// useCopy returns a shallow copy of target that use-site keywords may
// change. A target still being parsed (a recursive reference with use-site
// keywords) cannot be copied yet; it degrades to any.
func (p *parser) useCopy(target *Schema, what string) *Schema {
	if target.building {
		return anySchema(fmt.Sprintf("recursive reference %s with use-site keywords; not checked", what))
	}
	c := *target
	c.Notes = append([]string(nil), target.Notes...)
	return &c
}

// hasSiblings reports whether the object has keys other than except that
// annotate, i.e. would change a shared schema.
func hasSiblings(n *node, except string) bool {
	for _, k := range n.keys() {
		if k != except && !strings.HasPrefix(k, "x-") {
			return true
		}
	}
	return false
}

// annotate applies annotation keywords found next to the structure
// (title, description, default, examples, nullable) to s.
func (p *parser) annotate(s *Schema, n *node) {
	if t, ok := n.get("title").stringValue(); ok {
		s.Title = t
	}
	if d, ok := n.get("description").stringValue(); ok {
		s.Description = d
	}
	if f, ok := n.get("format").stringValue(); ok {
		s.Format = f
	}
	if d := n.get("default"); d != nil {
		s.Default, s.HasDefault = d.value(), true
	}
	if ex := n.get("examples"); ex != nil {
		if ex.kind == kindArray {
			s.Examples = make([]any, 0, len(ex.arr))
			for _, e := range ex.arr {
				s.Examples = append(s.Examples, e.value())
			}
		} else {
			// OpenAPI's map-of-Example-objects form; not a list of values.
			s.Examples = nil
		}
	} else if ex := n.get("example"); ex != nil {
		s.Examples = []any{ex.value()}
	}
	if nb := n.get("nullable"); nb != nil && nb.kind == kindBool && nb.b {
		s.Nullable = true
	}
}

// plain parses a schema without $ref, allOf, anyOf or oneOf.
func (p *parser) plain(n *node, depth int) *Schema {
	s := &Schema{}
	typ := n.get("type")
	switch {
	case typ == nil:
		s.Kind = inferKind(n)
	case typ.kind == kindString:
		k, ok := kindOf(typ.str)
		if !ok {
			return anySchema(fmt.Sprintf("unknown type %q; not checked", typ.str))
		}
		s.Kind = k
	case typ.kind == kindArray:
		// OpenAPI 3.1 / JSON Schema: type: ["string", "null"].
		var kinds []Kind
		for _, t := range typ.arr {
			name, _ := t.stringValue()
			k, ok := kindOf(name)
			if !ok {
				return anySchema(fmt.Sprintf("unknown type %q; not checked", name))
			}
			if k == KindNull {
				s.Nullable = true
				continue
			}
			kinds = append(kinds, k)
		}
		switch len(kinds) {
		case 0:
			s.Kind = KindNull
		case 1:
			s.Kind = kinds[0]
		default:
			// Several types: a union of plain schemas sharing the
			// constraints of this one.
			u := &Schema{Kind: KindUnion, Nullable: s.Nullable}
			for _, k := range kinds {
				v := p.plainOfKind(n, k, depth)
				u.Variants = append(u.Variants, v)
			}
			return u
		}
	default:
		return anySchema("type is neither a string nor a list; not checked")
	}
	p.constraints(s, n, depth)
	return s
}

// plainOfKind parses n as if its type were k.
func (p *parser) plainOfKind(n *node, k Kind, depth int) *Schema {
	s := &Schema{Kind: k}
	p.constraints(s, n, depth)
	return s
}

func kindOf(t string) (Kind, bool) {
	switch t {
	case "string":
		return KindString, true
	case "integer":
		return KindInteger, true
	case "number":
		return KindNumber, true
	case "boolean":
		return KindBoolean, true
	case "object":
		return KindObject, true
	case "array":
		return KindArray, true
	case "null":
		return KindNull, true
	}
	return KindAny, false
}

// inferKind guesses the kind of a schema without `type` from its keywords.
func inferKind(n *node) Kind {
	switch {
	case n.has("properties") || n.has("additionalProperties") || n.has("required"):
		return KindObject
	case n.has("items") || n.has("minItems") || n.has("maxItems"):
		return KindArray
	case n.has("enum") || n.has("const"):
		return enumKind(n)
	case n.has("minLength") || n.has("maxLength") || n.has("pattern"):
		return KindString
	case n.has("minimum") || n.has("maximum") || n.has("exclusiveMinimum") || n.has("exclusiveMaximum"):
		return KindNumber
	}
	return KindAny
}

// enumKind infers the kind of an untyped enum from its values.
func enumKind(n *node) Kind {
	vals := n.get("enum")
	var list []*node
	if vals != nil && vals.kind == kindArray {
		list = vals.arr
	} else if c := n.get("const"); c != nil {
		list = []*node{c}
	}
	k := KindAny
	for _, v := range list {
		var vk Kind
		switch v.kind {
		case kindString:
			vk = KindString
		case kindNumber:
			vk = KindNumber
		case kindBool:
			vk = KindBoolean
		case kindNull:
			continue
		default:
			return KindAny
		}
		if k != KindAny && k != vk {
			return KindAny
		}
		k = vk
	}
	return k
}

// constraints reads the type-specific keywords of n into s.
func (p *parser) constraints(s *Schema, n *node, depth int) {
	if e := n.get("enum"); e != nil {
		if e.kind == kindArray {
			for _, v := range e.arr {
				if v.kind == kindNull {
					s.Nullable = true
					continue
				}
				s.Enum = append(s.Enum, v.value())
			}
			if len(s.Enum) == 0 && len(e.arr) > 0 {
				s.Kind = KindNull
			}
		} else {
			s.Notes = append(s.Notes, "enum is not a list; not checked")
		}
	} else if c := n.get("const"); c != nil {
		if c.kind == kindNull {
			s.Kind = KindNull
		} else {
			s.Enum = []any{c.value()}
		}
	}
	if f, ok := n.get("minimum").number(); ok {
		s.Minimum = &f
	}
	if f, ok := n.get("maximum").number(); ok {
		s.Maximum = &f
	}
	s.ExclusiveMinimum = exclusive(n.get("exclusiveMinimum"), s.Minimum)
	if s.ExclusiveMinimum != nil && n.get("exclusiveMinimum").kind == kindBool {
		s.Minimum = nil // folded into the exclusive bound
	}
	s.ExclusiveMaximum = exclusive(n.get("exclusiveMaximum"), s.Maximum)
	if s.ExclusiveMaximum != nil && n.get("exclusiveMaximum").kind == kindBool {
		s.Maximum = nil
	}
	s.MinLength = count(n.get("minLength"))
	s.MaxLength = count(n.get("maxLength"))
	if pat, ok := n.get("pattern").stringValue(); ok {
		s.Pattern = pat
	}
	s.MinItems = count(n.get("minItems"))
	s.MaxItems = count(n.get("maxItems"))

	if s.Kind == KindObject || n.has("properties") {
		p.object(s, n, depth)
	}
	if items := n.get("items"); items != nil {
		if items.kind == kindArray {
			s.Items = anySchema("tuple items; not checked")
		} else {
			s.Items = p.schema(items, depth+1)
		}
	}
	for _, k := range n.keys() {
		switch k {
		case "not", "if", "then", "else", "patternProperties", "dependentSchemas",
			"dependentRequired", "dependencies", "propertyNames", "prefixItems",
			"contains", "unevaluatedProperties", "unevaluatedItems":
			s.Notes = append(s.Notes, fmt.Sprintf("keyword %q not supported; not checked", k))
		}
	}
}

// exclusive reads exclusiveMinimum/exclusiveMaximum: a number (OpenAPI 3.1)
// or a boolean applying to the inclusive bound (OpenAPI 3.0).
func exclusive(n *node, bound *float64) *float64 {
	if n == nil {
		return nil
	}
	switch n.kind {
	case kindNumber:
		if f, ok := n.number(); ok {
			return &f
		}
	case kindBool:
		if n.b && bound != nil {
			f := *bound
			return &f
		}
	}
	return nil
}

// count reads a non-negative integer keyword such as maxLength.
func count(n *node) *int {
	f, ok := n.number()
	if !ok || f < 0 || f != math.Trunc(f) || f > math.MaxInt32 {
		return nil
	}
	i := int(f)
	return &i
}

// object reads properties, required, additionalProperties and fal's order.
func (p *parser) object(s *Schema, n *node, depth int) {
	if s.Kind == KindAny {
		s.Kind = KindObject
	}
	if req := n.get("required"); req != nil && req.kind == kindArray {
		for _, r := range req.arr {
			if name, ok := r.stringValue(); ok {
				s.Required = append(s.Required, name)
			}
		}
	}
	if ord := n.get("x-fal-order-properties"); ord != nil && ord.kind == kindArray {
		for _, o := range ord.arr {
			if name, ok := o.stringValue(); ok {
				s.Order = append(s.Order, name)
			}
		}
	}
	props := n.get("properties")
	if props != nil && props.kind == kindObject {
		byName := make(map[string]*Property)
		var docOrder []string
		for _, name := range props.keys() {
			byName[name] = &Property{Name: name, Schema: p.schema(props.get(name), depth+1)}
			docOrder = append(docOrder, name)
		}
		seen := make(map[string]bool)
		for _, name := range append(append([]string(nil), s.Order...), docOrder...) {
			if pr := byName[name]; pr != nil && !seen[name] {
				seen[name] = true
				s.Properties = append(s.Properties, pr)
			}
		}
		for _, r := range s.Required {
			if pr := byName[r]; pr != nil {
				pr.Required = true
			}
		}
	}
	if ap := n.get("additionalProperties"); ap != nil {
		if ap.kind == kindBool {
			if ap.b {
				s.AdditionalProperties = anySchema("")
			} else {
				s.NoAdditional = true
			}
		} else {
			s.AdditionalProperties = p.schema(ap, depth+1)
		}
	}
}

// union parses anyOf / oneOf. Null members make the result nullable; a
// single remaining member is the result itself (the `Optional[X]` idiom);
// several make a KindUnion.
func (p *parser) union(n *node, depth int) *Schema {
	var members []*node
	for _, key := range []string{"anyOf", "oneOf"} {
		if m := n.get(key); m != nil {
			if m.kind != kindArray {
				return anySchema(key + " is not a list; not checked")
			}
			members = append(members, m.arr...)
		}
	}
	nullable := false
	var variants []*Schema
	for _, m := range members {
		v := p.schema(m, depth+1)
		if v.Kind == KindNull && len(v.Enum) == 0 {
			nullable = true
			continue
		}
		if v.Kind == KindAny {
			// Any member accepts everything: so does the union.
			c := p.useCopy(v, "in a union")
			c.Nullable = c.Nullable || nullable
			return p.unionSiblings(c, n, depth)
		}
		if v.Kind == KindUnion && !v.building && v.Name == "" {
			// Flatten a nested anonymous union.
			variants = append(variants, v.Variants...)
			nullable = nullable || v.Nullable
			continue
		}
		if v.Nullable {
			nullable = true
		}
		variants = append(variants, v)
	}
	var s *Schema
	switch len(variants) {
	case 0:
		s = &Schema{Kind: KindNull}
		if len(members) == 0 {
			s = anySchema("empty anyOf/oneOf; not checked")
		}
	case 1:
		s = p.useCopy(variants[0], "in anyOf/oneOf")
	default:
		s = &Schema{Kind: KindUnion, Variants: variants}
	}
	if nullable {
		s.Nullable = true
	}
	return p.unionSiblings(s, n, depth)
}

// unionSiblings handles keywords beside anyOf/oneOf other than
// annotations: a `type` or constraints there are rare in fal documents and
// are noted, not checked.
func (p *parser) unionSiblings(s *Schema, n *node, depth int) *Schema {
	for _, k := range n.keys() {
		switch {
		case k == "anyOf" || k == "oneOf" || k == "nullable" || strings.HasPrefix(k, "x-") || ignoredKeywords[k]:
		case k == "type":
			// fal writes `type` next to anyOf only when it agrees with
			// the members; nothing to add.
		default:
			s.Notes = append(s.Notes, fmt.Sprintf("keyword %q beside anyOf/oneOf not checked", k))
		}
	}
	return s
}

// allOf merges the members of allOf (and any keywords beside it) into one
// schema: properties and required lists are joined, numeric and length
// bounds take the tighter value. Members of different kinds cannot be
// merged and give any.
func (p *parser) allOf(n *node, depth int) *Schema {
	m := n.get("allOf")
	if m.kind != kindArray {
		return anySchema("allOf is not a list; not checked")
	}
	var parts []*Schema
	for _, e := range m.arr {
		parts = append(parts, p.schema(e, depth+1))
	}
	// Keywords beside allOf other than annotations form one more part.
	rest := &node{kind: kindObject}
	for _, mem := range n.obj {
		if mem.key != "allOf" {
			rest.obj = append(rest.obj, mem)
		}
	}
	if hasConstraints(rest) {
		parts = append(parts, p.schema(rest, depth+1))
	}
	if len(parts) == 0 {
		return anySchema("empty allOf; not checked")
	}
	if len(parts) == 1 {
		return p.useCopy(parts[0], "in allOf")
	}
	return mergeAll(parts)
}

// hasConstraints reports whether a schema object has keywords other than
// annotations and extensions.
func hasConstraints(n *node) bool {
	for _, k := range n.keys() {
		if !ignoredKeywords[k] && k != "nullable" && !strings.HasPrefix(k, "x-") {
			return true
		}
	}
	return false
}

func mergeAll(parts []*Schema) *Schema {
	out := &Schema{Kind: KindAny}
	for _, s := range parts {
		if s.building {
			return anySchema("recursive reference in allOf; not checked")
		}
		if s.Kind == KindAny && len(s.Notes) > 0 {
			return anySchema("allOf member not understood; not checked")
		}
		switch {
		case s.Kind == KindAny:
		case out.Kind == KindAny:
			out.Kind = s.Kind
		case out.Kind == s.Kind:
		case (out.Kind == KindNumber && s.Kind == KindInteger) || (out.Kind == KindInteger && s.Kind == KindNumber):
			out.Kind = KindInteger
		default:
			return anySchema(fmt.Sprintf("allOf of %s and %s; not checked", out.Kind, s.Kind))
		}
		if out.Title == "" {
			out.Title = s.Title
		}
		if out.Description == "" {
			out.Description = s.Description
		}
		if out.Format == "" {
			out.Format = s.Format
		}
		if !out.HasDefault && s.HasDefault {
			out.Default, out.HasDefault = s.Default, true
		}
		out.Examples = append(out.Examples, s.Examples...)
		// Strictly, null passes allOf only if every member takes it;
		// either one saying so is read as nullable, erring on accepting.
		out.Nullable = out.Nullable || s.Nullable
		if len(s.Enum) > 0 {
			if len(out.Enum) == 0 {
				out.Enum = append([]any(nil), s.Enum...)
			} else {
				out.Enum = intersect(out.Enum, s.Enum)
			}
		}
		out.Minimum = tighter(out.Minimum, s.Minimum, math.Max)
		out.Maximum = tighter(out.Maximum, s.Maximum, math.Min)
		out.ExclusiveMinimum = tighter(out.ExclusiveMinimum, s.ExclusiveMinimum, math.Max)
		out.ExclusiveMaximum = tighter(out.ExclusiveMaximum, s.ExclusiveMaximum, math.Min)
		out.MinLength = tighterInt(out.MinLength, s.MinLength, true)
		out.MaxLength = tighterInt(out.MaxLength, s.MaxLength, false)
		out.MinItems = tighterInt(out.MinItems, s.MinItems, true)
		out.MaxItems = tighterInt(out.MaxItems, s.MaxItems, false)
		if out.Pattern == "" {
			out.Pattern = s.Pattern
		}
		for _, pr := range s.Properties {
			if out.Property(pr.Name) == nil {
				c := *pr
				out.Properties = append(out.Properties, &c)
			}
		}
		for _, r := range s.Required {
			if !contains(out.Required, r) {
				out.Required = append(out.Required, r)
			}
		}
		if len(out.Order) == 0 {
			out.Order = s.Order
		}
		if s.NoAdditional {
			out.NoAdditional = true
		}
		if out.AdditionalProperties == nil {
			out.AdditionalProperties = s.AdditionalProperties
		}
		if out.Items == nil {
			out.Items = s.Items
		}
		out.Variants = append(out.Variants, s.Variants...)
		out.Notes = append(out.Notes, s.Notes...)
	}
	for _, pr := range out.Properties {
		pr.Required = contains(out.Required, pr.Name)
	}
	// allOf [$ref X] beside a `type` (or another member adding no
	// properties) is still X, for the generator's sake.
	named, plain := 0, true
	for _, s := range parts {
		if s.Name != "" {
			named++
			out.Name = s.Name
		} else if len(s.Properties) > 0 || len(s.Variants) > 0 || s.Items != nil {
			plain = false
		}
	}
	if named != 1 || !plain {
		out.Name = ""
	}
	if out.Kind == KindUnion && len(out.Variants) == 0 {
		out.Kind = KindAny
	}
	return out
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func intersect(a, b []any) []any {
	var out []any
	for _, x := range a {
		for _, y := range b {
			if sameValue(x, y) {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

func tighter(a, b *float64, pick func(x, y float64) float64) *float64 {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	f := pick(*a, *b)
	return &f
}

func tighterInt(a, b *int, isMin bool) *int {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	if (isMin && *b > *a) || (!isMin && *b < *a) {
		return b
	}
	return a
}

// sameValue compares two decoded JSON scalars, numbers by value.
func sameValue(x, y any) bool {
	if fx, ok := toFloat(x); ok {
		fy, ok := toFloat(y)
		return ok && fx == fy
	}
	return x == y
}

// toFloat converts a decoded JSON number (json.Number, float64 or any Go
// integer or float type) to float64.
func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}
