package faltest

import (
	"encoding/json"
	"fmt"

	"github.com/coder/websocket"
)

// frameCodec is how one realtime input came, and so how the answers to it go
// back. fal's clients and apps may swap msgpack for their own codec: the JS
// client's encodeMessage may return a string (a text frame) or bytes, the
// Python client's encode_message returns what it sends (bytes: a binary
// frame; str: a text frame), and a fal app declared with
// @fal.realtime(content_type=..., encode_message=..., decode_message=...)
// reads and writes what its functions make. JSON is the custom codec met in
// practice, so the server takes each input in any of these forms and answers
// in the form it came in.
type frameCodec int

const (
	// codecMsgpack: msgpack in binary frames, fal's default.
	codecMsgpack frameCodec = iota
	// codecJSONText: JSON in text frames.
	codecJSONText
	// codecJSONBinary: JSON in binary frames (e.g. Python's
	// encode_message=lambda m: json.dumps(m).encode() with
	// decode_message=json.loads).
	codecJSONBinary
)

// decodeFrame turns one frame into an input: a binary frame is msgpack or,
// when it is not msgpack but is JSON, JSON; a text frame is JSON. A JSON
// object or array of two or more bytes is never one whole msgpack value (its
// first byte is a msgpack integer and the rest would trail it), so the two
// readings of a binary frame cannot both apply to an input. bad says why a
// frame cannot be used.
func decodeFrame(typ websocket.MessageType, data []byte) (input json.RawMessage, codec frameCodec, bad string) {
	if typ != websocket.MessageBinary {
		if !json.Valid(data) {
			return nil, codecJSONText, "the text frame is not JSON: send inputs as msgpack in binary frames, or as JSON in text frames"
		}
		return data, codecJSONText, ""
	}
	j, err := msgpackToJSON(data)
	if err == nil {
		return j, codecMsgpack, ""
	}
	if json.Valid(data) {
		return data, codecJSONBinary, ""
	}
	return nil, codecMsgpack, "the frame is not valid msgpack (nor JSON): " + err.Error()
}

// encode turns an output (JSON) into a frame of the codec.
func (c frameCodec) encode(out json.RawMessage) (websocket.MessageType, []byte, error) {
	switch c {
	case codecJSONText:
		return websocket.MessageText, out, nil
	case codecJSONBinary:
		return websocket.MessageBinary, out, nil
	}
	b, err := jsonToMsgpack(out)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", errUnencodable, err)
	}
	return websocket.MessageBinary, b, nil
}
