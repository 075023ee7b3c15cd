package gen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/falgo/fal/internal/openapi"
)

// category says how a Go type behaves as an optional field.
type category int

const (
	catValue   category = iota // numbers and booleans: the zero value is a value of its own
	catString                  // strings: "" reads as unset
	catStruct                  // struct values: not omitted by omitempty, so optional ones are pointers
	catNilable                 // slices, maps, pointers, interfaces, json.RawMessage: nil is unset
)

// goType is the Go type generated for a schema.
type goType struct {
	expr  string
	cat   category
	plain bool       // exactly string, with no enum
	named *namedType // the generated type expr names, if any
	raw   string     // set when the schema degraded to json.RawMessage: why
}

// kinds of generated declarations.
type declKind int

const (
	declStruct declKind = iota
	declEnum
	declUnion
	declAlias // type X = <expr>
)

// namedType is one generated type declaration.
type namedType struct {
	name   string
	kind   declKind
	doc    []string // paragraphs
	schema *openapi.Schema

	// declStruct
	embedFile bool // embeds fal.File (a file schema with more fields)
	fields    []*field
	building  bool // its fields are being resolved (a reference now is a cycle)

	// declEnum
	underlying string // string, int or float64
	consts     []enumConst
	open       bool // other values are accepted too

	// declUnion
	variants []*variant

	// declAlias
	alias string
}

type field struct {
	name, json string
	expr       string
	omit       string // the json tag's omit option: "", "omitempty" or "omitzero"
	doc        []string
}

type enumConst struct {
	name, lit string
}

// variant is one member of a union type.
type variant struct {
	field string
	typ   goType
	kind  byte // the JSON it decodes from: '"', '{', '[', 'b' (boolean), '0' (number)
	ctor  string
}

// hint says where a schema is used, for naming inline types and for the
// choices that depend on the use (file inputs).
type hint struct {
	parent string // Go name of the enclosing type
	prop   string // JSON property name ("" at the top)
	item   bool   // the schema is the element of an array property
	input  bool   // reached from the input
	base   string // preferred name of an inline type, overriding prop
	member bool   // the schema is a member of a union
}

func (h hint) baseName() string {
	if h.base != "" {
		return h.base
	}
	b := goName(h.prop)
	if h.prop == "" {
		b = "Value"
	}
	if h.item {
		b += "Item"
	}
	return b
}

// maxDepth bounds how deeply inline schemas are followed; deeper ones
// degrade to json.RawMessage.
const maxDepth = 32

func (g *generator) rawType(why string) goType {
	g.imports["encoding/json"] = true
	return goType{expr: "json.RawMessage", cat: catNilable, raw: why}
}

// resolve returns the Go type of schema s used as h says.
func (g *generator) resolve(s *openapi.Schema, h hint, depth int) goType {
	if s == nil {
		return goType{expr: "any", cat: catNilable}
	}
	if depth > maxDepth {
		return g.rawType("schema nested too deeply")
	}
	switch s.Kind {
	case openapi.KindString:
		if len(s.Enum) > 0 {
			return g.enumType(s, h, "string")
		}
		if h.input && isFileInput(h) {
			g.imports["github.com/falgo/fal/endpoints"] = true
			return goType{expr: "*endpoints.FileInput", cat: catNilable}
		}
		return goType{expr: "string", cat: catString, plain: true}
	case openapi.KindInteger:
		if len(s.Enum) > 0 {
			return g.enumType(s, h, "int")
		}
		return goType{expr: "int", cat: catValue}
	case openapi.KindNumber:
		if len(s.Enum) > 0 {
			return g.enumType(s, h, "float64")
		}
		return goType{expr: "float64", cat: catValue}
	case openapi.KindBoolean:
		return goType{expr: "bool", cat: catValue}
	case openapi.KindNull:
		return g.rawType("the schema allows only null")
	case openapi.KindObject:
		return g.objectType(s, h, depth)
	case openapi.KindArray:
		elem := g.resolve(s.Items, hint{parent: h.parent, prop: h.prop, item: true, input: h.input, base: itemBase(h)}, depth+1)
		return goType{expr: "[]" + elem.expr, cat: catNilable, named: elem.named, raw: elem.raw}
	case openapi.KindUnion:
		return g.unionType(s, h, depth)
	}
	if len(s.Notes) > 0 {
		return g.rawType(strings.Join(s.Notes, "; "))
	}
	return goType{expr: "any", cat: catNilable}
}

