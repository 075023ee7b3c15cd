package openapi

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A Problem is one reason an input would be refused.
type Problem struct {
	// Path locates the value: "prompt", "image_size.width",
	// "loras[0].scale"; "" for the input as a whole.
	Path string
	// Message is one line a person or an agent can act on, such as
	// `unknown field "promt"; did you mean "prompt"?` or
	// `must be <= 12, got 28`.
	Message string
	// Suggestion is the field name or enum value meant, when a close one
	// exists ("prompt", "portrait_4_3"); "" otherwise.
	Suggestion string
}

// String returns "path: message", or the message alone at the top level.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Validate checks an input, as decoded from JSON (numbers as json.Number or
// float64; Go integer types are accepted too), against the endpoint's
// input schema and returns what fal would refuse, in a stable order
// (fields in fal's order, then unknown fields by name). No problems means
// the input passes every check this package makes, not that fal will run
// it.
//
// It refuses unknown fields (with a "did you mean" for close names),
// missing required fields, values of the wrong type, values outside an
// enum (with a "did you mean" for close values), numbers outside
// minimum/maximum (inclusive or exclusive), strings outside
// minLength/maxLength and arrays outside minItems/maxItems, in nested
// objects and arrays too.
//
// It errs on accepting. fal apps validate with pydantic, whose default
// ("lax") mode coerces, so these pass: integers written as 4.0; numbers
// and integers given as numeric strings ("4"); booleans for numbers;
// 0, 1 and "true"/"false"/"yes"/"no"/… for booleans; null for a field
// that is not required (fal's older documents drop the null of optional
// fields: playai's seed is `type: integer` with `examples: [null]`).
// Strings are not checked against format or pattern, so file inputs take
// any URL or a data URI. A field whose schema degraded to any (see
// Schema.Notes) is never refused. A union passes when any member does.
//
// Unknown fields are the one place it is stricter than fal: fal ignores
// them, which is how a misspelt field silently costs a run with the
// wrong settings. Objects that declare no properties, or allow
// additionalProperties, take any field.
func (e *Endpoint) Validate(input map[string]any) []Problem {
	v := &validator{budget: maxValidateSteps}
	var root any = input
	if input == nil {
		root = map[string]any{}
	}
	v.check(e.Input, root, "", 0, false)
	return v.problems
}

// ValidateValue checks any decoded JSON value against a schema, as
// Validate does for an endpoint's input.
func ValidateValue(s *Schema, value any) []Problem {
	v := &validator{budget: maxValidateSteps}
	v.check(s, value, "", 0, false)
	return v.problems
}

// maxValidateSteps bounds the work of one validation, so that a schema
// built to branch (unions of unions of …) cannot make it slow; past the
// bound the rest of the input is accepted unchecked.
const maxValidateSteps = 100000

// maxValidateDepth bounds nesting, through data and through schemas.
const maxValidateDepth = 64

type validator struct {
	problems []Problem
	budget   int
}

func (v *validator) add(path, msg, suggestion string) {
	v.problems = append(v.problems, Problem{Path: path, Message: msg, Suggestion: suggestion})
}

