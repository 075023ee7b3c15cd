package faltest

import (
	"time"
)

// The demo apps' Platform API data: metadata, prices and the Go types their
// OpenAPI documents are generated from.
//
// Sources:
//   - Metadata and schemas of fal-ai/flux/schnell, fal-ai/flux/dev,
//     fal-ai/fast-sdxl and fal-ai/fast-lcm-diffusion: fal's own answer to
//     GET https://api.fal.ai/v1/models?category=text-to-image&expand=openapi-3.0,
//     saved on 2026-01-28 in github.com/TanStack/ai,
//     packages/typescript/ai-fal/json/fal.models.text-to-image.json (commit
//     15183e7dd). Property names, order (x-fal-order-properties), titles,
//     descriptions, defaults, enums and ranges come from there, simplified
//     as noted on each type.
//   - fal-ai/fast-sdxl/image-to-image, fal-ai/fast-sdxl/inpainting and
//     fal-ai/flux/dev/image-to-image: the endpoint ids, output and
//     categories as github.com/carlosdp/fal-rs generated them from fal's
//     catalogue (fal/src/endpoints/fal_ai/fast_sdxl/{image_to_image,
//     inpainting}/mod.rs); inputs are the text-to-image inputs of the same
//     app plus image_url (mask_url), strength and fal's "leave it none to
//     infer from the prompt image" image_size. Strength ranges and the
//     40-step default of FLUX.1 [dev] image-to-image are as remembered
//     from fal's model pages, not checked against a saved document.
//   - fal-ai/any-llm (no longer listed by fal): the types fal-js generated
//     from its OpenAPI document, github.com/fal-ai/fal-js,
//     libs/client/src/types/endpoints.ts (AnyLlmInput, AnyLlmOutput, at
//     commit edd6d93^), and github.com/carlosdp/fal-rs,
//     src/endpoints/fal_ai/any_llm/mod.rs (description, category).
//   - Prices: fal's model pages list FLUX.1 [schnell] at $0.003 and FLUX.1
//     [dev] at $0.025 per megapixel, "billed by rounding up to the nearest
//     megapixel" (fal.ai/models/fal-ai/flux-1/dev/playground). fal bills
//     the SDXL family by GPU time (its pricing says "per compute seconds");
//     faltest bills fast-sdxl and fast-lcm-diffusion per image instead, so
//     that tests get the same figure on every run. any-llm is billed per
//     token, counted as 4 characters of prompt, system prompt and reply;
//     falgo/echo, faltest's own, per request. Those prices are faltest's
//     choices, not fal's.

// imageSizePresets are the preset names of image_size.
var imageSizePresets = []string{"square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9"}

// imageSize is fal's ImageSize schema. fal allows up to 14142 pixels a
// side; the demos draw at most 4096.
type imageSize struct {
	Width  int `json:"width,omitempty" description:"The width of the generated image." exclusiveMinimum:"0" maximum:"4096" default:"512"`
	Height int `json:"height,omitempty" description:"The height of the generated image." exclusiveMinimum:"0" maximum:"4096" default:"512"`
}

// imageSizeParam is image_size: an ImageSize or a preset name.
type imageSizeParam struct{}

// FalSchema describes the union as fal does.
func (imageSizeParam) FalSchema(ref func(any) map[string]any) map[string]any {
	return map[string]any{"anyOf": []any{
		ref(imageSize{}),
		map[string]any{"enum": imageSizePresets, "type": "string"},
	}}
}

// imageSchema is fal's Image schema in these documents. The demos draw
// PNGs.
type imageSchema struct {
	_           struct{} `title:"Image"`
	URL         string   `json:"url" title:"Url"`
	Width       int      `json:"width"`
	Height      int      `json:"height"`
	ContentType string   `json:"content_type,omitempty" default:"image/png"`
}

