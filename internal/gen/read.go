package gen

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/falgo/fal/platform"
)

// A Document is one OpenAPI document found in a file.
type Document struct {
	// Doc is the OpenAPI document itself.
	Doc []byte
	// EndpointID is the endpoint the Platform API listed it under; "" for
	// a bare document.
	EndpointID string
	// Stream reports that the Platform API's metadata gives the endpoint a
	// stream_url.
	Stream bool
}

// ReadDocuments finds the OpenAPI documents in data: a bare document (an
// object with an "openapi" version), one model of fal's Platform API
// ({"endpoint_id", "metadata", "openapi"}), or its models listing
// ({"models": [...]}, as GET /v1/models?expand=openapi-3.0 answers). The
// models of a listing that have no document (fal's failed expansion) are
// skipped, each with a line in skipped; it is an error when none is left.
func ReadDocuments(data []byte) (docs []Document, skipped []string, err error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if _, ok := top["openapi"]; ok && top["endpoint_id"] == nil {
		return []Document{{Doc: data}}, nil, nil
	}
	var models []platform.Model
	switch {
	case top["models"] != nil:
		if err := json.Unmarshal(top["models"], &models); err != nil {
			return nil, nil, fmt.Errorf("models: %w", err)
		}
	case top["endpoint_id"] != nil:
		var m platform.Model
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, nil, err
		}
		models = []platform.Model{m}
	default:
		if _, ok := top["swagger"]; ok {
			return []Document{{Doc: data}}, nil, nil
		}
		return nil, nil, errors.New(`neither an OpenAPI document (no "openapi" version) nor a Platform API answer (no "models" or "endpoint_id")`)
	}
	for _, m := range models {
		var why string
		switch {
		case m.OpenAPIError != nil:
			why = fmt.Sprintf("fal could not give its OpenAPI document: %s (%s)", docText(m.OpenAPIError.Message), docText(m.OpenAPIError.Code))
		case len(m.OpenAPI) == 0:
			why = "no OpenAPI document (ask the Platform API with expand=openapi-3.0)"
		default:
			docs = append(docs, Document{
				Doc:        m.OpenAPI,
				EndpointID: m.EndpointID,
				Stream:     m.Metadata != nil && m.Metadata.StreamURL != "",
			})
			continue
		}
		skipped = append(skipped, docText(m.EndpointID)+": "+why)
	}
	if len(docs) == 0 {
		if len(skipped) > 0 {
			return nil, nil, errors.New(skipped[0])
		}
		return nil, nil, errors.New("the Platform API answer lists no models")
	}
	return docs, skipped, nil
}