func itemBase(h hint) string {
	if h.base != "" {
		return h.base + "Item"
	}
	return ""
}

// isFileInput reports whether an input string is a file fal takes by URL:
// fal names them …_url (image_url, mask_url, audio_url) and lists of them
// …_urls (image_urls).
func isFileInput(h hint) bool {
	p := strings.ToLower(h.prop)
	if h.item {
		return strings.HasSuffix(p, "_urls")
	}
	return strings.HasSuffix(p, "_url")
}

// enumType returns the named type of an enum, shared by every use of the
// same values under the same name.
func (g *generator) enumType(s *openapi.Schema, h hint, underlying string) goType {
	base := h.baseName()
	if s.Name != "" {
		if nt := g.byComponent[s.Name]; nt != nil {
			return goType{expr: nt.name, cat: enumCat(underlying), named: nt}
		}
		base = ""
	}
	var lits []string
	for _, v := range s.Enum {
		lit, ok := literal(v, underlying)
		if !ok {
			return g.rawType(fmt.Sprintf("enum values of mixed types (%s)", openapi.FormatValue(s.Enum)))
		}
		lits = append(lits, lit)
	}
	key := underlying + "\x00" + base + "\x00" + strings.Join(lits, "\x00")
	if s.Name == "" {
		if nt := g.enums[key]; nt != nil {
			return goType{expr: nt.name, cat: enumCat(underlying), named: nt}
		}
	}
	nt := &namedType{kind: declEnum, underlying: underlying, schema: s}
	if s.Name != "" {
		nt.name = g.componentName(s.Name)
		g.byComponent[s.Name] = nt
		nt.doc = g.componentDoc(nt.name, s)
	} else {
		nt.name = g.names.claim(base, h.parent+base)
		g.enums[key] = nt
		nt.doc = []string{g.inlineDoc(nt.name, h)}
	}
	g.addConsts(nt, s.Enum, lits)
	g.decls = append(g.decls, nt)
	return goType{expr: nt.name, cat: enumCat(underlying), named: nt}
}

func enumCat(underlying string) category {
	if underlying == "string" {
		return catString
	}
	return catValue
}

// addConsts names the enum's constants.
func (g *generator) addConsts(nt *namedType, vals []any, lits []string) {
	seen := make(map[string]bool)
	for i, v := range vals {
		if seen[lits[i]] {
			continue
		}
		seen[lits[i]] = true
		name := constName(nt.name, v)
		if name == "" {
			name = fmt.Sprintf("%sValue%d", nt.name, i+1)
		}
		nt.consts = append(nt.consts, enumConst{name: g.names.claim(name), lit: lits[i]})
	}
}

// literal renders an enum value as a Go constant of the underlying type.
func literal(v any, underlying string) (string, bool) {
	switch underlying {
	case "string":
		s, ok := v.(string)
		if !ok {
			return "", false
		}
		return fmt.Sprintf("%q", s), true
	case "int", "float64":
		if _, ok := v.(string); ok || v == nil {
			return "", false
		}
		if _, ok := v.(bool); ok {
			return "", false
		}
		lit := openapi.FormatValue(v)
		if underlying == "int" && strings.ContainsAny(lit, ".eE") {
			return "", false
		}
		return lit, true
	}
	return "", false
}

// inlineDoc is the first line of an inline type's documentation.
func (g *generator) inlineDoc(name string, h hint) string {
	if h.member {
		return fmt.Sprintf("%s is one of the kinds of value of %s.", name, g.useSite(h))
	}
	return fmt.Sprintf("%s is the type of %s.", name, g.useSite(h))
}

// useSite names where an inline type is used: "Input.OutputFormat".
func (g *generator) useSite(h hint) string {
	if h.prop == "" {
		return h.parent
	}
	s := h.parent + "." + goName(h.prop)
	if h.item {
		s = "the elements of " + s
	}
	return s
}

// fileFields are the properties of fal's File schemas that fal.File has,
// with the kind each must have to decode into it. file_data, the file's
// bytes, is among them although fal.File has no field for it: fal's
// toolkit never puts it in JSON (it is excluded from serialization).
var fileFields = map[string]openapi.Kind{
	"url": openapi.KindString, "content_type": openapi.KindString, "file_name": openapi.KindString,
	"file_size": openapi.KindInteger, "width": openapi.KindInteger, "height": openapi.KindInteger,
	"file_data": openapi.KindString,
}