// t2iOutputSchema is the output of the text-to-image demos (fal's
// "Output" of these endpoints).
type t2iOutputSchema struct {
	_               struct{}           `title:"Output"`
	Images          []imageSchema      `json:"images" description:"The generated image files info."`
	Timings         map[string]float64 `json:"timings"`
	Seed            int64              `json:"seed" description:"Seed of the generated Image. It will be the same value of the one passed in the input or the randomly generated that was used in case none was passed."`
	HasNSFWConcepts []bool             `json:"has_nsfw_concepts" title:"Has Nsfw Concepts" description:"Whether the generated images contain NSFW concepts."`
	Prompt          string             `json:"prompt" description:"The prompt used for generating the image."`
}

// fluxSchnellInput is FluxSchnellInput, in fal's property order. The
// output_format default is fal-js's ("png"); the demos draw PNGs.
type fluxSchnellInput struct {
	_                   struct{}       `title:"SchnellTextToImageInput"`
	NumInferenceSteps   int            `json:"num_inference_steps,omitempty" description:"The number of inference steps to perform." minimum:"1" maximum:"12" default:"4"`
	Prompt              string         `json:"prompt" description:"The prompt to generate an image from." examples:"Extreme close-up of a single tiger eye, direct frontal view. Detailed iris and pupil. Sharp focus on eye texture and color. Natural lighting to capture authentic eye shine and depth. The word \"FLUX\" is painted over it in big, white brush strokes with visible texture."`
	ImageSize           imageSizeParam `json:"image_size,omitempty" description:"The size of the generated image." default:"landscape_4_3"`
	Seed                *int64         `json:"seed,omitempty" description:"The same seed and the same prompt given to the same version of the model will output the same image every time."`
	GuidanceScale       float64        `json:"guidance_scale,omitempty" title:"Guidance scale (CFG)" description:"The CFG (Classifier Free Guidance) scale is a measure of how close you want the model to stick to your prompt when looking for a related image to show you." minimum:"1" maximum:"20" default:"3.5"`
	SyncMode            bool           "json:\"sync_mode,omitempty\" description:\"If `True`, the media will be returned as a data URI and the output data won't be available in the request history.\" default:\"false\""
	NumImages           int            `json:"num_images,omitempty" description:"The number of images to generate." minimum:"1" maximum:"4" default:"1"`
	EnableSafetyChecker bool           `json:"enable_safety_checker,omitempty" description:"If set to true, the safety checker will be enabled." default:"true"`
	OutputFormat        string         `json:"output_format,omitempty" description:"The format of the generated image. faltest draws PNGs whatever the value." enum:"jpeg,png" default:"png"`
	Acceleration        string         `json:"acceleration,omitempty" description:"The speed of the generation. The higher the speed, the faster the generation. faltest accepts and ignores it." enum:"none,regular,high" default:"none"`
}

// fluxDevInput is FluxDevInput, in fal's property order.
type fluxDevInput struct {
	_                   struct{}       `title:"BaseInput"`
	Prompt              string         `json:"prompt" description:"The prompt to generate an image from."`
	ImageSize           imageSizeParam `json:"image_size,omitempty" description:"The size of the generated image." default:"landscape_4_3"`
	NumInferenceSteps   int            `json:"num_inference_steps,omitempty" description:"The number of inference steps to perform." minimum:"1" maximum:"50" default:"28"`
	Seed                *int64         `json:"seed,omitempty" description:"The same seed and the same prompt given to the same version of the model will output the same image every time."`
	GuidanceScale       float64        `json:"guidance_scale,omitempty" title:"Guidance scale (CFG)" description:"The CFG (Classifier Free Guidance) scale is a measure of how close you want the model to stick to your prompt when looking for a related image to show you." minimum:"1" maximum:"20" default:"3.5"`
	SyncMode            bool           "json:\"sync_mode,omitempty\" description:\"If `True`, the media will be returned as a data URI and the output data won't be available in the request history.\" default:\"false\""
	NumImages           int            `json:"num_images,omitempty" description:"The number of images to generate." minimum:"1" maximum:"4" default:"1"`
	EnableSafetyChecker bool           `json:"enable_safety_checker,omitempty" description:"If set to true, the safety checker will be enabled." default:"true"`
	OutputFormat        string         `json:"output_format,omitempty" description:"The format of the generated image. faltest draws PNGs whatever the value." enum:"jpeg,png" default:"png"`
	Acceleration        string         `json:"acceleration,omitempty" description:"The speed of the generation. The higher the speed, the faster the generation. faltest accepts and ignores it." enum:"none,regular,high" default:"none"`
}

