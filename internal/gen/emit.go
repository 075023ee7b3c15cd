package gen

import (
	"bytes"
	"fmt"
	"strings"
)

// emit writes the package source (gofmt'd afterwards).
func (g *generator) emit() []byte {
	var b bytes.Buffer
	g.header(&b)
	g.packageDoc(&b)
	fmt.Fprintf(&b, "package %s\n\n", g.pkg)

	if g.spec.Stream {
		g.imports["iter"] = true
	}
	b.WriteString("import (\n")
	var std, other []string
	for _, imp := range sortedImports(g.imports) {
		if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
			other = append(other, imp)
		} else {
			std = append(std, imp)
		}
	}
	for _, imp := range std {
		fmt.Fprintf(&b, "\t%q\n", imp)
	}
	b.WriteString("\n")
	for _, imp := range other {
		if imp == "github.com/falgo/fal" {
			fmt.Fprintf(&b, "\tfal %q\n", imp)
		} else {
			fmt.Fprintf(&b, "\t%q\n", imp)
		}
	}
	b.WriteString(")\n\n")

	b.WriteString("// EndpointID is the fal endpoint this package calls.\n")
	fmt.Fprintf(&b, "const EndpointID = %q\n\n", g.id)

	g.decl(&b, g.input)
	g.decl(&b, g.output)
	for _, d := range g.decls {
		g.decl(&b, d)
	}
	g.calls(&b)
	return b.Bytes()
}

// header is the generated-code marker, the endpoint and the schema's
// hash.
func (g *generator) header(b *bytes.Buffer) {
	b.WriteString(Marker + "\n")
	fmt.Fprintf(b, "//\n// Endpoint: %s\n", g.id)
	if src := docText(g.spec.Source); src != "" && !strings.Contains(src, "\n") {
		fmt.Fprintf(b, "// Source: %s\n", src)
	}
	fmt.Fprintf(b, "// Schema sha256: %s\n\n", g.hash)
}

func (g *generator) packageDoc(b *bytes.Buffer) {
	calls := "Run (fal's synchronous endpoint), Subscribe (the queue, waiting for the output) or Submit (the queue, with a Handle to follow the request)"
	if g.spec.Stream {
		calls = "Run (fal's synchronous endpoint), Subscribe (the queue, waiting for the output), Submit (the queue, with a Handle to follow the request) or Stream (partial outputs as they are made)"
	}
	paras := []string{
		fmt.Sprintf("Package %s calls the fal endpoint %s with typed input and output, generated from its OpenAPI document: fill an Input, call %s, and read the Output.", g.pkg, g.id, calls),
	}
	var facts []string
	if g.meta.Category != "" {
		facts = append(facts, "Category: "+g.meta.Category+".")
	}
	if g.meta.DocumentationURL != "" {
		facts = append(facts, "Documentation: "+g.meta.DocumentationURL)
	}
	if len(facts) > 0 {
		paras = append(paras, strings.Join(facts, " "))
	}
	if n := docText(g.spec.Note); n != "" {
		paras = append(paras, n)
	}
	paras = append(paras, "Optional fields are left out of the request when unset. They are pointers where the zero value is a value of its own (a seed of 0, false), set with endpoints.Ptr; strings, lists and maps are plain, empty meaning unset. File inputs (*endpoints.FileInput) take a URL (endpoints.FileURL) or a file uploaded before the request (endpoints.LocalFile, endpoints.File); file outputs are fal.File.")
	writeComment(b, "", paras)
}

