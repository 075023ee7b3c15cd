package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxJSONDepth bounds how deeply arrays and objects may nest in a document.
// Real fal documents nest about 15 levels; the bound keeps a hostile
// document from driving the reader (and everything after it) into deep
// recursion.
const maxJSONDepth = 200

// A node is one JSON value with object keys kept in document order, which
// encoding/json's map decoding loses and fal's "document order" fallback
// for field order needs.
type node struct {
	kind nodeKind
	obj  []member // kindObject, in document order
	arr  []*node  // kindArray
	str  string   // kindString
	num  json.Number
	b    bool
}

type nodeKind uint8

const (
	kindNull nodeKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

type member struct {
	key string
	val *node
}

// get returns the value of key in an object node, or nil. With duplicate
// keys the last one wins, as in encoding/json.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kindObject {
		return nil
	}
	var found *node
	for _, m := range n.obj {
		if m.key == key {
			found = m.val
		}
	}
	return found
}

// has reports whether an object node has key.
func (n *node) has(key string) bool { return n.get(key) != nil }

// keys returns the keys of an object node in document order, without
// duplicates.
func (n *node) keys() []string {
	if n == nil || n.kind != kindObject {
		return nil
	}
	seen := make(map[string]bool, len(n.obj))
	out := make([]string, 0, len(n.obj))
	for _, m := range n.obj {
		if !seen[m.key] {
			seen[m.key] = true
			out = append(out, m.key)
		}
	}
	return out
}

// stringValue returns the string of a string node and whether it was one.
func (n *node) stringValue() (string, bool) {
	if n == nil || n.kind != kindString {
		return "", false
	}
	return n.str, true
}

// number returns a number node as a float64.
func (n *node) number() (float64, bool) {
	if n == nil || n.kind != kindNumber {
		return 0, false
	}
	f, err := n.num.Float64()
	if err != nil {
		// Out of range: Float64 still returns ±Inf with an error; a bound
		// of ±Inf is no bound, which is the conservative reading.
		return f, false
	}
	return f, true
}

// value converts a node to the values encoding/json's UseNumber decoding
// gives: map[string]any, []any, string, json.Number, bool or nil.
func (n *node) value() any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case kindBool:
		return n.b
	case kindNumber:
		return n.num
	case kindString:
		return n.str
	case kindArray:
		out := make([]any, len(n.arr))
		for i, e := range n.arr {
			out[i] = e.value()
		}
		return out
	case kindObject:
		out := make(map[string]any, len(n.obj))
		for _, m := range n.obj {
			out[m.key] = m.val.value()
		}
		return out
	}
	return nil
}

// errTooDeep is returned for documents nested deeper than maxJSONDepth.
var errTooDeep = errors.New("openapi: document nests deeper than 200 levels")

// decodeNode reads one JSON document, keeping object key order. Anything
// after the document other than white space is an error.
func decodeNode(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := readNode(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("openapi: data after the JSON document")
	}
	return n, nil
}

func readNode(dec *json.Decoder, depth int) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return nodeFrom(dec, tok, depth)
}

func nodeFrom(dec *json.Decoder, tok json.Token, depth int) (*node, error) {
	switch t := tok.(type) {
	case nil:
		return &node{kind: kindNull}, nil
	case bool:
		return &node{kind: kindBool, b: t}, nil
	case json.Number:
		return &node{kind: kindNumber, num: t}, nil
	case string:
		return &node{kind: kindString, str: t}, nil
	case json.Delim:
		if depth >= maxJSONDepth {
			return nil, errTooDeep
		}
		switch t {
		case '[':
			n := &node{kind: kindArray}
			for dec.More() {
				e, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, e)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return n, nil
		case '{':
			n := &node{kind: kindObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("openapi: object key is %T, not a string", kt)
				}
				v, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.obj = append(n.obj, member{key: key, val: v})
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return n, nil
		}
	}
	return nil, fmt.Errorf("openapi: unexpected JSON token %v", tok)
}
