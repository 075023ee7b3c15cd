package fal

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/falgo/fal/internal/falerr"
)

// Encode returns data as a data URI (data:<type>;base64,<data>), which apps
// accept wherever they take a file URL. No request is made; prefer Upload
// for anything larger than a few hundred kilobytes.
func Encode(data []byte, contentType string) string {
	if contentType == "" {
		contentType = http.DetectContentType(data)
	}
	return "data:" + contentType + ";base64," + base64.StdEncoding.EncodeToString(data)
}

// EncodeFile reads the file at path and returns it as a data URI, with the
// content type from the extension, else sniffed from the content.
func EncodeFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", falerr.Wrap(err, "EncodeFile")
	}
	ct := typeByName(path)
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	return Encode(data, ct), nil
}

// EncodeImage encodes img in format ("png", "jpeg" or "jpg", "gif") and
// returns it as a data URI.
func EncodeImage(img image.Image, format string) (string, error) {
	data, ct, err := encodeImage(img, format)
	if err != nil {
		return "", err
	}
	return Encode(data, ct), nil
}

// encodeImage encodes img and returns the bytes and their content type.
func encodeImage(img image.Image, format string) ([]byte, string, error) {
	if img == nil {
		return nil, "", falerr.New("the image is nil")
	}
	var buf bytes.Buffer
	switch strings.ToLower(format) {
	case "png":
		if err := png.Encode(&buf, img); err != nil {
			return nil, "", falerr.Wrap(err, "encoding the image as PNG")
		}
		return buf.Bytes(), "image/png", nil
	case "jpeg", "jpg":
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
			return nil, "", falerr.Wrap(err, "encoding the image as JPEG")
		}
		return buf.Bytes(), "image/jpeg", nil
	case "gif":
		if err := gif.Encode(&buf, img, nil); err != nil {
			return nil, "", falerr.Wrap(err, "encoding the image as GIF")
		}
		return buf.Bytes(), "image/gif", nil
	}
	return nil, "", falerr.New("unsupported image format %q; use png, jpeg or gif", format)
}

// commonTypes fills gaps of mime.TypeByExtension, whose table depends on
// the platform, for files generative apps use.
var commonTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif",
	".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime", ".wav": "audio/wav", ".mp3": "audio/mpeg",
	".ogg": "audio/ogg", ".flac": "audio/flac", ".json": "application/json", ".txt": "text/plain; charset=utf-8",
	".safetensors": "application/octet-stream", ".zip": "application/zip", ".pdf": "application/pdf",
}

// typeByName guesses a content type from a file name's extension; "" if
// it cannot.
func typeByName(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	if ext == "" {
		return ""
	}
	if ct, ok := commonTypes[ext]; ok {
		return ct
	}
	return mime.TypeByExtension(ext)
}

// extensionFor returns a file extension for a content type, or "".
func extensionFor(ct string) string {
	mt, _, _ := mime.ParseMediaType(ct)
	for ext, t := range commonTypes {
		if strings.HasPrefix(t, mt) && mt != "application/octet-stream" {
			if mt == "image/jpeg" {
				return ".jpg"
			}
			return ext
		}
	}
	if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
		return exts[0]
	}
	return ""
}