// fileShape reports whether an object schema is one of fal's file
// schemas (File, Image, Video, AudioFile, …: a url and a content_type,
// file_name or file_size, or a url in a schema named like a file), and
// whether fal.File holds all of it.
func fileShape(s *openapi.Schema) (isFile, pure bool) {
	u := s.Property("url")
	if u == nil || (u.Schema.Kind != openapi.KindString && u.Schema.Kind != openapi.KindAny) {
		return false, false
	}
	marker := s.Property("content_type") != nil || s.Property("file_name") != nil || s.Property("file_size") != nil
	if !marker {
		n := strings.ToLower(s.Name)
		for _, w := range []string{"file", "image", "video", "audio"} {
			if strings.Contains(n, w) {
				marker = true
			}
		}
	}
	if !marker {
		return false, false
	}
	pure = true
	for _, p := range s.Properties {
		k, ok := fileFields[p.Name]
		if !ok || (p.Schema.Kind != k && !(p.Name == "url" && p.Schema.Kind == openapi.KindAny)) {
			pure = false
		}
	}
	return true, pure
}

// objectType returns the Go type of an object schema.
func (g *generator) objectType(s *openapi.Schema, h hint, depth int) goType {
	if nt := g.lookup(s); nt != nil {
		return goType{expr: nt.name, cat: catStruct, named: nt}
	}
	if isFile, pure := fileShape(s); isFile && pure {
		g.imports["github.com/falgo/fal"] = true
		return goType{expr: "fal.File", cat: catStruct}
	}
	if len(s.Properties) == 0 {
		if ap := s.AdditionalProperties; ap != nil && ap.Kind != openapi.KindAny {
			val := g.resolve(ap, hint{parent: h.parent, prop: h.prop, input: h.input, base: h.baseName() + "Value"}, depth+1)
			return goType{expr: "map[string]" + val.expr, cat: catNilable, named: val.named, raw: val.raw}
		}
		return goType{expr: "map[string]any", cat: catNilable}
	}
	nt := &namedType{kind: declStruct, schema: s, building: true}
	if s.Name != "" {
		nt.name = g.componentName(s.Name)
		nt.doc = g.componentDoc(nt.name, s)
	} else {
		nt.name = g.names.claim(h.baseName(), h.parent+h.baseName())
		nt.doc = []string{g.inlineDoc(nt.name, h)}
		if d := docText(s.Description); d != "" {
			nt.doc = append(nt.doc, sentence(d))
		}
	}
	g.register(s, nt)
	g.decls = append(g.decls, nt)
	g.fillStruct(nt, s, h.input, depth)
	return goType{expr: nt.name, cat: catStruct, named: nt}
}

// lookup returns the type already generated for s: the same schema, or
// the same component (a use-site copy of it).
func (g *generator) lookup(s *openapi.Schema) *namedType {
	if nt := g.bySchema[s]; nt != nil {
		return nt
	}
	if s.Name != "" {
		return g.byComponent[s.Name]
	}
	return nil
}

func (g *generator) register(s *openapi.Schema, nt *namedType) {
	g.bySchema[s] = nt
	if s.Name != "" {
		g.byComponent[s.Name] = nt
	}
}

// componentName returns the name reserved for a component.
func (g *generator) componentName(name string) string {
	if n, ok := g.reserved[name]; ok {
		return n
	}
	n := g.names.claim(typeName(name), longTypeName(name))
	g.reserved[name] = n
	return n
}

// componentDoc documents a component's type with the component's own
// description, not that of the use that reached it first.
func (g *generator) componentDoc(goName string, s *openapi.Schema) []string {
	if c := g.components[s.Name]; c != nil {
		s = c
	}
	doc := []string{fmt.Sprintf("%s is fal's %s schema.", goName, s.Name)}
	if d := docText(s.Description); d != "" {
		doc = append(doc, sentence(d))
	} else if t := docText(s.Title); t != "" && !sameWords(t, s.Name) {
		doc = append(doc, sentence(t))
	}
	return doc
}