// loraWeight and embedding are fast-sdxl's shared schemas (accepted and
// ignored by the demo).
type loraWeight struct {
	Path  string  `json:"path" description:"URL or the path to the LoRA weights."`
	Scale float64 `json:"scale,omitempty" description:"The scale of the LoRA weight." minimum:"0" maximum:"1" default:"1"`
	Force bool    `json:"force,omitempty" default:"false"`
}

type embedding struct {
	Path   string   `json:"path" description:"URL or the path to the embedding weights."`
	Tokens []string `json:"tokens,omitempty" default:"[\"<s0>\",\"<s1>\"]"`
}

// fastSDXLInput is FastSdxlInput without safety_checker_version and
// request_id. The format default is "png" (fal: "jpeg"); the demo draws
// PNGs.
type fastSDXLInput struct {
	_                   struct{}       `title:"TextToImageInput"`
	Prompt              string         `json:"prompt" description:"The prompt to use for generating the image. Be as descriptive as possible for best results."`
	NegativePrompt      string         `json:"negative_prompt,omitempty" description:"The negative prompt to use. Use it to address details that you don't want in the image. This could be colors, objects, scenery and even the small details (e.g. moustache, blurry, low resolution)." default:""`
	ImageSize           imageSizeParam `json:"image_size,omitempty" description:"The size of the generated image." default:"square_hd"`
	NumInferenceSteps   int            `json:"num_inference_steps,omitempty" description:"The number of inference steps to perform." minimum:"1" maximum:"50" default:"25"`
	Seed                *int64         `json:"seed,omitempty" description:"The same seed and the same prompt given to the same version of Stable Diffusion will output the same image every time."`
	GuidanceScale       float64        `json:"guidance_scale,omitempty" title:"Guidance scale (CFG)" description:"The CFG (Classifier Free Guidance) scale is a measure of how close you want the model to stick to your prompt when looking for a related image to show you." minimum:"0" maximum:"20" default:"7.5"`
	SyncMode            bool           "json:\"sync_mode,omitempty\" description:\"If `True`, the media will be returned as a data URI and the output data won't be available in the request history.\" default:\"false\""
	NumImages           int            `json:"num_images,omitempty" description:"The number of images to generate." minimum:"1" maximum:"8" default:"1"`
	Loras               []loraWeight   `json:"loras,omitempty" description:"The list of LoRA weights to use (accepted and ignored by faltest)." default:"[]"`
	Embeddings          []embedding    `json:"embeddings,omitempty" description:"The list of embeddings to use (accepted and ignored by faltest)." default:"[]"`
	EnableSafetyChecker bool           `json:"enable_safety_checker,omitempty" description:"If set to true, the safety checker will be enabled." default:"true"`
	ExpandPrompt        bool           `json:"expand_prompt,omitempty" description:"If set to true, the prompt will be expanded with additional prompts." default:"false"`
	Format              string         `json:"format,omitempty" description:"The format of the generated image. faltest draws PNGs whatever the value." enum:"jpeg,png" default:"png"`
}

// fastSDXLImageToImageInput is fast-sdxl/image-to-image's
// ImageToImageInput: the text-to-image input with the image to start
// from and the strength; image_size defaults to the input image's size.
type fastSDXLImageToImageInput struct {
	_        struct{} `title:"ImageToImageInput"`
	ImageURL string   `json:"image_url" title:"Image Url" description:"The URL of the image to use as a starting point for the generation. faltest reads data URIs and files stored on the faltest server only."`
	Strength float64  `json:"strength,omitempty" description:"Determines how much the generated image resembles the initial image (faltest accepts and ignores it)." minimum:"0.05" maximum:"1" default:"0.95"`
	sdxlImageFields
}

