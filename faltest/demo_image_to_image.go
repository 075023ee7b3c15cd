package faltest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/gif"  // input images may be GIFs
	_ "image/jpeg" // or JPEGs
	_ "image/png"  // or PNGs
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/falgo/fal/internal/datauri"
	_ "golang.org/x/image/webp" // or WebPs
)

// i2iConfig are the limits and defaults of one image-to-image demo.
type i2iConfig struct {
	t2iConfig
	minStrength float64 // strength range: [minStrength, 1]
	mask        bool    // inpainting: mask_url is required too
}

// i2iInput is the input of the image-to-image demos: the text-to-image
// input plus the image (and mask) to start from. image_size is optional:
// the output takes the input image's size without it.
type i2iInput struct {
	t2iInput
	ImageURL *string  `json:"image_url"`
	MaskURL  *string  `json:"mask_url"`
	Strength *float64 `json:"strength"`
}

// imageToImage builds an image-to-image (or, with cfg.mask, inpainting)
// demo app. It reads image_url (and mask_url) as data URIs or files
// stored on this Server, draws the demo picture at the input image's size
// (or image_size), and otherwise behaves as textToImage.
func imageToImage(id string, cfg i2iConfig, delay time.Duration) HandlerFunc {
	return func(ctx context.Context, req *Request) (any, error) {
		start := time.Now()
		var in i2iInput
		if err := decodeDemoInput(req, &in); err != nil {
			return nil, err
		}
		if err := cfg.requireInputs(&in); err != nil {
			return nil, err
		}
		w, h, err := req.inputImageSize("image_url", *in.ImageURL)
		if err != nil {
			return nil, err
		}
		if cfg.mask {
			if _, _, err := req.inputImageSize("mask_url", *in.MaskURL); err != nil {
				return nil, err
			}
		}
		if w, h, err = outputSize(in.ImageSize, w, h); err != nil {
			return nil, err
		}
		if s := in.Strength; s != nil && (*s < cfg.minStrength || *s > 1) {
			return nil, ValidationError("strength", fmt.Sprintf("strength must be between %g and 1", cfg.minStrength))
		}
		job, err := cfg.imageJob(&in.t2iInput, w, h)
		if err != nil {
			return nil, err
		}
		req.Log("INFO", fmt.Sprintf("Read the input image: %d×%d", w, h))
		return job.run(ctx, req, id, delay, start)
	}
}

// requireInputs answers as fal's apps do (FastAPI's "field required", all
// missing fields at once) when prompt, image_url or (inpainting) mask_url
// is missing, and rejects an empty prompt.
func (cfg i2iConfig) requireInputs(in *i2iInput) error {
	var missing []ValidationDetail
	add := func(name string, absent bool) {
		if absent {
			missing = append(missing, ValidationDetail{Loc: []any{"body", name}, Msg: "field required", Type: "missing"})
		}
	}
	add("prompt", in.Prompt == nil)
	add("image_url", in.ImageURL == nil)
	add("mask_url", cfg.mask && in.MaskURL == nil)
	if len(missing) > 0 {
		return &InputError{Details: missing}
	}
	return requirePrompt(in.Prompt)
}

// outputSize is image_size if given, else the input image's w×h, which
// must then fit the demos' largest side.
func outputSize(imageSize json.RawMessage, w, h int) (int, int, error) {
	if t := bytes.TrimSpace(imageSize); len(t) > 0 && string(t) != "null" {
		return parseImageSize(t, "")
	}
	if w > maxImageSide || h > maxImageSide {
		return 0, 0, ValidationError("image_url", fmt.Sprintf("the image is %d×%d; faltest draws at most %d pixels a side: pass a smaller image or an image_size", w, h, maxImageSide))
	}
	return w, h, nil
}

// inputImageSize reads the image a URL input field names and returns its
// size. It reads data URIs and files stored on the same Server only: it
// never fetches anything from the network, and refuses other URLs with a
// 422 naming the field.
func (r *Request) inputImageSize(field, u string) (int, int, error) {
	data, err := r.inputFile(field, u)
	if err != nil {
		return 0, 0, err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0, ValidationError(field, "the file is not an image faltest can read (PNG, JPEG, GIF or WebP)")
	}
	if cfg.Width < 1 || cfg.Height < 1 {
		return 0, 0, ValidationError(field, fmt.Sprintf("the %s image has no pixels (%d×%d)", format, cfg.Width, cfg.Height))
	}
	return cfg.Width, cfg.Height, nil
}

// inputFile returns the bytes of a data URI, or of a file stored on the
// same Server (a <Server.URL>/cdn/files/... URL).
func (r *Request) inputFile(field, u string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		data, err := datauri.Decode(rest)
		if err != nil {
			return nil, ValidationError(field, "invalid data URI: "+err.Error())
		}
		return data, nil
	}
	if r.srv != nil && r.srv.ownsFileURL(u) {
		f, ok := r.srv.File(u)
		if !ok {
			return nil, ValidationError(field, "no file is stored at this URL on the faltest server (it may have expired or never been uploaded)")
		}
		return f.Data, nil
	}
	where := "this server's /cdn/files/ URLs"
	if r.srv != nil {
		where = r.srv.URL + "/cdn/files/..."
	}
	return nil, ValidationError(field, fmt.Sprintf("faltest reads only data: URIs and files stored on it (%s); it does not download %s", where, urlOrigin(u)))
}

// ownsFileURL reports whether u is a stored-file URL of this server: the
// same scheme and host as Server.URL, under /cdn/files/.
func (s *Server) ownsFileURL(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	own, err := url.Parse(s.URL)
	if err != nil {
		return false
	}
	return strings.EqualFold(pu.Scheme, own.Scheme) && strings.EqualFold(pu.Host, own.Host) &&
		pu.User == nil && strings.HasPrefix(pu.EscapedPath(), "/cdn/files/")
}

// urlOrigin names what a refused URL points at, without its path or
// query (which may carry tokens): "scheme://host", or a placeholder.
func urlOrigin(u string) string {
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme == "" || pu.Host == "" {
		return "a value that is not an absolute URL"
	}
	return fmt.Sprintf("%q", pu.Scheme+"://"+pu.Host)
}

// decodeDemoInput does what every demo app but falgo/echo does first: it
// refuses sub-paths (knownPath) and input that is not a JSON object, and
// decodes the input into v.
func decodeDemoInput(req *Request, v any) error {
	if err := knownPath(req); err != nil {
		return err
	}
	if err := requireObject(req.Input); err != nil {
		return err
	}
	return req.Decode(v)
}

// knownPath answers 404, as fal's router does ("Path /x not found"), when
// a demo app is called with a sub-path below its id, naming the demo
// endpoints of the same fal app (the ids sharing its owner/alias).
func knownPath(req *Request) error {
	if req.Path == "" {
		return nil
	}
	base := appBase(req.App)
	var known []string
	for _, a := range DemoApps() {
		if appBase(a.ID) == base {
			known = append(known, a.ID)
		}
	}
	if len(known) == 0 {
		known = []string{req.App}
	}
	return &AppError{
		Status: http.StatusNotFound,
		Detail: fmt.Sprintf("Path /%s not found: %s has no endpoint %s/%s; the endpoints of %s are %s", req.Path, req.App, req.App, req.Path, base, strings.Join(known, ", ")),
	}
}
