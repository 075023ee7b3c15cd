package faltest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Ids of the demo apps every Server has unless WithoutDemoApps is given.
const (
	// DemoFluxSchnell, DemoFluxDev and DemoFastSDXL are text-to-image apps
	// with the input and output shapes of the fal endpoints of the same
	// name; they return real PNGs.
	DemoFluxSchnell = "fal-ai/flux/schnell"
	DemoFluxDev     = "fal-ai/flux/dev"
	DemoFastSDXL    = "fal-ai/fast-sdxl"
	// DemoFastSDXLImageToImage, DemoFastSDXLInpainting and
	// DemoFluxDevImageToImage are the image-to-image endpoints of those
	// apps: they require image_url (and, inpainting, mask_url), read it
	// from a data URI or a file stored on the same Server (never from
	// anywhere else), and draw images of its size unless image_size says
	// otherwise.
	DemoFastSDXLImageToImage = "fal-ai/fast-sdxl/image-to-image"
	DemoFastSDXLInpainting   = "fal-ai/fast-sdxl/inpainting"
	DemoFluxDevImageToImage  = "fal-ai/flux/dev/image-to-image"
	// DemoRealtimeLCM is the realtime demo: a small, fast text-to-image
	// app (default 512×512) meant for the realtime websocket, usable
	// through every other entry point too.
	DemoRealtimeLCM = "fal-ai/fast-lcm-diffusion"
	// DemoAnyLLM is a text app with fal-ai/any-llm's shapes; streamed, it
	// emits the text as it grows.
	DemoAnyLLM = "fal-ai/any-llm"
	// DemoEcho returns its input (see the package documentation for the
	// "_"-prefixed control fields it understands).
	DemoEcho = "falgo/echo"
)

// DemoApp describes one of the demo apps.
type DemoApp struct {
	ID          string // the app id, e.g. DemoFluxSchnell
	Description string // what it does, in a few words
}

// DemoApps lists the demo apps every Server has unless WithoutDemoApps is
// given, in a fixed order.
func DemoApps() []DemoApp {
	return []DemoApp{
		{DemoFluxSchnell, "text to image, 4 steps (FLUX.1 [schnell]'s input and output)"},
		{DemoFluxDev, "text to image, 28 steps (FLUX.1 [dev]'s input and output)"},
		{DemoFluxDevImageToImage, "image to image, 40 steps; output sized from image_url"},
		{DemoFastSDXL, "text to image, 25 steps (fast-sdxl's input and output)"},
		{DemoFastSDXLImageToImage, "image to image, 25 steps; output sized from image_url"},
		{DemoFastSDXLInpainting, "inpainting (image_url and mask_url), 25 steps"},
		{DemoRealtimeLCM, "small fast text to image, for the realtime websocket"},
		{DemoAnyLLM, "text reply, streamed as it grows (any-llm's input and output)"},
		{DemoEcho, "returns its input; _sleep_ms, _logs, _events and _error control it"},
	}
}

