package faltest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Realtime frames carry msgpack, apps speak JSON. The conversion from
// msgpack is a small parser of its own over the frame's bytes rather than a
// generic decoder: a frame comes from the network, so every length is
// checked against the bytes actually present (a 5-byte frame must not make
// the server allocate 4 GiB) and nesting depth is bounded.

// maxNesting bounds the depth of maps and arrays in realtime messages.
const maxNesting = 512

// errMsgpackTruncated reports a frame that ends inside a value.
var errMsgpackTruncated = errors.New("the frame ends in the middle of a value")

// msgpackToJSON converts one msgpack value to JSON, keeping map key order.
// bin values become base64 strings (encoding/json's form for []byte) and
// timestamps become RFC 3339 strings. Map keys must be strings, numbers,
// booleans or nil (stringified, as Python's json module does).
func msgpackToJSON(frame []byte) (json.RawMessage, error) {
	c := mpConv{in: frame}
	if err := c.value(0); err != nil {
		return nil, err
	}
	if c.pos != len(c.in) {
		return nil, fmt.Errorf("%d trailing bytes after the msgpack value: send one value per frame", len(c.in)-c.pos)
	}
	return c.out.Bytes(), nil
}

// mpConv walks a msgpack byte slice, writing JSON.
type mpConv struct {
	in  []byte
	pos int
	out bytes.Buffer
}

// take returns the next n bytes.
func (c *mpConv) take(n uint64) ([]byte, error) {
	if n > uint64(len(c.in)-c.pos) {
		return nil, errMsgpackTruncated
	}
	b := c.in[c.pos : c.pos+int(n)]
	c.pos += int(n)
	return b, nil
}

// uint reads an n-byte big-endian unsigned integer.
func (c *mpConv) uint(n int) (uint64, error) {
	b, err := c.take(uint64(n))
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), nil
	default:
		return binary.BigEndian.Uint64(b), nil
	}
}

// scalar is a decoded msgpack value that is not a container.
type scalar struct {
	kind byte // 'n' nil, 'b' bool, 'i' int, 'u' uint, 'f' float, 's' string, 'x' bin, 't' time
	b    bool
	i    int64
	u    uint64
	f    float64
	bits int // 32 or 64 for floats
	s    []byte
	t    time.Time
}

// value converts the next value.
func (c *mpConv) value(depth int) error {
	if depth > maxNesting {
		return fmt.Errorf("the message nests maps and arrays more than %d levels deep", maxNesting)
	}
	if c.pos >= len(c.in) {
		return errMsgpackTruncated
	}
	code := c.in[c.pos]
	var n uint64
	var err error
	switch {
	case code >= 0x80 && code <= 0x8f:
		c.pos++
		return c.mapBody(uint64(code&0x0f), depth)
	case code == 0xde || code == 0xdf:
		c.pos++
		if n, err = c.uint(2 << (code & 1)); err != nil { // map16, map32
			return err
		}
		return c.mapBody(n, depth)
	case code >= 0x90 && code <= 0x9f:
		c.pos++
		return c.arrayBody(uint64(code&0x0f), depth)
	case code == 0xdc || code == 0xdd:
		c.pos++
		if n, err = c.uint(2 << (code & 1)); err != nil { // array16, array32
			return err
		}
		return c.arrayBody(n, depth)
	}
	v, err := c.scalar()
	if err != nil {
		return err
	}
	return c.writeScalar(v)
}

func (c *mpConv) mapBody(n uint64, depth int) error {
	// Every entry takes at least two bytes; reject impossible counts early.
	if n > uint64(len(c.in)-c.pos)/2 {
		return errMsgpackTruncated
	}
	c.out.WriteByte('{')
	for i := uint64(0); i < n; i++ {
		if i > 0 {
			c.out.WriteByte(',')
		}
		if c.pos >= len(c.in) {
			return errMsgpackTruncated
		}
		if k := c.in[c.pos]; (k >= 0x80 && k <= 0x9f) || (k >= 0xdc && k <= 0xdf) {
			return errors.New("a map key is a map or an array: JSON object keys must be strings")
		}
		key, err := c.scalar()
		if err != nil {
			return err
		}
		ks, err := keyString(key)
		if err != nil {
			return err
		}
		writeJSONString(&c.out, ks)
		c.out.WriteByte(':')
		if err := c.value(depth + 1); err != nil {
			return err
		}
	}
	c.out.WriteByte('}')
	return nil
}