// decl writes one type declaration and what belongs to it.
func (g *generator) decl(b *bytes.Buffer, nt *namedType) {
	writeComment(b, "", nt.doc)
	switch nt.kind {
	case declAlias:
		fmt.Fprintf(b, "type %s = %s\n\n", nt.name, nt.alias)
	case declStruct:
		fmt.Fprintf(b, "type %s struct {\n", nt.name)
		if nt.embedFile {
			b.WriteString("\tfal.File\n")
			if len(nt.fields) > 0 {
				b.WriteString("\n")
			}
		}
		for _, f := range nt.fields {
			writeComment(b, "\t", f.doc)
			tag := f.json
			if f.omit != "" {
				tag += "," + f.omit
			}
			fmt.Fprintf(b, "\t%s %s `json:%q`\n", f.name, f.expr, tag)
		}
		b.WriteString("}\n\n")
	case declEnum:
		fmt.Fprintf(b, "type %s %s\n\n", nt.name, nt.underlying)
		doc := fmt.Sprintf("The values of %s.", nt.name)
		if nt.open {
			doc += " Other values are accepted too."
		}
		writeComment(b, "", []string{doc})
		b.WriteString("const (\n")
		for _, c := range nt.consts {
			fmt.Fprintf(b, "\t%s %s = %s\n", c.name, nt.name, c.lit)
		}
		b.WriteString(")\n\n")
	case declUnion:
		g.union(b, nt)
	}
}

// kindWords describe the JSON a union member is read from.
var kindWords = map[byte]string{'"': "a string", '0': "a number", 'b': "a boolean", '{': "an object", '[': "an array"}

// union writes a union type: a struct with one field per member, its
// constructors and its JSON methods.
func (g *generator) union(b *bytes.Buffer, nt *namedType) {
	var ctors []string
	for _, v := range nt.variants {
		ctors = append(ctors, v.ctor)
	}
	// decl wrote the doc comment; this continues it.
	fmt.Fprintf(b, "//\n// Set one field, or make one with %s.\n", orList(ctors))
	fmt.Fprintf(b, "type %s struct {\n", nt.name)
	for _, v := range nt.variants {
		fmt.Fprintf(b, "\t// %s is set for %s (%s).\n", v.field, kindWords[v.kind], strings.TrimPrefix(v.typ.expr, "*"))
		fmt.Fprintf(b, "\t%s %s\n", v.field, v.memberType())
	}
	b.WriteString("\t// Raw is a value none of the fields holds, as received.\n")
	b.WriteString("\tRaw json.RawMessage\n")
	b.WriteString("}\n\n")

	for _, v := range nt.variants {
		fmt.Fprintf(b, "// %s returns %s %s holding v.\n", v.ctor, article(nt.name), nt.name)
		ref := "&v"
		if v.typ.cat == catNilable {
			ref = "v"
		}
		fmt.Fprintf(b, "func %s(v %s) *%s { return &%s{%s: %s} }\n\n", v.ctor, v.typ.expr, nt.name, nt.name, v.field, ref)
	}

	fmt.Fprintf(b, "// MarshalJSON encodes the field that is set: null when none is.\n")
	fmt.Fprintf(b, "func (u %s) MarshalJSON() ([]byte, error) {\n\tswitch {\n", nt.name)
	for _, v := range nt.variants {
		fmt.Fprintf(b, "\tcase u.%s != nil:\n\t\treturn json.Marshal(u.%s)\n", v.field, v.field)
	}
	b.WriteString("\tcase u.Raw != nil:\n\t\treturn u.Raw, nil\n\t}\n\treturn []byte(\"null\"), nil\n}\n\n")

	fmt.Fprintf(b, "// UnmarshalJSON sets the field that holds the kind of JSON value b is; a\n// value none of them takes is kept in Raw.\n")
	fmt.Fprintf(b, "func (u *%s) UnmarshalJSON(b []byte) error {\n\t*u = %s{}\n\tswitch endpoints.JSONKind(b) {\n\tcase 'n':\n\t\treturn nil\n", nt.name, nt.name)
	for _, k := range []byte{'"', '0', 'b', '{', '['} {
		var vs []*variant
		for _, v := range nt.variants {
			if v.kind == k {
				vs = append(vs, v)
			}
		}
		if len(vs) == 0 {
			continue
		}
		switch k {
		case '"':
			b.WriteString("\tcase '\"':\n")
		case '0':
			b.WriteString("\tcase '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':\n")
		case 'b':
			b.WriteString("\tcase 't', 'f':\n")
		case '{':
			b.WriteString("\tcase '{':\n")
		case '[':
			b.WriteString("\tcase '[':\n")
		}
		if len(vs) > 1 {
			// Several members take this kind: the first that knows every
			// key, then the first that decodes at all.
			for _, v := range vs {
				decodeMember(b, v, "endpoints.DecodeStrict(b, &v)", true)
			}
			for _, v := range vs {
				decodeMember(b, v, "json.Unmarshal(b, &v)", true)
			}
		} else {
			decodeMember(b, vs[0], "json.Unmarshal(b, &v)", false)
		}
	}
	b.WriteString("\t}\n\tu.Raw = append(json.RawMessage(nil), b...)\n\treturn nil\n}\n\n")
}