// fillStruct generates the fields of a struct type, in fal's order.
func (g *generator) fillStruct(nt *namedType, s *openapi.Schema, input bool, depth int) {
	defer func() { nt.building = false }()
	names := newNamer()
	if isFile, _ := fileShape(s); isFile {
		nt.embedFile = true
		g.imports["github.com/falgo/fal"] = true
		names.claim("File")
		nt.doc = append(nt.doc, "It is a fal.File (URL, ContentType, FileName, FileSize, Width, Height; Download) with the schema's other fields.")
	}
	var skipped []string
	for _, p := range s.Properties {
		if nt.embedFile {
			if k, ok := fileFields[p.Name]; ok && (p.Schema.Kind == k || p.Name == "url") {
				continue // held by the embedded fal.File
			}
		}
		if !validJSONTag(p.Name) {
			skipped = append(skipped, fmt.Sprintf("%q", p.Name))
			g.warn("%s: property %q cannot be a Go struct field (its name is not a valid json tag); left out", nt.name, p.Name)
			continue
		}
		t := g.resolve(p.Schema, hint{parent: nt.name, prop: p.Name, input: input}, depth+1)
		f := &field{name: names.claim(goName(p.Name)), json: p.Name}
		if t.named != nil && t.named.building && t.cat == catStruct {
			t.expr, t.cat = "*"+t.expr, catNilable // a cycle: a value would be infinitely large
		}
		f.expr = t.expr
		switch {
		case !p.Required:
			f.omit = "omitempty"
			switch {
			case t.cat == catValue || t.cat == catStruct:
				f.expr = "*" + t.expr
			case t.plain && nonEmptyDefault(p.Schema):
				f.expr = "*string" // "" is a value of its own here
			case t.cat == catNilable && nonEmptyCollectionDefault(p.Schema):
				// An empty list is a value of its own here (none of the
				// default styles): only nil is left out.
				f.omit = "omitzero"
			}
		case p.Schema.Nullable && t.cat != catNilable:
			// Required but nullable: always sent, and null must be
			// sendable and readable, which a plain value cannot hold.
			f.expr = "*" + t.expr
		}
		f.doc = fieldDoc(p, t, input)
		if t.raw != "" {
			g.warn("%s.%s: %s; generated as json.RawMessage", nt.name, f.name, t.raw)
		}
		nt.fields = append(nt.fields, f)
	}
	if len(skipped) > 0 {
		nt.doc = append(nt.doc, "Not available as fields (their names cannot be json tags): "+strings.Join(skipped, ", ")+".")
	}
	if ap := s.AdditionalProperties; ap != nil && len(s.Properties) > 0 {
		nt.doc = append(nt.doc, "The schema allows properties besides these; they are not kept.")
	}
}

// nonEmptyCollectionDefault reports a default that is a non-empty list
// or object.
func nonEmptyCollectionDefault(s *openapi.Schema) bool {
	if !s.HasDefault {
		return false
	}
	switch d := s.Default.(type) {
	case []any:
		return len(d) > 0
	case map[string]any:
		return len(d) > 0
	}
	return false
}

func nonEmptyDefault(s *openapi.Schema) bool {
	if !s.HasDefault {
		return false
	}
	str, ok := s.Default.(string)
	return ok && str != ""
}

