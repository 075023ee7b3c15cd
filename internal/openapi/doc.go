// Package openapi reads fal's per-endpoint OpenAPI documents and checks
// inputs against them before anything is billed.
//
// fal publishes one OpenAPI 3.0 document per endpoint (the Platform API's
// GET /v1/models?endpoint_id=…&expand=openapi-3.0, or
// https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=…). It
// describes the endpoint's queue API: the submit path POST /<id> whose
// request body is the <Name>Input schema, the result path
// GET /<id>/requests/{request_id} answering <Name>Output, and shared
// component schemas (File, Image, ImageSize, …).
//
// Three users read them through this package: the CLI (`falgo schema APP`
// lists the inputs in fal's order; `falgo run`, `submit` and `batch`
// refuse bad inputs before sending anything), the MCP server (the same
// check, with problems an agent can fix), and the Go code generator
// (typed packages per endpoint). [Parse] reads a document into an
// [Endpoint]; [Endpoint.Inputs] lists its fields; [Endpoint.Validate]
// checks an input.
//
// # What of OpenAPI is supported
//
//   - The endpoint id from info.x-fal-metadata.endpointId, the submit path
//     (under servers[0].url) or info.title; the input and output schemas
//     from the submit path's requestBody and the result path's 200
//     response, falling back to the <Name>Input / <Name>Output naming.
//   - $ref within the document (any JSON pointer, not only
//     #/components/schemas), memoized and safe with recursive schemas.
//   - type (a name, or a list as in OpenAPI 3.1), nullable, enum, const,
//     default, example and examples, title, description, format,
//     minimum, maximum, exclusiveMinimum and exclusiveMaximum (3.0
//     booleans and 3.1 numbers), minLength, maxLength, minItems,
//     maxItems, properties, required, additionalProperties, items.
//   - anyOf / oneOf: [X, {type: null}] is an optional, nullable X; several
//     members make a union, which a value passes by passing any member.
//   - allOf: members merged (properties and required joined, the tighter
//     bound kept); a single member with annotations is the usual
//     "described $ref" and keeps the referenced schema's name.
//   - x-fal-order-properties for field order, then document order (the
//     document is read with a decoder that keeps key order, which
//     encoding/json's maps do not).
//
// Everything else degrades, never fails: an unknown type, an external
// $ref, tuple items, not / if / patternProperties and the like become an
// "any" schema (or an unchecked keyword) with a line in Schema.Notes, and
// a value checked against an any schema is never refused. format and
// pattern are recorded but not checked. Parse fails only on bytes that
// are not one JSON object.
//
// Validation errs on accepting what fal would accept — see
// [Endpoint.Validate] for the coercions it allows — with one deliberate
// exception: unknown fields are refused, with a "did you mean", because
// fal silently ignores them.
package openapi
