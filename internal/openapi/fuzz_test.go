package openapi_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/falgo/fal/internal/openapi"
)

// FuzzParse feeds arbitrary documents to Parse and everything after it:
// nothing may panic or hang, whatever the document.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"components":{"schemas":{"A":{"$ref":"#/components/schemas/A"}}}}`,
		string(doc(`{"$ref": "#/components/schemas/Loop"}`, `"Loop": {"anyOf": [{"$ref": "#/components/schemas/Loop"}, {"allOf": [{"$ref": "#/components/schemas/Loop"}]}], "default": 1}`)),
		string(doc(`{"type": "object", "properties": {"a": {"$ref": "#/paths"}, "b": {"$ref": "#/components/schemas/TestInput/properties/b"}}}`, "")),
		string(doc(`{"type": ["object", "array", "null"], "items": {"$ref": "#"}, "properties": {"x": {"oneOf": [{"type": "integer"}, {"type": "integer", "enum": [1]}]}}}`, "")),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := openapi.Parse(data)
		if err != nil {
			return
		}
		if e.Input == nil || e.Output == nil {
			t.Fatal("nil Input or Output")
		}
		for _, fields := range [][]openapi.Field{e.Inputs(), e.Outputs()} {
			for _, fl := range fields {
				_ = fl.DefaultText()
				_ = openapi.TypeString(fl.Schema)
				_ = openapi.RangeString(fl.Schema)
			}
		}
		for _, s := range e.Schemas {
			_ = openapi.TypeString(s)
		}
		// Inputs built from the document itself: its defaults and
		// examples, the whole document, and a few odd values.
		in := map[string]any{}
		odd := []any{nil, "x", json.Number("1e999"), json.Number("-0.5"), 3.0, true, []any{map[string]any{}}, map[string]any{"width": "1"}}
		for i, p := range e.Input.Properties {
			switch {
			case p.Schema.HasDefault:
				in[p.Name] = p.Schema.Default
			case len(p.Schema.Examples) > 0:
				in[p.Name] = p.Schema.Examples[0]
			default:
				in[p.Name] = odd[i%len(odd)]
			}
		}
		_ = e.Validate(in)
		var whole map[string]any
		if json.Unmarshal(data, &whole) == nil {
			_ = e.Validate(whole)
		}
		_ = e.Validate(nil)
	})
}