// decodeMember writes the attempt to decode b as member v.
func decodeMember(b *bytes.Buffer, v *variant, call string, block bool) {
	typ, ref := v.memberType(), "v"
	if v.typ.cat != catNilable {
		typ, ref = v.typ.expr, "&v"
	}
	if block {
		b.WriteString("\t\t{\n")
	}
	fmt.Fprintf(b, "\t\tvar v %s\n\t\tif %s == nil {\n\t\t\tu.%s = %s\n\t\t\treturn nil\n\t\t}\n", typ, call, v.field, ref)
	if block {
		b.WriteString("\t\t}\n")
	}
}

// calls writes the typed calls.
func (g *generator) calls(b *bytes.Buffer) {
	id := g.id
	fn := func(doc, code string) {
		writeComment(b, "", []string{doc})
		b.WriteString(code + "\n\n")
	}
	fn(fmt.Sprintf("Run calls %s on fal's synchronous endpoint (fal.Client.Run) and returns its output. File inputs are uploaded first. A nil c means the default client (fal.Run).", id),
		`func Run(ctx context.Context, c *fal.Client, in Input, opts ...fal.RequestOption) (*Output, error) {
	return endpoints.Run[Output](ctx, c, EndpointID, in, opts...)
}`)
	fn(fmt.Sprintf("Subscribe runs %s through fal's queue (fal.Client.Subscribe): it submits the input, waits for the request to complete and returns its output. A nil c means the default client.", id),
		`func Subscribe(ctx context.Context, c *fal.Client, in Input, opts ...fal.RequestOption) (*Output, error) {
	return endpoints.Subscribe[Output](ctx, c, EndpointID, in, opts...)
}`)
	fn(fmt.Sprintf("Handle is a request of %s in fal's queue: Status, Events and Cancel follow it, Result waits for its Output.", id),
		`type Handle = endpoints.Handle[Output]`)
	fn(fmt.Sprintf("Submit puts a request for %s in fal's queue (fal.Client.Submit) and returns its Handle at once. A nil c means the default client.", id),
		`func Submit(ctx context.Context, c *fal.Client, in Input, opts ...fal.RequestOption) (*Handle, error) {
	return endpoints.Submit[Output](ctx, c, EndpointID, in, opts...)
}`)
	fn("Attach returns the Handle of a request submitted earlier, from its request id (fal.Client.Handle). No request is made.",
		`func Attach(c *fal.Client, requestID string, opts ...fal.RequestOption) (*Handle, error) {
	return endpoints.Attach[Output](c, EndpointID, requestID, opts...)
}`)
	if g.spec.Stream {
		fn(fmt.Sprintf("Stream calls the streaming endpoint of %s (fal.Client.Stream) and yields each event as an Output: the partial outputs the app sends as it works, whose missing fields are zero. Breaking out of the loop closes the connection. A nil c means the default client.", id),
			`func Stream(ctx context.Context, c *fal.Client, in Input, opts ...fal.RequestOption) iter.Seq2[*Output, error] {
	return endpoints.Stream[Output](ctx, c, EndpointID, in, opts...)
}`)
	}
	fn(fmt.Sprintf("Decode decodes a raw result of %s (from fal.Client.Run or Subscribe, or a fal.RequestHandle) into an Output.", id),
		`func Decode(res *fal.Result) (*Output, error) {
	return endpoints.Decode[Output](res)
}`)
}

// orList joins names as "A, B or C".
func orList(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// article is "an" before a vowel, else "a".
func article(word string) string {
	if word != "" && strings.ContainsRune("AEIOUaeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}