// unionType returns the Go type of an anyOf/oneOf of several schemas.
// String members merge into one string type (JSON cannot tell them
// apart), as do integer and number; when one member remains, that is the
// type; otherwise a union struct with one pointer field per member.
func (g *generator) unionType(s *openapi.Schema, h hint, depth int) goType {
	if nt := g.lookup(s); nt != nil {
		if nt.name == "" {
			return g.rawType("a union that contains itself")
		}
		return goType{expr: "*" + nt.name, cat: catNilable, named: nt}
	}
	base := h.baseName()
	if s.Name != "" {
		base = typeName(s.Name)
	}

	var strs, nums, others []*openapi.Schema
	for _, v := range s.Variants {
		switch v.Kind {
		case openapi.KindString:
			strs = append(strs, v)
		case openapi.KindInteger, openapi.KindNumber:
			nums = append(nums, v)
		default:
			others = append(others, v)
		}
	}
	groups := len(others)
	if len(strs) > 0 {
		groups++
	}
	if len(nums) > 0 {
		groups++
	}

	// The string members as one schema: the enum values of all, open to
	// other values when one member has no enum.
	var strSchema *openapi.Schema
	open := false
	if len(strs) > 0 {
		strSchema = strs[0]
		if len(strs) > 1 || len(strs[0].Enum) > 0 {
			merged := &openapi.Schema{Kind: openapi.KindString, Name: strs[0].Name}
			seen := map[string]bool{}
			for _, v := range strs {
				if len(v.Enum) == 0 {
					open = true
				}
				for _, e := range v.Enum {
					if str, ok := e.(string); ok && !seen[str] {
						seen[str] = true
						merged.Enum = append(merged.Enum, e)
					}
				}
				if v.Name != merged.Name {
					merged.Name = ""
				}
			}
			if len(merged.Enum) > 0 && merged.Name != "" && len(strs) > 1 {
				merged.Name = "" // a component merged with others is no longer itself
			}
			if len(strs) == 1 {
				merged = strs[0]
			}
			strSchema = merged
		}
	}
	var numSchema *openapi.Schema
	for _, v := range nums {
		if numSchema == nil || (v.Kind == openapi.KindNumber && numSchema.Kind == openapi.KindInteger) {
			numSchema = v
		}
	}

	if groups == 1 {
		// Not a union for Go: one type, documented as the union was.
		switch {
		case strSchema != nil:
			t := g.resolve(strSchema, hint{parent: h.parent, prop: h.prop, item: h.item, input: h.input, base: h.base}, depth+1)
			if open && t.named != nil && t.named.kind == declEnum {
				t.named.open = true
			}
			return t
		case numSchema != nil:
			return g.resolve(numSchema, h, depth+1)
		}
		return g.resolve(others[0], h, depth+1)
	}

	nt := &namedType{kind: declUnion, schema: s}
	g.register(s, nt)
	var members []*variant
	fields := newNamer("Raw")
	add := func(v *openapi.Schema, kind byte, fieldName string, t goType) {
		if t.named != nil && t.named.kind == declEnum && open && kind == '"' {
			t.named.open = true
		}
		for _, m := range members {
			if m.typ.expr == t.expr {
				return // the same Go type twice (Video or File, both files): one member holds both
			}
		}
		f := fieldName
		if v.Name != "" && t.named != nil {
			f = t.named.name
		} else if t.expr == "fal.File" {
			f = "File"
		}
		members = append(members, &variant{field: fields.claim(f), typ: t, kind: kind})
	}
	if strSchema != nil {
		t := g.resolve(strSchema, hint{parent: h.parent, prop: h.prop, item: h.item, input: h.input, base: base + "Preset", member: true}, depth+1)
		f := "String"
		if len(strSchema.Enum) > 0 {
			f = "Preset"
		}
		add(strSchema, '"', f, t)
	}
	if numSchema != nil {
		t := g.resolve(numSchema, hint{parent: h.parent, prop: h.prop, item: h.item, input: h.input, base: base + "Number", member: true}, depth+1)
		f := "Number"
		if numSchema.Kind == openapi.KindInteger {
			f = "Int"
		}
		add(numSchema, '0', f, t)
	}
	for _, v := range others {
		var kind byte
		var f string
		switch v.Kind {
		case openapi.KindBoolean:
			kind, f = 'b', "Bool"
		case openapi.KindObject:
			kind, f = '{', "Object"
			if len(v.Properties) == 0 {
				f = "Map"
			}
		case openapi.KindArray:
			kind, f = '[', "List"
		default:
			g.warn("%s: a member of kind %s of a union is not supported; such values are kept in Raw", base, v.Kind)
			continue
		}
		t := g.resolve(v, hint{parent: h.parent, prop: h.prop, item: h.item, input: h.input, base: base + f, member: true}, depth+1)
		if t.raw != "" {
			continue
		}
		add(v, kind, f, t)
	}

	// The union's own name comes last, so that the components it holds
	// (ImageSize) keep theirs.
	if s.Name != "" {
		nt.name = g.componentName(s.Name)
		nt.doc = g.componentDoc(nt.name, s)
	} else {
		nt.name = g.names.claim(base, base+"Union", h.parent+base+"Union")
		nt.doc = []string{fmt.Sprintf("%s is the type of %s.", nt.name, g.useSite(h))}
	}
	nt.variants = members
	for _, m := range members {
		m.ctor = g.names.claim(nt.name + "From" + m.field)
	}
	g.imports["encoding/json"] = true
	g.imports["github.com/falgo/fal/endpoints"] = true
	g.decls = append(g.decls, nt)
	return goType{expr: "*" + nt.name, cat: catNilable, named: nt}
}

// memberType is the type of a union member's field: a pointer, except for
// types that can be nil.
func (v *variant) memberType() string {
	if v.typ.cat == catNilable {
		return v.typ.expr
	}
	return "*" + v.typ.expr
}

// sortedImports lists the imports in gofmt's order.
func sortedImports(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