// fastSDXLInpaintingInput is fast-sdxl/inpainting's InpaintingInput:
// image-to-image with the mask of the area to paint.
type fastSDXLInpaintingInput struct {
	_        struct{} `title:"InpaintingInput"`
	ImageURL string   `json:"image_url" title:"Image Url" description:"The URL of the image to use as a starting point for the generation. faltest reads data URIs and files stored on the faltest server only."`
	MaskURL  string   `json:"mask_url" title:"Mask Url" description:"The URL of the mask to use for inpainting. faltest reads data URIs and files stored on the faltest server only."`
	Strength float64  `json:"strength,omitempty" description:"Determines how much the generated image resembles the initial image (faltest accepts and ignores it)." minimum:"0.01" maximum:"1" default:"0.95"`
	sdxlImageFields
}

// sdxlImageFields are the fields fast-sdxl's image-to-image and
// inpainting inputs share with its text-to-image input (embedded, they
// become properties of the input).
type sdxlImageFields struct {
	Prompt              string          `json:"prompt" description:"The prompt to use for generating the image. Be as descriptive as possible for best results."`
	NegativePrompt      string          `json:"negative_prompt,omitempty" description:"The negative prompt to use. Use it to address details that you don't want in the image. This could be colors, objects, scenery and even the small details (e.g. moustache, blurry, low resolution)." default:""`
	ImageSize           *imageSizeParam `json:"image_size,omitempty" description:"The size of the generated image. Leave it none to automatically infer from the prompt image."`
	NumInferenceSteps   int             `json:"num_inference_steps,omitempty" description:"The number of inference steps to perform." minimum:"1" maximum:"50" default:"25"`
	GuidanceScale       float64         `json:"guidance_scale,omitempty" title:"Guidance scale (CFG)" description:"The CFG (Classifier Free Guidance) scale is a measure of how close you want the model to stick to your prompt when looking for a related image to show you." minimum:"0" maximum:"20" default:"7.5"`
	Seed                *int64          `json:"seed,omitempty" description:"The same seed and the same prompt given to the same version of Stable Diffusion will output the same image every time."`
	SyncMode            bool            "json:\"sync_mode,omitempty\" description:\"If `True`, the media will be returned as a data URI and the output data won't be available in the request history.\" default:\"false\""
	NumImages           int             `json:"num_images,omitempty" description:"The number of images to generate." minimum:"1" maximum:"8" default:"1"`
	EnableSafetyChecker bool            `json:"enable_safety_checker,omitempty" description:"If set to true, the safety checker will be enabled." default:"true"`
	Format              string          `json:"format,omitempty" description:"The format of the generated image. faltest draws PNGs whatever the value." enum:"jpeg,png" default:"png"`
}

// fluxDevImageToImageInput is flux/dev/image-to-image's input: no
// image_size (the output has the input image's size; faltest also
// accepts one), 40 steps by default.
type fluxDevImageToImageInput struct {
	_                   struct{} `title:"ImageToImageInput"`
	ImageURL            string   `json:"image_url" title:"Image URL" description:"The URL of the image to generate an image from. faltest reads data URIs and files stored on the faltest server only."`
	Strength            float64  `json:"strength,omitempty" description:"The strength of the initial image. Higher strength values are better for this model (faltest accepts and ignores it)." minimum:"0.01" maximum:"1" default:"0.95"`
	NumInferenceSteps   int      `json:"num_inference_steps,omitempty" description:"The number of inference steps to perform." minimum:"1" maximum:"50" default:"40"`
	Prompt              string   `json:"prompt" description:"The prompt to generate an image from."`
	Seed                *int64   `json:"seed,omitempty" description:"The same seed and the same prompt given to the same version of the model will output the same image every time."`
	GuidanceScale       float64  `json:"guidance_scale,omitempty" title:"Guidance scale (CFG)" description:"The CFG (Classifier Free Guidance) scale is a measure of how close you want the model to stick to your prompt when looking for a related image to show you." minimum:"1" maximum:"20" default:"3.5"`
	SyncMode            bool     "json:\"sync_mode,omitempty\" description:\"If `True`, the media will be returned as a data URI and the output data won't be available in the request history.\" default:\"false\""
	NumImages           int      `json:"num_images,omitempty" description:"The number of images to generate." minimum:"1" maximum:"4" default:"1"`
	EnableSafetyChecker bool     `json:"enable_safety_checker,omitempty" description:"If set to true, the safety checker will be enabled." default:"true"`
	OutputFormat        string   `json:"output_format,omitempty" description:"The format of the generated image. faltest draws PNGs whatever the value." enum:"jpeg,png" default:"png"`
	Acceleration        string   `json:"acceleration,omitempty" description:"The speed of the generation. The higher the speed, the faster the generation. faltest accepts and ignores it." enum:"none,regular,high" default:"none"`
}

