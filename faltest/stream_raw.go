package faltest

import (
	"errors"
	"mime"
	"net/http"
)

// rawChunk is what EmitBytes hands to a request's emit function.
type rawChunk struct {
	contentType string
	data        []byte
}

// EmitBytes sends a chunk of a raw byte stream, the way a fal app answers
// its stream endpoint with a StreamingResponse of audio, video or text
// rather than server-sent events. In an output stream (POST .../stream) the
// first chunk decides the answer: a 200 with Content-Type contentType
// (application/octet-stream if empty) whose body is the chunks, each written
// and flushed as it is emitted, with no SSE framing; the content type of later
// chunks is ignored. A stream is either events (Emit) or bytes (EmitBytes):
// mixing them returns an error. The handler's output is then recorded in the
// request history but not sent, and an error after the first chunk cuts the
// connection (the caller sees a broken stream, as when a fal app fails
// midway), since the status has gone. Over a realtime websocket each chunk is
// a binary frame holding exactly those bytes. In run and queue mode chunks are
// dropped and EmitBytes returns nil. It returns an error when the caller has
// gone away; the handler should stop then. EmitBytes is safe for concurrent
// use and does not keep chunk after it returns.
func (r *Request) EmitBytes(contentType string, chunk []byte) error {
	if r.emit == nil {
		return nil
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	} else if _, _, err := mime.ParseMediaType(contentType); err != nil {
		return errors.New("faltest: EmitBytes: " + contentType + " is not a media type")
	}
	return r.emit(rawChunk{contentType: contentType, data: chunk})
}

// errMixedStream is the answer to an Emit after EmitBytes, or the other way
// round, in one output stream.
var errMixedStream = errors.New("faltest: a stream carries either events (Emit) or raw bytes (EmitBytes), not both")

// rawWriter writes a raw byte stream, flushing after each chunk.
type rawWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
	trailer string // a header announced as a trailer when the stream starts
}

// write sends one chunk, starting the answer with contentType first.
func (s *rawWriter) write(contentType string, data []byte) error {
	if !s.started {
		s.started = true
		h := s.w.Header()
		if s.trailer != "" {
			h.Set("Trailer", s.trailer)
		}
		h.Set("Content-Type", contentType)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no")
		s.w.WriteHeader(http.StatusOK)
	}
	if len(data) > 0 {
		if _, err := s.w.Write(data); err != nil {
			return err
		}
	}
	return s.rc.Flush()
}
