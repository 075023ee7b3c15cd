// Package gen generates typed Go packages for fal endpoints from their
// OpenAPI documents: the engine of `falgo gen` and of the packages shipped
// under endpoints/ (go generate ./endpoints/...).
//
// It reads documents through package openapi, the same reader the CLI's
// input check uses, so the generated types and that check agree on every
// schema: fal's field order (x-fal-order-properties), the anyOf-with-null
// idiom, allOf, $ref resolution, and what degrades.
//
// It is internal on purpose: what users depend on is the generated code
// and its runtime, package endpoints (public), and the command that writes
// it; the generator's Go API can then change without a major version. A
// project that generates its own packages runs the command, e.g. from a
// go:generate line:
//
//	//go:generate go run github.com/falgo/fal/cmd/falgo gen --openapi schemas/ -o .
//
// # What is generated
//
// One package per endpoint, in one file (FileName), named after the
// endpoint id (PackageName: fal-ai/flux/schnell → schnell,
// fal-ai/ideogram/v2 → ideogramv2) and written to the id's path. It starts
// with the generated-code marker, the endpoint, the document's source and
// the sha256 of the document's bytes, then declares EndpointID, Input,
// Output, a named type per enum, nested object and union, and the calls
// (Run, Subscribe, Submit, Attach, Decode, and Stream when Spec.Stream).
// The package documentation of endpoints describes the result for users.
//
// The mapping, schema to Go:
//
//   - string, integer, number, boolean: string, int, float64, bool.
//   - An enum: a named type of those, with one constant per value
//     (OutputFormatJPEG). Inline enums with the same name and values share
//     one type.
//   - An object with properties: a struct, fields in fal's order, json
//     tags with the property names; a component keeps its name
//     (ImageSize; registry__image__fast_sdxl__models__Image → Image), an
//     inline object is named after its property (Settings, or
//     <Parent><Property> when taken). An object without properties is a
//     map (map[string]float64 for timings, map[string]any when free).
//   - fal's file schemas (a url and a content_type, file_name or
//     file_size; or a url in a schema named like a file): fal.File when it
//     holds every field, else a struct embedding fal.File with the others.
//     file_data counts as held: fal's toolkit never sends it in JSON.
//   - Inputs named …_url (strings) and …_urls (lists of strings):
//     *endpoints.FileInput, a URL or a file uploaded before the request.
//   - anyOf/oneOf of several schemas: string members merge into one
//     string type (an enum whose constants are every member's values,
//     open to others when a member has no enum), integer and number into
//     one number; one remaining member is the type itself; several make a
//     union struct (a pointer field per member, a Raw field, constructors
//     <Union>From<Member>, MarshalJSON and UnmarshalJSON choosing the
//     member by the JSON value's kind, objects first by exact keys). A
//     union named after its property is <Property>Union when a component
//     of the same name exists (image_size and ImageSize).
//   - Optional fields (not in required): pointers for numbers, booleans,
//     enums of numbers and structs; plain values for strings, lists, maps
//     and string enums, all with omitempty, so that unset means left out
//     and a seed of 0 or false is still sent; an optional string with a
//     non-empty default is a *string, and an optional list or map with a
//     non-empty default is tagged omitzero (nil is left out, an empty one
//     is sent). Required fields are plain values (structs by value, but a
//     struct inside itself by pointer), or pointers when they are also
//     nullable, so that null is sent and read as null.
//   - Union members that come out as the same Go type (a Video or a File,
//     both fal.File) are one member.
//   - Anything else: a schema allowing any value is any; one the
//     generator or package openapi does not understand (an unknown type,
//     not, tuple items, an external $ref, an enum of mixed types, a schema
//     allowing only null) is json.RawMessage with a comment, and a line in
//     File.Warnings. Generation never fails on a schema; it fails only
//     when the document is not JSON, names no endpoint id (and Spec gives
//     none), or the id or package name cannot be used.
//
// Go names come from the JSON names, with Go's initialisms (URL, ID, HTTP,
// JSON, NSFW, …); names that collide get the parent type's name in front,
// then a number. Schema text is cleaned before it becomes a comment
// (control and invisible formatting characters removed, lengths bounded),
// since a document is data from a server. The output is gofmt'd and
// deterministic: the same document always gives the same bytes.
package gen