// fastLCMInput is FastLcmDiffusionInput without safety_checker_version,
// expand_prompt, guidance_rescale and request_id. The demo keeps a
// 512×512 default (fal: square_hd) and CDN URLs by default (fal:
// sync_mode true), for speed on the realtime path.
type fastLCMInput struct {
	_                   struct{}       `title:"TextToImageLCMInput"`
	ModelName           string         `json:"model_name,omitempty" description:"The name of the model to use (faltest draws the same picture for both)." enum:"stabilityai/stable-diffusion-xl-base-1.0,runwayml/stable-diffusion-v1-5" default:"stabilityai/stable-diffusion-xl-base-1.0"`
	Prompt              string         `json:"prompt" description:"The prompt to use for generating the image. Be as descriptive as possible for best results."`
	NegativePrompt      string         `json:"negative_prompt,omitempty" description:"The negative prompt to use. Use it to address details that you don't want in the image. This could be colors, objects, scenery and even the small details (e.g. moustache, blurry, low resolution)." default:""`
	ImageSize           imageSizeParam `json:"image_size,omitempty" description:"The size of the generated image." default:"square"`
	NumInferenceSteps   int            `json:"num_inference_steps,omitempty" description:"The number of inference steps to perform." minimum:"1" maximum:"32" default:"6"`
	Seed                *int64         `json:"seed,omitempty" description:"The same seed and the same prompt given to the same version of Stable Diffusion will output the same image every time."`
	GuidanceScale       float64        `json:"guidance_scale,omitempty" title:"Guidance scale (CFG)" description:"The CFG (Classifier Free Guidance) scale is a measure of how close you want the model to stick to your prompt when looking for a related image to show you." minimum:"0" maximum:"20" default:"1.5"`
	SyncMode            bool           "json:\"sync_mode,omitempty\" description:\"If `True`, the media will be returned as a data URI and the output data won't be available in the request history.\" default:\"false\""
	NumImages           int            `json:"num_images,omitempty" description:"The number of images to generate." minimum:"1" maximum:"8" default:"1"`
	EnableSafetyChecker bool           `json:"enable_safety_checker,omitempty" description:"If set to true, the safety checker will be enabled." default:"true"`
	Format              string         `json:"format,omitempty" description:"The format of the generated image. faltest draws PNGs whatever the value." enum:"jpeg,png" default:"png"`
}

// anyLLMInput is AnyLlmInput without priority, temperature and
// max_tokens; the model enum is fal-js's list. The default model is the demo's (fal's was
// google/gemini-flash-1.5, later google/gemini-2.5-flash-lite).
type anyLLMInput struct {
	_            struct{} `title:"ChatInput"`
	Prompt       string   `json:"prompt" description:"Prompt to be used for the chat completion" examples:"What is the meaning of life?"`
	SystemPrompt string   `json:"system_prompt,omitempty" description:"System prompt to provide context or instructions to the model"`
	Reasoning    bool     `json:"reasoning,omitempty" description:"Should reasoning be the part of the final answer." default:"false"`
	Model        string   `json:"model,omitempty" description:"Name of the model to use. faltest answers the same for every model." enum:"deepseek/deepseek-r1,anthropic/claude-3.7-sonnet,anthropic/claude-3.5-sonnet,anthropic/claude-3-5-haiku,anthropic/claude-3-haiku,google/gemini-pro-1.5,google/gemini-flash-1.5,google/gemini-flash-1.5-8b,google/gemini-2.0-flash-001,google/gemini-2.5-flash,google/gemini-2.5-flash-lite,google/gemini-2.5-pro,meta-llama/llama-3.2-1b-instruct,meta-llama/llama-3.2-3b-instruct,meta-llama/llama-3.1-8b-instruct,meta-llama/llama-3.1-70b-instruct,openai/gpt-oss-120b,openai/gpt-4o-mini,openai/gpt-4o,openai/gpt-4.1,openai/o3,openai/gpt-5-chat,openai/gpt-5-mini,openai/gpt-5-nano,meta-llama/llama-4-maverick,meta-llama/llama-4-scout" default:"google/gemini-flash-1.5"`
}