// registerDemoApps registers the demo apps. It cannot fail: their ids and
// options are faltest's own, and WithDemoAppOptions checked the user's.
func (s *Server) registerDemoApps() {
	d := s.cfg.demoDelay
	flux := t2iConfig{size: "landscape_4_3", steps: 4, maxSteps: 12, maxImages: 4, minCFG: 1, maxCFG: 20, perMegapixel: true}
	dev := flux
	dev.steps, dev.maxSteps = 28, 50
	sdxl := t2iConfig{size: "square_hd", steps: 25, maxSteps: 50, maxImages: 8, minCFG: 0, maxCFG: 20}
	lcm := t2iConfig{size: "square", steps: 6, maxSteps: 32, maxImages: 8, minCFG: 0, maxCFG: 20}
	devI2I := dev
	devI2I.steps = 40
	handlers := map[string]HandlerFunc{
		DemoFluxSchnell:          textToImage(DemoFluxSchnell, flux, d),
		DemoFluxDev:              textToImage(DemoFluxDev, dev, d),
		DemoFluxDevImageToImage:  imageToImage(DemoFluxDevImageToImage, i2iConfig{t2iConfig: devI2I, minStrength: 0.01}, d),
		DemoFastSDXL:             textToImage(DemoFastSDXL, sdxl, d),
		DemoFastSDXLImageToImage: imageToImage(DemoFastSDXLImageToImage, i2iConfig{t2iConfig: sdxl, minStrength: 0.05}, d),
		DemoFastSDXLInpainting:   imageToImage(DemoFastSDXLInpainting, i2iConfig{t2iConfig: sdxl, minStrength: 0.01, mask: true}, d),
		DemoRealtimeLCM:          textToImage(DemoRealtimeLCM, lcm, d/4),
		DemoAnyLLM:               anyLLM(d),
		DemoEcho:                 echo,
	}
	for _, a := range DemoApps() {
		opts := append(demoOptions(a.ID), s.cfg.demoAppOpts...)
		if err := s.Register(a.ID, handlers[a.ID], opts...); err != nil {
			panic("faltest: registering demo app " + a.ID + ": " + err.Error())
		}
	}
}

// t2iConfig are the limits and defaults of one text-to-image demo, as the
// real endpoint's schema has them.
type t2iConfig struct {
	size           string // default image_size preset
	steps          int    // default num_inference_steps
	maxSteps       int
	maxImages      int
	minCFG, maxCFG float64 // guidance_scale range
	// perMegapixel bills megapixels (each image's rounded up, a megapixel
	// being 1024×1024 pixels, so 1024×768 and 1024×1024 are 1); else
	// images.
	perMegapixel bool
}

// imageSizes are fal's image size presets.
var imageSizes = map[string][2]int{
	"square_hd":      {1024, 1024},
	"square":         {512, 512},
	"portrait_4_3":   {768, 1024},
	"portrait_16_9":  {576, 1024},
	"landscape_4_3":  {1024, 768},
	"landscape_16_9": {1024, 576},
}

// maxImageSide bounds custom image sizes.
const maxImageSide = 4096

// t2iInput is the input of the text-to-image demos.
type t2iInput struct {
	Prompt            *string         `json:"prompt"`
	ImageSize         json.RawMessage `json:"image_size"`
	NumImages         *int            `json:"num_images"`
	Seed              *int64          `json:"seed"`
	NumInferenceSteps *int            `json:"num_inference_steps"`
	GuidanceScale     *float64        `json:"guidance_scale"`
	SyncMode          bool            `json:"sync_mode"`
	// Accepted for compatibility and ignored: the demos always draw PNGs
	// and never flag anything.
	EnableSafetyChecker *bool  `json:"enable_safety_checker"`
	OutputFormat        string `json:"output_format"`
	NegativePrompt      string `json:"negative_prompt"`
}

