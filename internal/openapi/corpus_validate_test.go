package openapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/falgo/fal/internal/openapi"
)

// goodInput builds an input from a document: every field that has an
// example gets its first example, every other field with a default gets
// the default, and required fields with neither get a made-up value of
// the right kind.
func goodInput(s *openapi.Schema) map[string]any {
	in := map[string]any{}
	for _, p := range s.Properties {
		switch {
		case len(p.Schema.Examples) > 0:
			in[p.Name] = p.Schema.Examples[0]
		case p.Schema.HasDefault:
			in[p.Name] = p.Schema.Default
		case p.Required:
			in[p.Name] = makeValue(p.Name, p.Schema, 0)
		}
	}
	return in
}

// requiredOnly builds an input with only the required fields.
func requiredOnly(s *openapi.Schema) map[string]any {
	in := map[string]any{}
	for _, p := range s.Properties {
		if p.Required {
			in[p.Name] = makeValue(p.Name, p.Schema, 0)
		}
	}
	return in
}

// makeValue makes a valid value for a schema.
func makeValue(name string, s *openapi.Schema, depth int) any {
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	switch s.Kind {
	case openapi.KindString:
		v := "a red fox in the snow"
		if strings.Contains(name, "url") {
			v = "https://example.com/input.png"
		}
		if s.MinLength != nil {
			for len(v) < *s.MinLength {
				v += " more"
			}
		}
		if s.MaxLength != nil && len(v) > *s.MaxLength {
			v = v[:*s.MaxLength]
		}
		return v
	case openapi.KindInteger, openapi.KindNumber:
		switch {
		case s.Minimum != nil:
			return json.Number(fmt.Sprint(*s.Minimum))
		case s.ExclusiveMinimum != nil:
			return json.Number(fmt.Sprint(*s.ExclusiveMinimum + 1))
		case s.Maximum != nil:
			return json.Number(fmt.Sprint(*s.Maximum))
		}
		return json.Number("1")
	case openapi.KindBoolean:
		return true
	case openapi.KindArray:
		n := 1
		if s.MinItems != nil && *s.MinItems > n {
			n = *s.MinItems
		}
		out := make([]any, n)
		for i := range out {
			out[i] = makeValue(name, s.Items, depth+1)
		}
		return out
	case openapi.KindObject:
		obj := map[string]any{}
		if depth < 5 {
			for _, p := range s.Properties {
				if p.Required {
					obj[p.Name] = makeValue(p.Name, p.Schema, depth+1)
				}
			}
		}
		return obj
	case openapi.KindUnion:
		return makeValue(name, s.Variants[0], depth+1)
	}
	return "anything"
}