// anyLLMOutput is AnyLlmOutput.
type anyLLMOutput struct {
	_         struct{} `title:"ChatOutput"`
	Output    string   `json:"output" description:"Generated output" examples:"The meaning of life is subjective and depends on individual perspectives."`
	Reasoning *string  `json:"reasoning,omitempty" description:"Generated reasoning for the final answer"`
	Partial   bool     `json:"partial,omitempty" description:"Whether the output is partial" default:"false"`
	Error     *string  `json:"error,omitempty" description:"Error message if an error occurred"`
}

// echoValue is falgo/echo's input and output: any JSON object.
type echoValue map[string]any

// date is a fixed publication date for the demo metadata.
func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// demoOptions are the Platform API options of each demo app.
func demoOptions(id string) []AppOption {
	m := demoMetaOf(id)
	if m.in == nil {
		return nil
	}
	return []AppOption{Info(m.info), Price(m.price, m.unit), Schema(m.in, m.out)}
}

// demoMeta is what the Platform API tells of a demo app.
type demoMeta struct {
	info    ModelInfo
	price   float64
	unit    string
	in, out any // Schema's input and output
}

// imageEndpoint is the metadata of an image-to-image endpoint of the demo
// app base: base's, with another category, group label, input and (if
// not empty) description.
func imageEndpoint(base, label, description string, input any) demoMeta {
	m := demoMetaOf(base)
	m.info.Category, m.info.GroupLabel, m.in = "image-to-image", label, input
	if description != "" {
		m.info.Description = description
	}
	return m
}

// demoMetaOf is the metadata, price and schema of each demo app (zero for
// an id that is none).
func demoMetaOf(id string) demoMeta {
	switch id {
	case DemoFluxSchnell, DemoFluxDev:
		return fluxMeta(id)
	case DemoFastSDXL, DemoRealtimeLCM:
		return sdxlMeta(id)
	case DemoFluxDevImageToImage:
		return imageEndpoint(DemoFluxDev, "Image to Image [dev]", "FLUX.1 Image-to-Image is a high-performance endpoint for the FLUX.1 [dev] model that enables rapid transformation of existing images, delivering high-quality style transfers and image modifications with the core FLUX capabilities.", fluxDevImageToImageInput{})
	case DemoFastSDXLImageToImage:
		return imageEndpoint(DemoFastSDXL, "Image to Image", "", fastSDXLImageToImageInput{})
	case DemoFastSDXLInpainting:
		return imageEndpoint(DemoFastSDXL, "Inpainting", "", fastSDXLInpaintingInput{})
	}
	return otherDemoMeta(id)
}

