package endpoints

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/internal/falerr"
)

// FileInput is a file an endpoint takes as input (fal's image_url,
// audio_url, image_urls, …): a URL, or a file falgo uploads to fal storage
// before the request. Make one with FileURL, LocalFile or File.
//
// It encodes as the URL, a JSON string. Run, Subscribe, Submit and Stream
// find the files inside an input, however deep, and upload them first (see
// fal.InputFile): File is an exported field for that reason.
type FileInput struct {
	// URL is a file URL (fal storage, any public URL or a data: URI),
	// sent as is when File is nil.
	URL string
	// File, if not nil, is uploaded before the request and sent as the URL
	// it got (fal.LocalFile, fal.FileBytes, fal.FileReader).
	File *fal.InputFile
}

// FileURL is the file at url, as an input.
func FileURL(url string) *FileInput { return &FileInput{URL: url} }

// File is f, uploaded before the request, as an input.
func File(f *fal.InputFile) *FileInput { return &FileInput{File: f} }

// LocalFile is the file at path, uploaded before the request, as an input:
// File(fal.LocalFile(path)).
func LocalFile(path string) *FileInput { return File(fal.LocalFile(path)) }

// MarshalJSON encodes the file as its URL: the uploaded URL when File is
// set (an error if it was not uploaded, as with fal.WithoutAutoUpload),
// else URL.
func (f FileInput) MarshalJSON() ([]byte, error) {
	if f.File != nil {
		return f.File.MarshalJSON()
	}
	return json.Marshal(f.URL)
}

// UnmarshalJSON reads a URL (a JSON string) into URL; null leaves f empty.
func (f *FileInput) UnmarshalJSON(b []byte) error {
	*f = FileInput{}
	if JSONKind(b) == 'n' {
		return nil
	}
	if err := json.Unmarshal(b, &f.URL); err != nil {
		return falerr.Wrap(err, "a file input is a URL (a JSON string)")
	}
	return nil
}

// Ptr returns a pointer to v: the way to set an optional field, which
// generated packages make a pointer when its zero value means something
// (seed: 0, enable_safety_checker: false):
//
//	schnell.Input{Prompt: "a fox", Seed: endpoints.Ptr(42), EnableSafetyChecker: endpoints.Ptr(false)}
func Ptr[T any](v T) *T { return &v }

// Decode decodes the output of a request into a new O.
func Decode[O any](res *fal.Result) (*O, error) {
	out := new(O)
	if err := res.Decode(out); err != nil {
		return nil, err
	}
	return out, nil
}

// Run calls app on fal's synchronous endpoint with input in (Client.Run)
// and decodes its output into an O. A nil client means the package-level
// fal.Run, on the default client.
func Run[O any](ctx context.Context, c *fal.Client, app string, in any, opts ...fal.RequestOption) (*O, error) {
	var res *fal.Result
	var err error
	if c == nil {
		res, err = fal.Run(ctx, app, in, opts...)
	} else {
		res, err = c.Run(ctx, app, in, opts...)
	}
	if err != nil {
		return nil, err
	}
	return Decode[O](res)
}

// Subscribe runs app through fal's queue and waits for its output
// (Client.Subscribe), decoded into an O. A nil client means fal.Subscribe.
func Subscribe[O any](ctx context.Context, c *fal.Client, app string, in any, opts ...fal.RequestOption) (*O, error) {
	var res *fal.Result
	var err error
	if c == nil {
		res, err = fal.Subscribe(ctx, app, in, opts...)
	} else {
		res, err = c.Subscribe(ctx, app, in, opts...)
	}
	if err != nil {
		return nil, err
	}
	return Decode[O](res)
}

// Handle is a queued request whose output decodes into an O: a
// *fal.RequestHandle (Status, Events, Cancel, and the raw Result through
// the embedded field) whose Result is typed.
type Handle[O any] struct {
	*fal.RequestHandle
}

// Result waits until the request completes and returns its output, decoded
// into an O (fal.RequestHandle.Result). The raw result, with the request id
// and billable units, is h.RequestHandle.Result.
func (h *Handle[O]) Result(ctx context.Context, opts ...fal.RequestOption) (*O, error) {
	if h == nil || h.RequestHandle == nil {
		return nil, falerr.New("Result on a nil Handle")
	}
	res, err := h.RequestHandle.Result(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return Decode[O](res)
}

// Submit puts a request for app in fal's queue (Client.Submit) and returns
// a typed handle at once. A nil client means fal.Submit.
func Submit[O any](ctx context.Context, c *fal.Client, app string, in any, opts ...fal.RequestOption) (*Handle[O], error) {
	var h *fal.RequestHandle
	var err error
	if c == nil {
		h, err = fal.Submit(ctx, app, in, opts...)
	} else {
		h, err = c.Submit(ctx, app, in, opts...)
	}
	if err != nil {
		return nil, err
	}
	return &Handle[O]{RequestHandle: h}, nil
}

// Attach returns a typed handle for a request of app submitted earlier, by
// its request id (Client.Handle). No request is made.
func Attach[O any](c *fal.Client, app, requestID string, opts ...fal.RequestOption) (*Handle[O], error) {
	if c == nil {
		return nil, falerr.New("Attach needs a client (fal.NewClient)")
	}
	h, err := c.Handle(app, requestID, opts...)
	if err != nil {
		return nil, err
	}
	return &Handle[O]{RequestHandle: h}, nil
}

// Stream calls app's streaming endpoint (Client.Stream) and yields each
// event decoded into an O: fal apps stream partial outputs, so fields an
// event does not carry are left zero. An error is yielded once and ends
// the sequence; breaking out of the loop closes the connection. A nil
// client means fal.Stream.
func Stream[O any](ctx context.Context, c *fal.Client, app string, in any, opts ...fal.RequestOption) iter.Seq2[*O, error] {
	return func(yield func(*O, error) bool) {
		var events iter.Seq2[fal.Event, error]
		if c == nil {
			events = fal.Stream(ctx, app, in, opts...)
		} else {
			events = c.Stream(ctx, app, in, opts...)
		}
		for ev, err := range events {
			if err != nil {
				yield(nil, err)
				return
			}
			out := new(O)
			if err := ev.Decode(out); err != nil {
				yield(nil, err)
				return
			}
			if !yield(out, nil) {
				return
			}
		}
	}
}

// JSONKind returns the first byte of the JSON value b, after white space:
// '"' for a string, '{' an object, '[' an array, 't' or 'f' a boolean,
// 'n' null, '-' or a digit a number, and 0 for empty input. Generated
// union types decode with it.
func JSONKind(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// DecodeStrict decodes the JSON value b into v, refusing object keys v
// has no field for. Generated union types use it to tell object variants
// apart.
func DecodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return falerr.New("unexpected data after the JSON value")
	}
	return nil
}