// roundTrip re-decodes an input through JSON, with numbers as json.Number
// (useNumber) or float64, as the CLI and the MCP server would get it.
func roundTrip(t *testing.T, in map[string]any, useNumber bool) map[string]any {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if useNumber {
		dec.UseNumber()
	}
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValidateCorpusGoodInputs(t *testing.T) {
	for _, d := range loadCorpus(t) {
		for name, in := range map[string]map[string]any{
			"examples and defaults": goodInput(d.e.Input),
			"required only":         requiredOnly(d.e.Input),
		} {
			for _, useNumber := range []bool{true, false} {
				got := d.e.Validate(roundTrip(t, in, useNumber))
				if len(got) != 0 {
					t.Errorf("%s, %s (json.Number %v): %v\ninput %s", d.file, name, useNumber, got, openapi.FormatValue(in))
				}
			}
		}
	}
}

// A mutation breaks one thing in a good input; want names the problem it
// must cause.
type mutation struct {
	kind       string // misspelt, missing, type, enum, range, nested
	path       string // where the problem must be reported
	suggestion string // the suggestion it must carry, if any
	contains   string // a word the message must contain
	allowPaths []string
}

// mutate applies every mutation a document allows to copies of in and
// returns them with what each must produce.
func mutations(e *openapi.Endpoint, in map[string]any) (outs []map[string]any, want []mutation) {
	add := func(m map[string]any, w mutation) {
		outs = append(outs, m)
		want = append(want, w)
	}
	fields := e.Input.Properties

	// A misspelt field: the longest name, two middle letters swapped.
	longest := fields[0]
	for _, p := range fields {
		if len(p.Name) > len(longest.Name) {
			longest = p
		}
	}
	r := []rune(longest.Name)
	i := len(r) / 2
	r[i-1], r[i] = r[i], r[i-1]
	typo := string(r)
	if typo != longest.Name {
		m := clone(in)
		m[typo] = m[longest.Name]
		if m[typo] == nil {
			m[typo] = makeValue(longest.Name, longest.Schema, 0)
		}
		delete(m, longest.Name)
		add(m, mutation{kind: "misspelt", path: typo, suggestion: longest.Name, contains: "did you mean", allowPaths: []string{longest.Name}})
	}

	// A missing required field.
	for _, p := range fields {
		if p.Required {
			m := clone(in)
			delete(m, p.Name)
			add(m, mutation{kind: "missing", path: p.Name, contains: "missing required"})
			break
		}
	}

	// A wrong type, once per kind the document has.
	wrong := map[openapi.Kind]any{
		openapi.KindString:  json.Number("12345"),
		openapi.KindInteger: "twelve",
		openapi.KindNumber:  "a lot",
		openapi.KindBoolean: "maybe",
		openapi.KindArray:   "not a list",
		openapi.KindObject:  json.Number("7"),
	}
	done := map[openapi.Kind]bool{}
	for _, p := range fields {
		v, ok := wrong[p.Schema.Kind]
		if !ok || done[p.Schema.Kind] {
			continue
		}
		done[p.Schema.Kind] = true
		m := clone(in)
		m[p.Name] = v
		add(m, mutation{kind: "type", path: p.Name, contains: "must be"})
	}

	// A value just outside an enum: the first value with "x" added.
	for _, p := range fields {
		ev := enumOf(p.Schema)
		if len(ev) == 0 {
			continue
		}
		s, ok := ev[0].(string)
		if !ok {
			continue
		}
		m := clone(in)
		m[p.Name] = s + "x"
		w := mutation{kind: "enum", path: p.Name, contains: "is not one of"}
		if len([]rune(s)) >= 3 {
			w.suggestion = s
		}
		add(m, w)
		break
	}

	// A number outside its bounds.
	for _, p := range fields {
		s := p.Schema
		if s.Kind != openapi.KindInteger && s.Kind != openapi.KindNumber || len(s.Enum) > 0 {
			continue
		}
		var v float64
		switch {
		case s.Maximum != nil:
			v = *s.Maximum + 1
		case s.ExclusiveMaximum != nil:
			v = *s.ExclusiveMaximum
		case s.Minimum != nil:
			v = *s.Minimum - 1
		case s.ExclusiveMinimum != nil:
			v = *s.ExclusiveMinimum
		default:
			continue
		}
		m := clone(in)
		m[p.Name] = json.Number(fmt.Sprint(v))
		add(m, mutation{kind: "range", path: p.Name, contains: "must be"})
		break
	}

	// A bad value inside a nested object: directly, in a union member
	// (image_size: ImageSize) or in an array of objects (loras[0]).
	for _, p := range fields {
		obj, inArray := nestedObject(p.Schema)
		if obj == nil {
			continue
		}
		var target *openapi.Property
		for _, np := range obj.Properties {
			if _, ok := wrong[np.Schema.Kind]; ok && np.Schema.Kind != openapi.KindObject {
				target = np
				break
			}
		}
		if target == nil {
			continue
		}
		inner := makeValue("", obj, 0).(map[string]any)
		inner[target.Name] = wrong[target.Schema.Kind]
		m := clone(in)
		path := p.Name + "." + target.Name
		if inArray {
			m[p.Name] = []any{inner}
			path = p.Name + "[0]." + target.Name
		} else {
			m[p.Name] = inner
		}
		add(m, mutation{kind: "nested", path: path, contains: "must be"})
		break
	}
	return outs, want
}

func enumOf(s *openapi.Schema) []any {
	if len(s.Enum) > 0 {
		return s.Enum
	}
	if s.Kind == openapi.KindUnion {
		for _, v := range s.Variants {
			if len(v.Enum) > 0 {
				return v.Enum
			}
		}
	}
	return nil
}

// nestedObject finds an object schema with properties inside s.
func nestedObject(s *openapi.Schema) (obj *openapi.Schema, inArray bool) {
	switch s.Kind {
	case openapi.KindObject:
		if len(s.Properties) > 0 {
			return s, false
		}
	case openapi.KindArray:
		if s.Items != nil && s.Items.Kind == openapi.KindObject && len(s.Items.Properties) > 0 {
			return s.Items, true
		}
	case openapi.KindUnion:
		for _, v := range s.Variants {
			if v.Kind == openapi.KindObject && len(v.Properties) > 0 {
				return v, false
			}
		}
	}
	return nil, false
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestValidateCorpusMutations(t *testing.T) {
	kinds := []string{"misspelt", "missing", "type", "enum", "range", "nested"}
	applied := map[string]map[string]int{}
	for _, d := range loadCorpus(t) {
		applied[d.file] = map[string]int{}
		base := goodInput(d.e.Input)
		outs, wants := mutations(d.e, base)
		for i, m := range outs {
			w := wants[i]
			for _, useNumber := range []bool{true, false} {
				probs := d.e.Validate(roundTrip(t, m, useNumber))
				found := false
				for _, p := range probs {
					switch {
					case p.Path == w.path:
						if strings.Contains(p.Message, w.contains) && p.Suggestion == w.suggestion {
							found = true
						}
					case contains(w.allowPaths, p.Path):
					default:
						t.Errorf("%s %s: unexpected problem %q", d.file, w.kind, p)
					}
				}
				if !found {
					t.Errorf("%s %s: want a problem at %q containing %q with suggestion %q; got %v", d.file, w.kind, w.path, w.contains, w.suggestion, probs)
				}
			}
			applied[d.file][w.kind]++
		}
	}
	// Every document gets the mutations that apply to it; say which ran.
	var files []string
	for f := range applied {
		files = append(files, f)
	}
	sort.Strings(files)
	total := map[string]int{}
	for _, f := range files {
		var row []string
		for _, k := range kinds {
			if applied[f][k] > 0 {
				row = append(row, k)
				total[k]++
			}
		}
		t.Logf("%-50s %s", f, strings.Join(row, " "))
		for _, k := range []string{"misspelt", "missing", "type"} {
			if applied[f][k] == 0 {
				t.Errorf("%s: no %s mutation applied", f, k)
			}
		}
	}
	t.Logf("documents per mutation: %v", total)
	for _, k := range kinds {
		if total[k] < 8 {
			t.Errorf("only %d documents got a %s mutation", total[k], k)
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// An Endpoint is read-only after Parse: many goroutines may validate with
// it at once (run with -race).
func TestValidateConcurrently(t *testing.T) {
	docs := loadCorpus(t)
	done := make(chan bool)
	for g := 0; g < 8; g++ {
		go func(g int) {
			defer func() { done <- true }()
			for i := range docs {
				d := docs[(i+g)%len(docs)]
				in := goodInput(d.e.Input)
				if probs := d.e.Validate(in); len(probs) != 0 {
					t.Errorf("%s: %v", d.file, probs)
				}
				_ = d.e.Inputs()
			}
		}(g)
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}