// fluxMeta is demoMetaOf for the FLUX.1 text-to-image demos.
func fluxMeta(id string) demoMeta {
	switch id {
	case DemoFluxSchnell:
		return demoMeta{
			info: ModelInfo{
				DisplayName: "FLUX.1 [schnell]", Category: "text-to-image",
				Description:  "FLUX.1 [schnell] is a 12 billion parameter flow transformer that generates high-quality images from text in 1 to 4 steps, suitable for personal and commercial use.",
				LicenseType:  "commercial",
				ThumbnailURL: "https://storage.googleapis.com/falserverless/gallery/flux-schnell-thumb.webp",
				GithubURL:    "https://www.apache.org/licenses/LICENSE-2.0.txt",
				GroupKey:     "flux-1", GroupLabel: "Text to Image [schnell]",
				Date: date("2024-11-25T00:00:00Z"),
			},
			price: 0.003, unit: "megapixels",
			in: fluxSchnellInput{}, out: t2iOutputSchema{},
		}
	case DemoFluxDev:
		return demoMeta{
			info: ModelInfo{
				DisplayName: "FLUX.1 [dev]", Category: "text-to-image",
				Description:  "FLUX.1 [dev] is a 12 billion parameter flow transformer that generates high-quality images from text. It is suitable for personal and commercial use.",
				LicenseType:  "commercial",
				ThumbnailURL: "https://storage.googleapis.com/fal_cdn/fal/Upscale-1.jpeg",
				GroupKey:     "flux-1", GroupLabel: "Text to Image [dev]",
				Streaming: true,
				Date:      date("2025-04-01T18:10:42Z"),
			},
			price: 0.025, unit: "megapixels",
			in: fluxDevInput{}, out: t2iOutputSchema{},
		}
	}
	return demoMeta{}
}

// sdxlMeta is demoMetaOf for the SDXL-family text-to-image demos.
func sdxlMeta(id string) demoMeta {
	switch id {
	case DemoFastSDXL:
		return demoMeta{
			info: ModelInfo{
				DisplayName: "Stable Diffusion XL", Category: "text-to-image",
				Description:  "Run SDXL at the speed of light",
				Tags:         []string{"diffusion", "lora", "embeddings", "high-res", "style"},
				ThumbnailURL: "https://storage.googleapis.com/falserverless/gallery/fast-sdxl.jpeg",
				GithubURL:    "https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0/blob/main/LICENSE.md",
				GroupKey:     "stable-diffusion-xl", GroupLabel: "Text to Image",
				Date: date("2024-06-12T00:00:00Z"),
			},
			price: 0.0025, unit: "images",
			in: fastSDXLInput{}, out: t2iOutputSchema{},
		}
	case DemoRealtimeLCM:
		return demoMeta{
			info: ModelInfo{
				DisplayName: "Latent Consistency Models (v1.5/XL)", Category: "text-to-image",
				Description:  "Run SDXL at the speed of light",
				Tags:         []string{"lcm", "diffusion", "turbo", "real-time"},
				ThumbnailURL: "https://fal-cdn.batuhan-941.workers.dev/files/rabbit/P322iQXlz2jOOuRFBWK-q.jpeg",
				GithubURL:    "https://huggingface.co/latent-consistency/lcm-lora-sdxl/blob/main/README.md",
				GroupKey:     "fast-lcm-diffusion", GroupLabel: "Text to Image",
				Date: date("2024-02-19T00:00:00Z"),
			},
			price: 0.0005, unit: "images",
			in: fastLCMInput{}, out: t2iOutputSchema{},
		}
	}
	return demoMeta{}
}

// otherDemoMeta is demoMetaOf for the demos that draw no images.
func otherDemoMeta(id string) demoMeta {
	switch id {
	case DemoAnyLLM:
		return demoMeta{
			info: ModelInfo{
				DisplayName: "Any LLM", Category: "llm",
				Description: "Run any large language model with fal, powered by OpenRouter. faltest answers with a fixed, deterministic text.",
				LicenseType: "commercial",
				GroupKey:    "any-llm", GroupLabel: "Any LLM",
				Streaming: true,
				Date:      date("2024-10-01T00:00:00Z"),
			},
			price: 0.000001, unit: "tokens",
			in: anyLLMInput{}, out: anyLLMOutput{},
		}
	case DemoEcho:
		return demoMeta{
			info: ModelInfo{
				DisplayName: "Echo (faltest)", Category: "json",
				Description: "Returns its input. Control fields: _logs, _events, _sleep_ms, _error, _headers, _billable_units.",
				Tags:        []string{"faltest", "testing"},
				LicenseType: "private",
				Streaming:   true,
			},
			price: 0.001, unit: "requests",
			in: echoValue{}, out: echoValue{},
		}
	}
	return demoMeta{}
}
