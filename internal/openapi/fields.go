package openapi

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A Field is one top-level input (or output) field as `falgo schema` and
// the MCP server show it.
type Field struct {
	Name string
	// Type is human-readable: "string", "integer", "boolean",
	// "enum(square_hd, square, portrait_4_3, …)", "object ImageSize",
	// "array of Image", "string | ImageSize", "any". Null is not part of
	// it; see Nullable.
	Type     string
	Required bool
	Nullable bool
	// Default is the default value (as decoded from JSON), valid when
	// HasDefault; DefaultText renders it.
	Default    any
	HasDefault bool
	// Enum lists the allowed values, rendered: of the field, of the enum
	// member of a union (image_size's presets), or of array elements.
	Enum []string
	// Range describes numeric, length and item-count bounds, e.g.
	// "1 <= x <= 4", "0 < x <= 14142", "length <= 3000", "items <= 4";
	// "" when unbounded.
	Range       string
	Title       string
	Description string
	Format      string
	Examples    []any
	// Notes say what of the field's schema is not checked.
	Notes []string
	// Schema is the field's full schema.
	Schema *Schema
}

// DefaultText renders the default as JSON ("" when there is none):
// `"square_hd"`, `28`, `true`, `{"height":2048,"width":2048}`.
func (f Field) DefaultText() string {
	if !f.HasDefault {
		return ""
	}
	return FormatValue(f.Default)
}

// FormatValue renders a decoded JSON value compactly as JSON.
func FormatValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Inputs lists the input fields in fal's order (x-fal-order-properties,
// then document order). It is empty when the input schema is not an
// object with properties.
func (e *Endpoint) Inputs() []Field { return fieldsOf(e.Input) }

// Outputs lists the output fields in fal's order.
func (e *Endpoint) Outputs() []Field { return fieldsOf(e.Output) }

func fieldsOf(s *Schema) []Field {
	if s == nil || s.Kind != KindObject {
		return nil
	}
	out := make([]Field, 0, len(s.Properties))
	for _, p := range s.Properties {
		out = append(out, fieldOf(p))
	}
	return out
}

func fieldOf(p *Property) Field {
	s := p.Schema
	f := Field{
		Name:        p.Name,
		Type:        TypeString(s),
		Required:    p.Required,
		Nullable:    s.Nullable,
		Default:     s.Default,
		HasDefault:  s.HasDefault,
		Enum:        enumValues(s),
		Range:       RangeString(s),
		Title:       s.Title,
		Description: s.Description,
		Format:      s.Format,
		Examples:    s.Examples,
		Notes:       s.Notes,
		Schema:      s,
	}
	return f
}

// enumValues returns the rendered enum of s, of its union's enum member,
// or of its array elements.
func enumValues(s *Schema) []string {
	src := s
	switch {
	case len(s.Enum) > 0:
	case s.Kind == KindUnion:
		src = nil
		for _, v := range s.Variants {
			if len(v.Enum) > 0 {
				src = v
				break
			}
		}
	case s.Kind == KindArray && s.Items != nil && len(s.Items.Enum) > 0:
		src = s.Items
	default:
		src = nil
	}
	if src == nil {
		return nil
	}
	out := make([]string, len(src.Enum))
	for i, v := range src.Enum {
		out[i] = enumText(v)
	}
	return out
}

// enumText renders an enum value: strings bare, others as JSON.
func enumText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return FormatValue(v)
}

// maxEnumShown is how many enum values Type shows before "…".
const maxEnumShown = 6

// TypeString renders a schema's type for people: "string", "integer",
// "enum(a, b, c)", "object ImageSize", "array of Image",
// "string | ImageSize", "any".
func TypeString(s *Schema) string {
	budget := 64
	return typeString(s, 0, &budget)
}

