package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Batch reconciliation compares the inputs of a batch with the json_input
// of requests in fal's history. fal keeps the input it received, but
// re-encoded (by Python): keys may come in another order, whitespace and
// string escapes differ, 1.0 may come back as 1.0 or 1, 1e3 as 1000.0. So
// both sides are put in one canonical form before they are hashed:
//
//   - objects with their keys sorted (by bytes), arrays in order, no
//     whitespace;
//   - strings as encoding/json writes them without HTML escaping (so
//     "\u00e9" and "é" are one string);
//   - an integer literal (no '.', no exponent) keeps its digits exactly,
//     "-0" being "0" (seeds above 2^53 must not collide);
//   - any other number is read as a float64 and written as the shortest
//     decimal that reads back the same, as an integer when it is one below
//     2^53 ("1.0", "1e0" and "1" are all "1"; "0.10" is "0.1").
//
// What fal's documentation does not promise, and this relies on: that
// json_input is the input as sent, without defaults filled in.

// canonicalSum is the hex SHA-256 of data's canonical form.
func canonicalSum(data []byte) (string, error) {
	c, err := canonicalJSON(data)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:]), nil
}

// canonicalJSON returns the canonical form of one JSON value.
func canonicalJSON(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	var b bytes.Buffer
	if err := writeCanonical(&b, v, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeCanonical writes v, decoded with UseNumber, in canonical form.
func writeCanonical(b *bytes.Buffer, v any, depth int) error {
	if depth > 1000 {
		return errors.New("JSON nested too deeply")
	}
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case json.Number:
		b.WriteString(canonicalNumber(t.String()))
	case string:
		enc := json.NewEncoder(b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(t); err != nil {
			return err
		}
		b.Truncate(b.Len() - 1) // the encoder's newline
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, k, depth+1); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := writeCanonical(b, t[k], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return errors.New("unexpected JSON value")
	}
	return nil
}

// canonicalNumber writes a JSON number literal canonically (see above).
func canonicalNumber(s string) string {
	if !strings.ContainsAny(s, ".eE") {
		neg := strings.HasPrefix(s, "-")
		digits := strings.TrimLeft(strings.TrimPrefix(s, "-"), "0")
		if digits == "" {
			return "0"
		}
		if neg {
			return "-" + digits
		}
		return digits
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return s
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		if f == 0 {
			return "0"
		}
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