func (c *mpConv) arrayBody(n uint64, depth int) error {
	if n > uint64(len(c.in)-c.pos) {
		return errMsgpackTruncated
	}
	c.out.WriteByte('[')
	for i := uint64(0); i < n; i++ {
		if i > 0 {
			c.out.WriteByte(',')
		}
		if err := c.value(depth + 1); err != nil {
			return err
		}
	}
	c.out.WriteByte(']')
	return nil
}

// scalar decodes the next non-container value.
func (c *mpConv) scalar() (scalar, error) {
	code := c.in[c.pos]
	c.pos++
	switch {
	case code <= 0x7f:
		return scalar{kind: 'i', i: int64(code)}, nil
	case code >= 0xe0:
		return scalar{kind: 'i', i: int64(int8(code))}, nil
	case code >= 0xa0 && code <= 0xbf:
		b, err := c.take(uint64(code & 0x1f))
		return scalar{kind: 's', s: b}, err
	}
	switch code {
	case 0xc0:
		return scalar{kind: 'n'}, nil
	case 0xc2, 0xc3:
		return scalar{kind: 'b', b: code == 0xc3}, nil
	case 0xc4, 0xc5, 0xc6: // bin8, bin16, bin32
		n, err := c.uint(1 << (code - 0xc4))
		if err != nil {
			return scalar{}, err
		}
		b, err := c.take(n)
		return scalar{kind: 'x', s: b}, err
	case 0xd9, 0xda, 0xdb: // str8, str16, str32
		n, err := c.uint(1 << (code - 0xd9))
		if err != nil {
			return scalar{}, err
		}
		b, err := c.take(n)
		return scalar{kind: 's', s: b}, err
	case 0xca:
		u, err := c.uint(4)
		return scalar{kind: 'f', f: float64(math.Float32frombits(uint32(u))), bits: 32}, err
	case 0xcb:
		u, err := c.uint(8)
		return scalar{kind: 'f', f: math.Float64frombits(u), bits: 64}, err
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, err := c.uint(1 << (code - 0xcc))
		return scalar{kind: 'u', u: u}, err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		width := 1 << (code - 0xd0)
		u, err := c.uint(width)
		shift := 64 - 8*width
		return scalar{kind: 'i', i: int64(u<<shift) >> shift}, err
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1..16
		return c.ext(uint64(1) << (code - 0xd4))
	case 0xc7, 0xc8, 0xc9: // ext8, ext16, ext32
		n, err := c.uint(1 << (code - 0xc7))
		if err != nil {
			return scalar{}, err
		}
		return c.ext(n)
	}
	return scalar{}, fmt.Errorf("byte 0x%02x at offset %d is not a msgpack type code", code, c.pos-1)
}

// ext decodes an extension value of n data bytes; only the timestamp
// extension (type -1) has a JSON form.
func (c *mpConv) ext(n uint64) (scalar, error) {
	tb, err := c.take(1)
	if err != nil {
		return scalar{}, err
	}
	data, err := c.take(n)
	if err != nil {
		return scalar{}, err
	}
	if int8(tb[0]) != -1 {
		return scalar{}, fmt.Errorf("msgpack extension type %d is not supported: send plain maps, arrays, strings, numbers, booleans, nil or bin", int8(tb[0]))
	}
	var t time.Time
	switch len(data) {
	case 4:
		t = time.Unix(int64(binary.BigEndian.Uint32(data)), 0)
	case 8:
		v := binary.BigEndian.Uint64(data)
		t = time.Unix(int64(v&(1<<34-1)), int64(v>>34))
	case 12:
		t = time.Unix(int64(binary.BigEndian.Uint64(data[4:])), int64(binary.BigEndian.Uint32(data[:4])))
	default:
		return scalar{}, fmt.Errorf("msgpack timestamp with %d data bytes is malformed (want 4, 8 or 12)", len(data))
	}
	return scalar{kind: 't', t: t.UTC()}, nil
}

