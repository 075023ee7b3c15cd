// Package datauri decodes data: URIs (RFC 2397), the one decoder of the
// client (data: outputs of sync_mode) and of faltest (data: inputs).
package datauri

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
)

// Decode returns the bytes of a data URI, "data:[<media type>][;base64],<data>"
// (the "data:" scheme may be left out). The ";base64" marker is matched
// regardless of case, and base64 data may be padded or not; other data is
// percent-decoded. The errors say what is wrong without quoting the data.
func Decode(uri string) ([]byte, error) {
	if len(uri) >= 5 && strings.EqualFold(uri[:5], "data:") {
		uri = uri[5:]
	}
	meta, payload, ok := strings.Cut(uri, ",")
	if !ok {
		return nil, errors.New("no comma before the data")
	}
	if strings.HasSuffix(strings.ToLower(meta), ";base64") {
		b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(payload, "="))
		if err != nil {
			return nil, errors.New("the base64 data does not decode")
		}
		return b, nil
	}
	p, err := url.PathUnescape(payload)
	if err != nil {
		return nil, errors.New("the percent-encoded data does not decode")
	}
	return []byte(p), nil
}