func typeString(s *Schema, depth int, budget *int) string {
	*budget--
	if s == nil || depth > 8 || *budget < 0 {
		return "any"
	}
	switch s.Kind {
	case KindString, KindInteger, KindNumber, KindBoolean:
		if len(s.Enum) > 0 {
			return enumType(s.Enum)
		}
		return s.Kind.String()
	case KindObject:
		if s.Name != "" {
			return "object " + s.Name
		}
		if len(s.Properties) == 0 && s.AdditionalProperties != nil && s.AdditionalProperties.Kind != KindAny {
			return "map of " + typeString(s.AdditionalProperties, depth+1, budget)
		}
		return "object"
	case KindArray:
		if s.Items == nil {
			return "array"
		}
		return "array of " + shortType(s.Items, depth+1, budget)
	case KindUnion:
		parts := make([]string, 0, len(s.Variants))
		for _, v := range s.Variants {
			t := shortType(v, depth+1, budget)
			if !contains(parts, t) {
				parts = append(parts, t)
			}
		}
		return strings.Join(parts, " | ")
	case KindNull:
		return "null"
	}
	return "any"
}

// shortType is typeString for elements and union members: a named object
// is just its name, and an enum is its base kind (the values are listed
// in Field.Enum).
func shortType(s *Schema, depth int, budget *int) string {
	if s == nil {
		return "any"
	}
	if s.Kind == KindObject && s.Name != "" {
		return s.Name
	}
	if len(s.Enum) > 0 && depth > 0 && s.Kind != KindAny {
		return s.Kind.String()
	}
	t := typeString(s, depth, budget)
	if s.Kind == KindUnion {
		return "(" + t + ")"
	}
	return t
}

func enumType(vals []any) string {
	parts := make([]string, 0, maxEnumShown+1)
	for i, v := range vals {
		if i == maxEnumShown {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, enumText(v))
	}
	return "enum(" + strings.Join(parts, ", ") + ")"
}

// RangeString describes a schema's bounds: "1 <= x <= 4", "0 < x <= 14142",
// "x >= 0", "length 1..3000", "items <= 4"; "" when there are none.
func RangeString(s *Schema) string {
	if s == nil {
		return ""
	}
	var parts []string
	lo, loOp := "", ""
	switch {
	case s.ExclusiveMinimum != nil && (s.Minimum == nil || *s.ExclusiveMinimum >= *s.Minimum):
		lo, loOp = num(*s.ExclusiveMinimum), "<"
	case s.Minimum != nil:
		lo, loOp = num(*s.Minimum), "<="
	}
	hi, hiOp := "", ""
	switch {
	case s.ExclusiveMaximum != nil && (s.Maximum == nil || *s.ExclusiveMaximum <= *s.Maximum):
		hi, hiOp = num(*s.ExclusiveMaximum), "<"
	case s.Maximum != nil:
		hi, hiOp = num(*s.Maximum), "<="
	}
	switch {
	case lo != "" && hi != "":
		parts = append(parts, lo+" "+loOp+" x "+hiOp+" "+hi)
	case lo != "":
		parts = append(parts, "x "+flip(loOp)+" "+lo)
	case hi != "":
		parts = append(parts, "x "+hiOp+" "+hi)
	}
	if r := countRange("length", s.MinLength, s.MaxLength); r != "" {
		parts = append(parts, r)
	}
	if r := countRange("items", s.MinItems, s.MaxItems); r != "" {
		parts = append(parts, r)
	}
	return strings.Join(parts, ", ")
}

func flip(op string) string {
	if op == "<" {
		return ">"
	}
	return ">="
}

func countRange(what string, min, max *int) string {
	switch {
	case min != nil && max != nil:
		return fmt.Sprintf("%s %d..%d", what, *min, *max)
	case min != nil:
		return fmt.Sprintf("%s >= %d", what, *min)
	case max != nil:
		return fmt.Sprintf("%s <= %d", what, *max)
	}
	return ""
}

// num renders a bound without a needless fraction or exponent: 4, 0.5,
// 2147483647; very large or small values as 1e+20.
func num(f float64) string {
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e15) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