// check validates value against s. optional says the value is a field that
// is not required (null passes then; see Validate).
func (v *validator) check(s *Schema, value any, path string, depth int, optional bool) {
	v.budget--
	if s == nil || v.budget < 0 || depth > maxValidateDepth || s.building {
		return
	}
	if s.Kind == KindAny {
		return
	}
	if value == nil {
		if s.Nullable || s.Kind == KindNull || optional || unionTakesNull(s) {
			return
		}
		v.add(path, "must not be null; want "+TypeString(s), "")
		return
	}
	switch s.Kind {
	case KindNull:
		v.add(path, "must be null, got "+describe(value), "")
	case KindString:
		str, ok := value.(string)
		if !ok {
			v.add(path, "must be a string, got "+describe(value), "")
			return
		}
		if !v.enum(s, value, path) {
			return
		}
		n := utf8.RuneCountInString(str)
		if s.MinLength != nil && n < *s.MinLength {
			v.add(path, fmt.Sprintf("must be at least %d characters, got %d", *s.MinLength, n), "")
		}
		if s.MaxLength != nil && n > *s.MaxLength {
			v.add(path, fmt.Sprintf("must be at most %d characters, got %d", *s.MaxLength, n), "")
		}
	case KindInteger, KindNumber:
		f, ok := numeric(value)
		if !ok {
			v.add(path, "must be "+article(s.Kind)+", got "+describe(value), "")
			return
		}
		if s.Kind == KindInteger && (f != math.Trunc(f) || math.IsInf(f, 0)) {
			v.add(path, "must be a whole number, got "+describe(value), "")
			return
		}
		if !v.enum(s, value, path) {
			return
		}
		v.bounds(s, f, value, path)
	case KindBoolean:
		if _, ok := boolean(value); !ok {
			v.add(path, "must be true or false, got "+describe(value), "")
			return
		}
		v.enum(s, value, path)
	case KindObject:
		obj, ok := value.(map[string]any)
		if !ok {
			v.add(path, "must be "+objectWant(s)+", got "+describe(value), "")
			return
		}
		v.object(s, obj, path, depth)
	case KindArray:
		arr, ok := value.([]any)
		if !ok {
			v.add(path, "must be a list, got "+describe(value), "")
			return
		}
		if s.MinItems != nil && len(arr) < *s.MinItems {
			v.add(path, fmt.Sprintf("must have at least %d items, got %d", *s.MinItems, len(arr)), "")
		}
		if s.MaxItems != nil && len(arr) > *s.MaxItems {
			v.add(path, fmt.Sprintf("must have at most %d items, got %d", *s.MaxItems, len(arr)), "")
		}
		for i, el := range arr {
			v.check(s.Items, el, path+"["+strconv.Itoa(i)+"]", depth+1, false)
		}
	case KindUnion:
		v.union(s, value, path, depth)
	}
}

func unionTakesNull(s *Schema) bool {
	if s.Kind != KindUnion {
		return false
	}
	for _, m := range s.Variants {
		if m.Nullable || m.Kind == KindNull || m.Kind == KindAny {
			return true
		}
	}
	return false
}

func article(k Kind) string {
	if k == KindInteger {
		return "an integer"
	}
	return "a number"
}

func objectWant(s *Schema) string {
	if s.Name != "" {
		return "an object (" + s.Name + ")"
	}
	return "an object"
}