// ImageFile is an image in an app's output, as fal returns it.
type ImageFile struct {
	URL         string `json:"url"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	ContentType string `json:"content_type"`
}

// t2iOutput is the output of the text-to-image demos.
type t2iOutput struct {
	Images          []ImageFile        `json:"images"`
	Seed            int64              `json:"seed"`
	Timings         map[string]float64 `json:"timings"`
	HasNSFWConcepts []bool             `json:"has_nsfw_concepts"`
	Prompt          string             `json:"prompt"`
}

// requireObject rejects input that is not a JSON object.
func requireObject(in json.RawMessage) error {
	t := bytes.TrimSpace(in)
	if len(t) == 0 || t[0] != '{' {
		return &InputError{Details: []ValidationDetail{{Loc: []any{"body"}, Msg: "the input must be a JSON object", Type: "model_attributes_type"}}}
	}
	return nil
}

// parseImageSize reads image_size: a preset name or {"width","height"}.
func parseImageSize(raw json.RawMessage, def string) (int, int, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		wh := imageSizes[def]
		return wh[0], wh[1], nil
	}
	var name string
	if json.Unmarshal(raw, &name) == nil {
		wh, ok := imageSizes[name]
		if !ok {
			return 0, 0, ValidationError("image_size", fmt.Sprintf("unknown image size %q: use square_hd, square, portrait_4_3, portrait_16_9, landscape_4_3, landscape_16_9 or {\"width\": w, \"height\": h}", name))
		}
		return wh[0], wh[1], nil
	}
	var wh struct {
		Width  *int `json:"width"`
		Height *int `json:"height"`
	}
	if err := json.Unmarshal(raw, &wh); err != nil || wh.Width == nil || wh.Height == nil {
		return 0, 0, ValidationError("image_size", "image_size must be a preset name or an object {\"width\": w, \"height\": h}")
	}
	if *wh.Width < 1 || *wh.Width > maxImageSide {
		return 0, 0, ValidationError("image_size.width", fmt.Sprintf("width must be between 1 and %d", maxImageSide))
	}
	if *wh.Height < 1 || *wh.Height > maxImageSide {
		return 0, 0, ValidationError("image_size.height", fmt.Sprintf("height must be between 1 and %d", maxImageSide))
	}
	return *wh.Width, *wh.Height, nil
}

// textToImage builds a text-to-image demo app: it logs its progress,
// takes about delay, and outputs num_images deterministic PNGs (image i
// drawn from prompt and seed+i) stored on the server's CDN (or inlined as
// data URIs with sync_mode). It bills megapixels or images (cfg). It
// answers only its own id: a sub-path is a 404 (see knownPath).
func textToImage(id string, cfg t2iConfig, delay time.Duration) HandlerFunc {
	return func(ctx context.Context, req *Request) (any, error) {
		start := time.Now()
		var in t2iInput
		if err := decodeDemoInput(req, &in); err != nil {
			return nil, err
		}
		if err := requirePrompt(in.Prompt); err != nil {
			return nil, err
		}
		w, h, err := parseImageSize(in.ImageSize, cfg.size)
		if err != nil {
			return nil, err
		}
		job, err := cfg.imageJob(&in, w, h)
		if err != nil {
			return nil, err
		}
		return job.run(ctx, req, id, delay, start)
	}
}

// imageJob is one validated call of an image demo: what to draw.
type imageJob struct {
	cfg    t2iConfig
	in     *t2iInput
	w, h   int
	n      int // images
	steps  int // inference steps
	prompt string
}

// imageJob checks the generation parameters every image demo shares
// (num_images, num_inference_steps, guidance_scale) against cfg's limits
// and returns the job drawing w×h images. The prompt has been checked.
func (cfg t2iConfig) imageJob(in *t2iInput, w, h int) (imageJob, error) {
	job := imageJob{cfg: cfg, in: in, w: w, h: h, n: 1, steps: cfg.steps, prompt: *in.Prompt}
	if in.NumImages != nil {
		job.n = *in.NumImages
		if job.n < 1 || job.n > cfg.maxImages {
			return job, ValidationError("num_images", fmt.Sprintf("num_images must be between 1 and %d", cfg.maxImages))
		}
	}
	if in.NumInferenceSteps != nil {
		job.steps = *in.NumInferenceSteps
		if job.steps < 1 || job.steps > cfg.maxSteps {
			return job, ValidationError("num_inference_steps", fmt.Sprintf("num_inference_steps must be between 1 and %d", cfg.maxSteps))
		}
	}
	if g := in.GuidanceScale; g != nil && (*g < cfg.minCFG || *g > cfg.maxCFG) {
		return job, ValidationError("guidance_scale", fmt.Sprintf("guidance_scale must be between %g and %g", cfg.minCFG, cfg.maxCFG))
	}
	return job, nil
}

// run logs the job's progress over about delay, draws its images, stores
// them (or inlines them with sync_mode) and bills them.
func (job imageJob) run(ctx context.Context, req *Request, id string, delay time.Duration, start time.Time) (t2iOutput, error) {
	req.Log("INFO", fmt.Sprintf("Loading %s", id))
	seed := pickSeed(req, job.in.Seed)
	for i := 1; i <= job.steps; i++ {
		if err := sleepCtx(ctx, delay/time.Duration(job.steps)); err != nil {
			return t2iOutput{}, err
		}
		req.Log("INFO", fmt.Sprintf("Step %d/%d", i, job.steps))
	}
	w, h, n := job.w, job.h, job.n
	out := t2iOutput{Seed: seed, Prompt: job.prompt, HasNSFWConcepts: make([]bool, n)}
	for i := 0; i < n; i++ {
		data := drawPNG(job.prompt, seed+int64(i), w, h)
		url := ""
		if job.in.SyncMode {
			url = "data:image/png;base64," + base64.StdEncoding.EncodeToString(data)
		} else {
			url = req.Upload("image/png", fmt.Sprintf("image-%d.png", i), data)
		}
		out.Images = append(out.Images, ImageFile{URL: url, Width: w, Height: h, ContentType: "image/png"})
	}
	out.Timings = map[string]float64{"inference": time.Since(start).Seconds()}
	req.Log("INFO", fmt.Sprintf("Generated %d image(s)", n))
	units := float64(n)
	if job.cfg.perMegapixel {
		perImage := (w*h + megapixel - 1) / megapixel
		units = float64(n * perImage)
	}
	req.SetBillableUnits(units)
	return out, nil
}

// pickSeed is the seed given, else a random one, which is logged so that
// the picture can be had again.
func pickSeed(req *Request, given *int64) int64 {
	if given != nil {
		return *given
	}
	seed := rand.Int64N(1 << 31)
	req.Log("INFO", fmt.Sprintf("Seed %d (none given; pass seed=%d for the same picture again)", seed, seed))
	return seed
}

// megapixel is the pixels of one billed megapixel.
const megapixel = 1 << 20

// llmInput is the input of the any-llm demo.
type llmInput struct {
	Prompt       *string `json:"prompt"`
	Model        string  `json:"model"`
	SystemPrompt string  `json:"system_prompt"`
}

// llmOutput is any-llm's output and stream event.
type llmOutput struct {
	Output  string `json:"output"`
	Partial bool   `json:"partial"`
}

// anyLLM builds the any-llm demo: a deterministic reply, emitted chunk by
// chunk ({"output": <text so far>, "partial": true}, ..., then
// "partial": false) when streamed.
func anyLLM(delay time.Duration) HandlerFunc {
	return func(ctx context.Context, req *Request) (any, error) {
		var in llmInput
		if err := decodeDemoInput(req, &in); err != nil {
			return nil, err
		}
		if err := requirePrompt(in.Prompt); err != nil {
			return nil, err
		}
		model := in.Model
		if model == "" {
			model = "google/gemini-flash-1.5"
		}
		reply := fmt.Sprintf("This is %s, simulated by faltest. You asked: %q. A real model would answer here; this reply is the same every time for the same prompt.", model, *in.Prompt)
		words := strings.SplitAfter(reply, " ")
		const perChunk = 4
		chunks := (len(words) + perChunk - 1) / perChunk
		req.Log("INFO", "Generating with "+model)
		var sofar strings.Builder
		for c := 0; c < chunks; c++ {
			if err := sleepCtx(ctx, delay/time.Duration(chunks)); err != nil {
				return nil, err
			}
			for _, w := range words[c*perChunk : min((c+1)*perChunk, len(words))] {
				sofar.WriteString(w)
			}
			if err := req.Emit(llmOutput{Output: sofar.String(), Partial: c < chunks-1}); err != nil {
				return nil, err
			}
		}
		// Billed per token, counted as 4 characters.
		chars := len(*in.Prompt) + len(in.SystemPrompt) + len(reply)
		req.SetBillableUnits(float64((chars + 3) / 4))
		return llmOutput{Output: reply}, nil
	}
}

// echoControl are the "_"-prefixed input fields falgo/echo acts on.
type echoControl struct {
	BillableUnits *float64          `json:"_billable_units"`
	Headers       bool              `json:"_headers"`
	SleepMS       int               `json:"_sleep_ms"`
	Logs          []string          `json:"_logs"`
	Events        []json.RawMessage `json:"_events"`
	Error         *struct {
		Status    int    `json:"status"`
		Detail    any    `json:"detail"`
		ErrorType string `json:"error_type"`
	} `json:"_error"`
}

// maxEchoSleep bounds _sleep_ms.
const maxEchoSleep = 10 * time.Minute

// echo is falgo/echo: it returns its input unchanged. An object input may
// hold control fields, acted on in this order: "_logs" (strings logged),
// "_events" (values emitted when streamed), "_sleep_ms" (a wait),
// "_error" ({"status","detail","error_type"}: fail with that answer) and
// "_headers": true (the output gains "_request": the app, path, request id
// and the request's X-Fal-*, User-Agent and Content-Type headers).
func echo(ctx context.Context, req *Request) (any, error) {
	in := req.Input
	if !bytes.Contains(in, []byte(`"_`)) {
		return validJSON(in), nil // the hot path: nothing to do but echo
	}
	t := bytes.TrimSpace(in)
	if len(t) == 0 || t[0] != '{' {
		return validJSON(in), nil
	}
	var ctl echoControl
	if err := req.Decode(&ctl); err != nil {
		return nil, err
	}
	if u := ctl.BillableUnits; u != nil {
		if *u < 0 {
			return nil, ValidationError("_billable_units", "must not be negative")
		}
		req.SetBillableUnits(*u)
	}
	for _, l := range ctl.Logs {
		req.Log("INFO", l)
	}
	for _, ev := range ctl.Events {
		if err := req.Emit(ev); err != nil {
			return nil, err
		}
	}
	if ctl.SleepMS < 0 {
		return nil, ValidationError("_sleep_ms", "must not be negative")
	}
	if ctl.SleepMS > 0 {
		if err := sleepCtx(ctx, min(time.Duration(ctl.SleepMS)*time.Millisecond, maxEchoSleep)); err != nil {
			return nil, err
		}
	}
	if e := ctl.Error; e != nil {
		if e.Status < 400 || e.Status > 599 {
			return nil, ValidationError("_error.status", "must be an HTTP error status (400-599)")
		}
		return nil, &AppError{Status: e.Status, Detail: e.Detail, Type: e.ErrorType}
	}
	if !ctl.Headers {
		return validJSON(in), nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(in, &obj); err != nil {
		return nil, ValidationError("", "invalid input: "+err.Error())
	}
	hdr := map[string]string{}
	for k, v := range req.Header {
		if strings.HasPrefix(k, "X-Fal-") || k == "User-Agent" || k == "Content-Type" {
			hdr[k] = strings.Join(v, ", ")
		}
	}
	meta, _ := json.Marshal(map[string]any{
		"app":        req.App,
		"path":       req.Path,
		"request_id": req.RequestID,
		"headers":    hdr,
	})
	obj["_request"] = meta
	return obj, nil
}

// requirePrompt answers as fal's apps do when the prompt is missing (a
// FastAPI "field required") or empty.
func requirePrompt(p *string) error {
	if p == nil {
		return &InputError{Details: []ValidationDetail{{Loc: []any{"body", "prompt"}, Msg: "field required", Type: "missing"}}}
	}
	if strings.TrimSpace(*p) == "" {
		return ValidationError("prompt", "the prompt must not be empty")
	}
	return nil
}