// writeScalar writes a scalar as JSON.
func (c *mpConv) writeScalar(v scalar) error {
	b := c.out.AvailableBuffer()
	switch v.kind {
	case 'n':
		b = append(b, "null"...)
	case 'b':
		b = strconv.AppendBool(b, v.b)
	case 'i':
		b = strconv.AppendInt(b, v.i, 10)
	case 'u':
		b = strconv.AppendUint(b, v.u, 10)
	case 'f':
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return errors.New("the message holds NaN or an infinity, which JSON cannot represent")
		}
		b = strconv.AppendFloat(b, v.f, 'g', -1, v.bits)
	case 's':
		writeJSONString(&c.out, string(v.s))
		return nil
	case 'x':
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.s)
		b = append(b, '"')
	case 't':
		writeJSONString(&c.out, v.t.Format(time.RFC3339Nano))
		return nil
	}
	c.out.Write(b)
	return nil
}

// keyString turns a scalar map key into a JSON object key.
func keyString(v scalar) (string, error) {
	switch v.kind {
	case 's':
		return string(v.s), nil
	case 'n':
		return "null", nil
	case 'b':
		return strconv.FormatBool(v.b), nil
	case 'i':
		return strconv.FormatInt(v.i, 10), nil
	case 'u':
		return strconv.FormatUint(v.u, 10), nil
	case 'f':
		return strconv.FormatFloat(v.f, 'g', -1, v.bits), nil
	}
	return "", errors.New("a map key is binary data or an extension: JSON object keys must be strings")
}

// writeJSONString writes s as a JSON string (invalid UTF-8 becomes U+FFFD).
func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // marshalling a string cannot fail
	buf.Write(b)
}

// jsonToMsgpack converts a JSON value to msgpack, keeping object key order.
// Integers stay integers (the smallest msgpack int that holds them); other
// numbers become float64.
func jsonToMsgpack(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("the output is not JSON: %w", err)
	}
	n, err := readJSONNode(dec, tok, 0)
	if err != nil {
		return nil, err
	}
	if err := writeMsgpackNode(enc, n); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the output has data after its JSON value")
	}
	return buf.Bytes(), nil
}

// jsonNode is a decoded JSON value with object keys in their order.
type jsonNode struct {
	tok  json.Token // scalar value, or json.Delim('{') / ('[')
	keys []string
	kids []jsonNode
}

// readJSONNode reads the rest of the value starting at tok.
func readJSONNode(dec *json.Decoder, tok json.Token, depth int) (jsonNode, error) {
	if depth > maxNesting {
		return jsonNode{}, fmt.Errorf("the output nests objects and arrays more than %d levels deep", maxNesting)
	}
	d, isDelim := tok.(json.Delim)
	if !isDelim {
		return jsonNode{tok: tok}, nil
	}
	n := jsonNode{tok: d}
	for dec.More() {
		if d == '{' {
			kt, err := dec.Token()
			if err != nil {
				return jsonNode{}, err
			}
			k, _ := kt.(string)
			n.keys = append(n.keys, k)
		}
		vt, err := dec.Token()
		if err != nil {
			return jsonNode{}, err
		}
		kid, err := readJSONNode(dec, vt, depth+1)
		if err != nil {
			return jsonNode{}, err
		}
		n.kids = append(n.kids, kid)
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return jsonNode{}, err
	}
	return n, nil
}

// writeMsgpackNode encodes a decoded JSON value.
func writeMsgpackNode(enc *msgpack.Encoder, n jsonNode) error {
	switch t := n.tok.(type) {
	case json.Delim:
		if t == '{' {
			if err := enc.EncodeMapLen(len(n.kids)); err != nil {
				return err
			}
			for i, kid := range n.kids {
				if err := enc.EncodeString(n.keys[i]); err != nil {
					return err
				}
				if err := writeMsgpackNode(enc, kid); err != nil {
					return err
				}
			}
			return nil
		}
		if err := enc.EncodeArrayLen(len(n.kids)); err != nil {
			return err
		}
		for _, kid := range n.kids {
			if err := writeMsgpackNode(enc, kid); err != nil {
				return err
			}
		}
		return nil
	case nil:
		return enc.EncodeNil()
	case bool:
		return enc.EncodeBool(t)
	case string:
		return enc.EncodeString(t)
	case json.Number:
		s := t.String()
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return enc.EncodeInt(i)
			}
			if u, err := strconv.ParseUint(s, 10, 64); err == nil {
				return enc.EncodeUint(u)
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("the output holds an unreadable number %q", s)
		}
		return enc.EncodeFloat64(f)
	}
	return fmt.Errorf("unexpected JSON token %v", n.tok)
}