// numeric reads a number the way pydantic's lax mode does: JSON numbers,
// numeric strings, and booleans (as 0 and 1).
func numeric(value any) (float64, bool) {
	if f, ok := toFloat(value); ok {
		return f, true
	}
	switch x := value.(type) {
	case string:
		// pydantic accepts "4" and " 4.5 " for numbers; so do we.
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil || math.IsNaN(f) {
			return 0, false
		}
		return f, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// boolean reads a boolean the way pydantic's lax mode does.
func boolean(value any) (bool, bool) {
	switch x := value.(type) {
	case bool:
		return x, true
	case string:
		switch x {
		case "true", "True", "t", "y", "yes", "on", "1":
			return true, true
		case "false", "False", "f", "n", "no", "off", "0":
			return false, true
		}
		return false, false
	}
	if f, ok := toFloat(value); ok && (f == 0 || f == 1) {
		return f == 1, true
	}
	return false, false
}

// enum checks value against s.Enum and reports whether it passed.
func (v *validator) enum(s *Schema, value any, path string) bool {
	if len(s.Enum) == 0 {
		return true
	}
	for _, e := range s.Enum {
		if enumMatch(s.Kind, e, value) {
			return true
		}
	}
	names := make([]string, len(s.Enum))
	for i, e := range s.Enum {
		names[i] = enumText(e)
	}
	given := enumText(value)
	suggestion := suggest(given, names)
	msg := fmt.Sprintf("%s is not one of %s", FormatValue(value), listing(names, 12))
	if suggestion != "" {
		msg += fmt.Sprintf("; did you mean %q?", suggestion)
	}
	v.add(path, msg, suggestion)
	return false
}

func enumMatch(k Kind, e, value any) bool {
	switch k {
	case KindInteger, KindNumber:
		fe, ok1 := toFloat(e)
		fv, ok2 := numeric(value)
		return ok1 && ok2 && fe == fv
	case KindBoolean:
		be, ok1 := e.(bool)
		bv, ok2 := boolean(value)
		return ok1 && ok2 && be == bv
	}
	return sameValue(e, value)
}

func (v *validator) bounds(s *Schema, f float64, value any, path string) {
	got := describeNumber(value)
	if s.Minimum != nil && f < *s.Minimum {
		v.add(path, fmt.Sprintf("must be >= %s, got %s", num(*s.Minimum), got), "")
	}
	if s.ExclusiveMinimum != nil && f <= *s.ExclusiveMinimum {
		v.add(path, fmt.Sprintf("must be > %s, got %s", num(*s.ExclusiveMinimum), got), "")
	}
	if s.Maximum != nil && f > *s.Maximum {
		v.add(path, fmt.Sprintf("must be <= %s, got %s", num(*s.Maximum), got), "")
	}
	if s.ExclusiveMaximum != nil && f >= *s.ExclusiveMaximum {
		v.add(path, fmt.Sprintf("must be < %s, got %s", num(*s.ExclusiveMaximum), got), "")
	}
}

func (v *validator) object(s *Schema, obj map[string]any, path string, depth int) {
	// Required fields first, in fal's order, then the values present.
	for _, p := range s.Properties {
		val, present := obj[p.Name]
		if !present {
			if p.Required {
				v.add(join(path, p.Name), fmt.Sprintf("missing required field %q (%s)", p.Name, TypeString(p.Schema)), "")
			}
			continue
		}
		v.check(p.Schema, val, join(path, p.Name), depth+1, !p.Required)
	}
	// Required names without a property schema: still required.
	for _, r := range s.Required {
		if s.Property(r) == nil {
			if _, present := obj[r]; !present {
				v.add(join(path, r), fmt.Sprintf("missing required field %q", r), "")
			}
		}
	}
	var unknown []string
	for k := range obj {
		if s.Property(k) == nil && !contains(s.Required, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return
	}
	sort.Strings(unknown)
	closed := len(s.Properties) > 0 && s.AdditionalProperties == nil || s.NoAdditional
	for _, k := range unknown {
		if !closed {
			if s.AdditionalProperties != nil {
				v.check(s.AdditionalProperties, obj[k], join(path, k), depth+1, true)
			}
			continue
		}
		names := make([]string, 0, len(s.Properties))
		for _, p := range s.Properties {
			if _, present := obj[p.Name]; !present {
				names = append(names, p.Name)
			}
		}
		suggestion := suggest(k, names)
		msg := fmt.Sprintf("unknown field %q", k)
		if suggestion != "" {
			msg += fmt.Sprintf("; did you mean %q?", suggestion)
		} else {
			all := make([]string, len(s.Properties))
			for i, p := range s.Properties {
				all[i] = p.Name
			}
			msg += "; fields are " + listing(all, 12)
		}
		v.add(join(path, k), msg, suggestion)
	}
}

// union passes when any variant accepts the value. Otherwise it reports
// the problems of the variant that fits the value's JSON type (an object
// for ImageSize, a string for the presets), or a summary.
func (v *validator) union(s *Schema, value any, path string, depth int) {
	var best []Problem
	bestFits := false
	for _, m := range s.Variants {
		sub := &validator{budget: v.budget}
		sub.check(m, value, path, depth+1, false)
		v.budget = sub.budget
		if len(sub.problems) == 0 {
			return
		}
		fits := kindFits(m, value)
		if best == nil || (fits && !bestFits) || (fits == bestFits && len(sub.problems) < len(best)) {
			best, bestFits = sub.problems, fits
		}
	}
	if bestFits {
		v.problems = append(v.problems, best...)
		return
	}
	v.add(path, "must be "+TypeString(s)+", got "+describe(value), "")
}

// kindFits reports whether value has the JSON type of s, ignoring
// constraints.
func kindFits(s *Schema, value any) bool {
	switch value.(type) {
	case string:
		return s.Kind == KindString
	case map[string]any:
		return s.Kind == KindObject
	case []any:
		return s.Kind == KindArray
	case bool:
		return s.Kind == KindBoolean
	case nil:
		return s.Kind == KindNull
	}
	if _, ok := toFloat(value); ok {
		return s.Kind == KindInteger || s.Kind == KindNumber
	}
	return false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// listing renders up to max names, then "…".
func listing(names []string, max int) string {
	if len(names) > max {
		return strings.Join(names[:max], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}

// describe renders a value's JSON type and, for scalars, the value itself:
// `string "four"`, `number 4.5`, `an object`, `a list`.
func describe(value any) string {
	switch x := value.(type) {
	case nil:
		return "null"
	case string:
		if utf8.RuneCountInString(x) > 40 {
			r := []rune(x)
			x = string(r[:40]) + "…"
		}
		return "string " + strconv.Quote(x)
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	if _, ok := toFloat(value); ok {
		return "number " + describeNumber(value)
	}
	return fmt.Sprintf("%T", value)
}

func describeNumber(value any) string {
	switch x := value.(type) {
	case json.Number:
		return x.String()
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	}
	if f, ok := toFloat(value); ok {
		return num(f)
	}
	return fmt.Sprint(value)
}
