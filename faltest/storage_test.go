package faltest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
	"go.uber.org/goleak"
)

// stEnv is a server plus a plain HTTP client for storage tests.
type stEnv struct {
	t   *testing.T
	srv *faltest.Server
	hc  *http.Client
}

func newStEnv(t *testing.T, opts ...faltest.Option) *stEnv {
	t.Helper()
	srv := faltest.NewServer(append([]faltest.Option{faltest.WithoutDemoApps()}, opts...)...)
	tr := &http.Transport{}
	e := &stEnv{t: t, srv: srv, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return e
}

// do sends a request and returns the response with its body read.
func (e *stEnv) do(method, u string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatalf("building %s %s: %v", method, u, err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("reading %s %s: %v", method, u, err)
	}
	return resp, b
}

// want fails the test unless resp has the given status.
func (e *stEnv) want(resp *http.Response, body []byte, status int) {
	e.t.Helper()
	if resp.StatusCode != status {
		e.t.Fatalf("%s %s: status %d, want %d; body: %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, status, body)
	}
}

// decode unmarshals a JSON body.
func (e *stEnv) decode(body []byte, v any) {
	e.t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		e.t.Fatalf("decoding %s: %v", body, err)
	}
}

func (e *stEnv) keyHeader() map[string]string {
	return map[string]string{"Authorization": "Key " + e.srv.Key}
}

// cdnToken fetches a CDN token the way the Python client does.
func (e *stEnv) cdnToken() (token, baseURL string) {
	e.t.Helper()
	h := e.keyHeader()
	h["Content-Type"] = "application/json"
	resp, body := e.do("POST", e.srv.URL+"/rest/storage/auth/token?storage_type=fal-cdn-v3", strings.NewReader("{}"), h)
	e.want(resp, body, 200)
	var tok struct {
		Token, TokenType, BaseURL, ExpiresAt string
	}
	var raw map[string]string
	e.decode(body, &raw)
	tok.Token, tok.TokenType, tok.BaseURL, tok.ExpiresAt = raw["token"], raw["token_type"], raw["base_url"], raw["expires_at"]
	if tok.Token == "" || tok.TokenType != "Bearer" || tok.BaseURL != e.srv.URL+"/cdn" {
		e.t.Fatalf("token response %s: want a token, token_type Bearer and base_url %s/cdn", body, e.srv.URL)
	}
	return tok.Token, tok.BaseURL
}

// errorDetail returns the detail string of a fal error body.
func stErrorDetail(t *testing.T, body []byte) string {
	t.Helper()
	var v struct {
		Detail any `json:"detail"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("error body %s is not JSON: %v", body, err)
	}
	return fmt.Sprint(v.Detail)
}

func TestStorageCDNTokenUploadAndDownload(t *testing.T) {
	e := newStEnv(t)

	// The token endpoint needs the key and the v3 storage type.
	resp, body := e.do("POST", e.srv.URL+"/rest/storage/auth/token?storage_type=fal-cdn-v3", nil, nil)
	e.want(resp, body, 401)
	resp, body = e.do("POST", e.srv.URL+"/rest/storage/auth/token?storage_type=gcs", nil, e.keyHeader())
	e.want(resp, body, 400)

	resp, body = e.do("POST", e.srv.URL+"/rest/storage/auth/token?storage_type=fal-cdn-v3", strings.NewReader("{}"), e.keyHeader())
	e.want(resp, body, 200)
	var tok map[string]string
	e.decode(body, &tok)
	// Python before 3.11 parses only a fixed-width fraction and +HH:MM.
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$`).MatchString(tok["expires_at"]) {
		t.Fatalf("expires_at = %q, want ISO 8601 with six fraction digits and +00:00", tok["expires_at"])
	}
	exp, err := time.Parse("2006-01-02T15:04:05.000000-07:00", tok["expires_at"])
	if err != nil || !exp.After(time.Now()) {
		t.Fatalf("expires_at %q is not in the future (%v)", tok["expires_at"], err)
	}

	lifecycle := `{"expiration_duration_seconds": 3600, "initial_acl": {"default": "forbid", "rules": [{"user": "u1", "decision": "allow"}]}}`
	hdr := map[string]string{
		"Authorization":                     "Bearer " + tok["token"],
		"Content-Type":                      "text/plain",
		"X-Fal-File-Name":                   "a.txt",
		"X-Fal-Object-Lifecycle":            lifecycle,
		"X-Fal-Object-Lifecycle-Preference": lifecycle,
	}
	resp, body = e.do("POST", e.srv.URL+"/cdn/files/upload", strings.NewReader("hello"), hdr)
	e.want(resp, body, 200)
	var up map[string]any
	e.decode(body, &up)
	access, _ := up["access_url"].(string)
	if !strings.HasPrefix(access, e.srv.URL+"/cdn/files/") || !strings.HasSuffix(access, "/a.txt") {
		t.Fatalf("access_url = %q, want %s/cdn/files/<id>/a.txt", access, e.srv.URL)
	}

	// Anyone can download it, with its content type and length.
	resp, body = e.do("GET", access, nil, nil)
	e.want(resp, body, 200)
	if string(body) != "hello" || resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("Content-Length") != "5" {
		t.Fatalf("GET %s: body %q, Content-Type %q, Content-Length %q", access, body, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"))
	}
	resp, body = e.do("GET", access, nil, map[string]string{"Range": "bytes=1-3"})
	e.want(resp, body, 206)
	if string(body) != "ell" {
		t.Fatalf("ranged GET: %q, want %q", body, "ell")
	}

	f, ok := e.srv.File(access)
	if !ok {
		t.Fatalf("File(%q) not found", access)
	}
	if string(f.Data) != "hello" || f.Name != "a.txt" || f.ContentType != "text/plain" || f.Size != 5 || f.Via != "cdn" {
		t.Fatalf("File = %+v", f)
	}
	if string(f.Lifecycle) != lifecycle || string(f.LifecyclePreference) != lifecycle {
		t.Fatalf("lifecycle headers not recorded verbatim: %s / %s", f.Lifecycle, f.LifecyclePreference)
	}
	if f.Expires.Sub(f.Uploaded) != time.Hour {
		t.Fatalf("Expires - Uploaded = %v, want 1h from expiration_duration_seconds", f.Expires.Sub(f.Uploaded))
	}

	// Uploads without a valid CDN token are refused.
	for _, auth := range []string{"", "Key " + e.srv.Key, "Bearer not-a-token"} {
		h := map[string]string{"Content-Type": "text/plain"}
		if auth != "" {
			h["Authorization"] = auth
		}
		resp, body = e.do("POST", e.srv.URL+"/cdn/files/upload", strings.NewReader("x"), h)
		e.want(resp, body, 401)
	}

	// An unknown file is a 404 with fal's error JSON.
	resp, body = e.do("GET", e.srv.URL+"/cdn/files/nope/a.txt", nil, nil)
	e.want(resp, body, 404)
	if !strings.Contains(stErrorDetail(t, body), "not found") {
		t.Fatalf("404 detail: %s", body)
	}
	if _, ok := e.srv.File(e.srv.URL + "/cdn/files/nope/a.txt"); ok {
		t.Fatal("File found a file that does not exist")
	}
}

func TestStorageUploadWithoutNameOrType(t *testing.T) {
	e := newStEnv(t)
	tok, _ := e.cdnToken()
	resp, body := e.do("POST", e.srv.URL+"/cdn/files/upload", bytes.NewReader([]byte{1, 2, 3}), map[string]string{"Authorization": "Bearer " + tok})
	e.want(resp, body, 200)
	var up map[string]any
	e.decode(body, &up)
	f, ok := e.srv.File(up["access_url"].(string))
	if !ok || f.ContentType != "application/octet-stream" || f.Name == "" || f.Lifecycle != nil {
		t.Fatalf("File = %+v, %v: want octet-stream, a generated name and no lifecycle", f, ok)
	}
}

func TestStorageExpiredCDNToken(t *testing.T) {
	e := newStEnv(t)
	e.srv.SetCDNTokenTTL(-time.Second)
	tok, _ := e.cdnToken()
	resp, body := e.do("POST", e.srv.URL+"/cdn/files/upload", strings.NewReader("x"), map[string]string{"Authorization": "Bearer " + tok})
	e.want(resp, body, 401)
	if !strings.Contains(stErrorDetail(t, body), "expired") {
		t.Fatalf("detail should say the token expired: %s", body)
	}

	// A fresh token works until the server expires every token.
	e.srv.SetCDNTokenTTL(time.Hour)
	tok, _ = e.cdnToken()
	resp, body = e.do("POST", e.srv.URL+"/cdn/files/upload", strings.NewReader("x"), map[string]string{"Authorization": "Bearer " + tok})
	e.want(resp, body, 200)
	e.srv.ExpireCDNTokens()
	resp, body = e.do("POST", e.srv.URL+"/cdn/files/upload", strings.NewReader("x"), map[string]string{"Authorization": "Bearer " + tok})
	e.want(resp, body, 401)
	if !strings.Contains(stErrorDetail(t, body), "expired") {
		t.Fatalf("detail should say the token expired: %s", body)
	}
}

func TestStorageInvalidLifecycleHeader(t *testing.T) {
	e := newStEnv(t)
	tok, _ := e.cdnToken()
	for _, v := range []string{"not json", "[1]", `{"expiration_duration_seconds": -5}`, `{"expiration_duration_seconds": "1h"}`} {
		resp, body := e.do("POST", e.srv.URL+"/cdn/files/upload", strings.NewReader("x"), map[string]string{
			"Authorization": "Bearer " + tok, "X-Fal-Object-Lifecycle": v,
		})
		e.want(resp, body, 400)
		if !strings.Contains(stErrorDetail(t, body), "X-Fal-Object-Lifecycle") {
			t.Fatalf("lifecycle %q: detail should name the header: %s", v, body)
		}
	}
}

func TestStorageLifecycleExpiry(t *testing.T) {
	e := newStEnv(t)
	tok, _ := e.cdnToken()
	resp, body := e.do("POST", e.srv.URL+"/cdn/files/upload", strings.NewReader("x"), map[string]string{
		"Authorization": "Bearer " + tok, "X-Fal-Object-Lifecycle": `{"expiration_duration_seconds": 0.001}`,
	})
	e.want(resp, body, 200)
	var up struct {
		AccessURL string `json:"access_url"`
	}
	e.decode(body, &up)
	time.Sleep(5 * time.Millisecond) // at least the millisecond the file lives
	resp, body = e.do("GET", up.AccessURL, nil, nil)
	e.want(resp, body, 404)
	if !strings.Contains(stErrorDetail(t, body), "expired") {
		t.Fatalf("detail should say the file expired: %s", body)
	}
}

// multipartCreate starts a Python-style multipart upload.
func (e *stEnv) multipartCreate(tok, base, name, ctype string, extra map[string]string) (access, uploadID string) {
	e.t.Helper()
	h := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": ctype, "X-Fal-File-Name": name, "Accept": "application/json"}
	for k, v := range extra {
		h[k] = v
	}
	resp, body := e.do("POST", base+"/files/upload/multipart", nil, h)
	e.want(resp, body, 200)
	var v map[string]string
	e.decode(body, &v)
	if v["access_url"] == "" || v["uploadId"] == "" {
		e.t.Fatalf("multipart create answered %s: want access_url and uploadId", body)
	}
	return v["access_url"], v["uploadId"]
}

// putPart uploads one Python-style part and returns its ETag header.
func (e *stEnv) putPart(tok, access, uploadID string, n int, data []byte) string {
	e.t.Helper()
	resp, body := e.do("PUT", fmt.Sprintf("%s/multipart/%s/%d", access, uploadID, n), bytes.NewReader(data), map[string]string{
		"Authorization": "Bearer " + tok, "Accept-Encoding": "identity",
	})
	e.want(resp, body, 200)
	etag := resp.Header.Get("ETag")
	if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		e.t.Fatalf("part %d: ETag header %q, want a quoted ETag", n, etag)
	}
	return etag
}

func stPartsJSON(nums []int, etags map[int]string) string {
	var b strings.Builder
	b.WriteString(`{"parts": [`)
	for i, n := range nums {
		if i > 0 {
			b.WriteString(", ")
		}
		et, _ := json.Marshal(etags[n])
		fmt.Fprintf(&b, `{"partNumber": %d, "etag": %s}`, n, et)
	}
	b.WriteString("]}")
	return b.String()
}

func TestStoragePythonMultipart(t *testing.T) {
	e := newStEnv(t)
	tok, base := e.cdnToken()
	lifecycle := `{"expiration_duration_seconds": 86400}`
	access, uploadID := e.multipartCreate(tok, base, "big.bin", "application/x-test", map[string]string{"X-Fal-Object-Lifecycle": lifecycle})
	if !strings.HasPrefix(access, e.srv.URL+"/cdn/files/") {
		t.Fatalf("access_url %q is not under the server's /cdn/files/", access)
	}

	chunks := map[int][]byte{1: []byte("aaaa"), 2: []byte("bbbb"), 3: []byte("cc")}
	etags := map[int]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	// Parts arrive out of order and concurrently, as Python's thread pool sends them.
	for _, n := range []int{3, 1, 2} {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			et := e.putPart(tok, access, uploadID, n, chunks[n])
			mu.Lock()
			etags[n] = et
			mu.Unlock()
		}(n)
	}
	wg.Wait()

	// Not served before completion.
	resp, body := e.do("GET", access, nil, nil)
	e.want(resp, body, 404)

	// Completion lists the parts in completion order, not sorted.
	complete := access + "/multipart/" + uploadID + "/complete"
	ch := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
	resp, body = e.do("POST", complete, strings.NewReader(stPartsJSON([]int{2, 3, 1}, etags)), ch)
	e.want(resp, body, 200)

	resp, body = e.do("GET", access, nil, nil)
	e.want(resp, body, 200)
	if string(body) != "aaaabbbbcc" || resp.Header.Get("Content-Type") != "application/x-test" {
		t.Fatalf("assembled file %q (%s), want %q", body, resp.Header.Get("Content-Type"), "aaaabbbbcc")
	}
	f, ok := e.srv.File(access)
	if !ok || f.Via != "cdn-multipart" || string(f.Lifecycle) != lifecycle || f.Name != "big.bin" {
		t.Fatalf("File = %+v, %v", f, ok)
	}

	// A retried complete with the same list succeeds again; parts cannot
	// be changed afterwards.
	resp, body = e.do("POST", complete, strings.NewReader(stPartsJSON([]int{1, 2, 3}, etags)), ch)
	e.want(resp, body, 200)
	resp, body = e.do("PUT", access+"/multipart/"+uploadID+"/1", strings.NewReader("zz"), map[string]string{"Authorization": "Bearer " + tok})
	e.want(resp, body, 400)

	// Parts and completion need the CDN token.
	resp, body = e.do("POST", complete, strings.NewReader(stPartsJSON([]int{1, 2, 3}, etags)), map[string]string{"Content-Type": "application/json"})
	e.want(resp, body, 401)
}

func TestStorageMultipartCompleteErrors(t *testing.T) {
	e := newStEnv(t)
	tok, base := e.cdnToken()
	access, uploadID := e.multipartCreate(tok, base, "f.bin", "application/octet-stream", nil)
	etags := map[int]string{}
	for n := 1; n <= 3; n++ {
		etags[n] = e.putPart(tok, access, uploadID, n, []byte{byte('0' + n)})
	}
	// Re-sending a part replaces it and gives it a new ETag.
	old2 := etags[2]
	etags[2] = e.putPart(tok, access, uploadID, 2, []byte("two"))
	if etags[2] == old2 {
		t.Fatalf("re-sent part 2 kept ETag %s", old2)
	}
	auth := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
	complete := access + "/multipart/" + uploadID + "/complete"

	cases := []struct {
		name, body, detail string
	}{
		{"missing part", stPartsJSON([]int{1, 3}, etags), "part 2 is missing"},
		{"duplicate part", stPartsJSON([]int{1, 2, 2, 3}, etags), "part 2 is listed more than once"},
		{"not uploaded", stPartsJSON([]int{1, 2, 3, 4}, map[int]string{1: etags[1], 2: etags[2], 3: etags[3], 4: `"x"`}), "part 4 was never uploaded"},
		{"stale etag", stPartsJSON([]int{1, 2, 3}, map[int]string{1: etags[1], 2: old2, 3: etags[3]}), "does not match"},
		{"empty", `{"parts": []}`, "empty"},
		{"not json", `{"parts": [`, "JSON"},
		{"no etag", `{"parts": [{"partNumber": 1}]}`, "no etag"},
		{"negative", `{"parts": [{"partNumber": -1, "etag": "x"}]}`, "partNumber"},
		{"huge", `{"parts": [{"partNumber": 1e30, "etag": "x"}]}`, "partNumber"},
		{"string part", `{"parts": [{"partNumber": "one", "etag": "x"}]}`, "JSON"},
	}
	for _, c := range cases {
		resp, body := e.do("POST", complete, strings.NewReader(c.body), auth)
		if resp.StatusCode != 400 || !strings.Contains(stErrorDetail(t, body), c.detail) {
			t.Errorf("%s: status %d body %s; want 400 mentioning %q", c.name, resp.StatusCode, body, c.detail)
		}
	}

	// Bad part numbers in the URL.
	for _, p := range []string{"0", "-1", "10001", "99999999999999999999", "abc", "1.5"} {
		resp, body := e.do("PUT", access+"/multipart/"+uploadID+"/"+p, strings.NewReader("x"), map[string]string{"Authorization": "Bearer " + tok})
		if resp.StatusCode != 400 || !strings.Contains(stErrorDetail(t, body), "part number") {
			t.Errorf("part %q: status %d body %s; want 400 about the part number", p, resp.StatusCode, body)
		}
	}
	// Unknown upload ids, and an upload id under another file's URL.
	other, _ := e.multipartCreate(tok, base, "g.bin", "application/octet-stream", nil)
	for _, u := range []string{access + "/multipart/nope/1", other + "/multipart/" + uploadID + "/1"} {
		resp, body := e.do("PUT", u, strings.NewReader("x"), map[string]string{"Authorization": "Bearer " + tok})
		e.want(resp, body, 404)
	}
	resp, body := e.do("POST", access+"/multipart/"+uploadID+"/finish", strings.NewReader("{}"), auth)
	e.want(resp, body, 404)

	// After all that, the upload still completes.
	resp, body = e.do("POST", complete, strings.NewReader(stPartsJSON([]int{3, 2, 1}, etags)), auth)
	e.want(resp, body, 200)
	resp, body = e.do("GET", access, nil, nil)
	e.want(resp, body, 200)
	if string(body) != "1two3" {
		t.Fatalf("assembled %q, want %q", body, "1two3")
	}
	// Completing again with a different list is refused.
	resp, body = e.do("POST", complete, strings.NewReader(stPartsJSON([]int{1, 2}, etags)), auth)
	e.want(resp, body, 400)
}

// initiate calls a REST storage initiate endpoint.
func (e *stEnv) initiate(endpoint, storageType, body string, extra map[string]string) (uploadURL, fileURL string) {
	e.t.Helper()
	h := e.keyHeader()
	h["Content-Type"] = "application/json"
	for k, v := range extra {
		h[k] = v
	}
	resp, b := e.do("POST", e.srv.URL+"/rest/storage/upload/"+endpoint+"?storage_type="+storageType, strings.NewReader(body), h)
	e.want(resp, b, 200)
	var v map[string]string
	e.decode(b, &v)
	if !strings.HasPrefix(v["upload_url"], e.srv.URL+"/") || !strings.HasPrefix(v["file_url"], e.srv.URL+"/cdn/files/") {
		e.t.Fatalf("initiate answered %s: want upload_url and file_url under %s", b, e.srv.URL)
	}
	return v["upload_url"], v["file_url"]
}

func TestStorageInitiateAndSignedPut(t *testing.T) {
	e := newStEnv(t)
	pref := `{"expiration_duration_seconds": 3600}`
	uploadURL, fileURL := e.initiate("initiate", "gcs", `{"file_name": "upload.bin", "content_type": "text/plain"}`,
		map[string]string{"X-Fal-Object-Lifecycle-Preference": pref})
	if !strings.HasSuffix(fileURL, "/upload.bin") {
		t.Fatalf("file_url %q should end with the file name", fileURL)
	}
	resp, body := e.do("GET", fileURL, nil, nil)
	e.want(resp, body, 404)

	resp, body = e.do("PUT", uploadURL, strings.NewReader("hello"), map[string]string{"Content-Type": "text/plain"})
	e.want(resp, body, 200)
	if n := e.srv.SignedURLAuthHeaders(); n != 0 {
		t.Fatalf("SignedURLAuthHeaders = %d after a PUT without Authorization", n)
	}
	resp, body = e.do("GET", fileURL, nil, nil)
	e.want(resp, body, 200)
	if string(body) != "hello" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("GET file_url: %q (%s)", body, resp.Header.Get("Content-Type"))
	}
	f, ok := e.srv.File(fileURL)
	if !ok || f.Via != "signed" || string(f.LifecyclePreference) != pref || f.Lifecycle != nil {
		t.Fatalf("File = %+v, %v", f, ok)
	}

	// The Python client sends its key to the signed URL: counted. A retried
	// PUT replaces the content.
	h := e.keyHeader()
	h["Content-Type"] = "text/plain"
	resp, body = e.do("PUT", uploadURL, strings.NewReader("hello again"), h)
	e.want(resp, body, 200)
	if n := e.srv.SignedURLAuthHeaders(); n != 1 {
		t.Fatalf("SignedURLAuthHeaders = %d, want 1", n)
	}
	resp, body = e.do("GET", fileURL, nil, nil)
	if string(body) != "hello again" {
		t.Fatalf("after the second PUT the file is %q", body)
	}

	// A URL without its signature, or with a changed one, is refused.
	u, _ := url.Parse(uploadURL)
	q := u.Query()
	q.Set("signature", strings.Repeat("0", len(q.Get("signature"))))
	u.RawQuery = q.Encode()
	for _, bad := range []string{strings.Split(uploadURL, "?")[0], u.String()} {
		resp, body = e.do("PUT", bad, strings.NewReader("x"), nil)
		e.want(resp, body, 403)
	}

	// The JS client's storage type works the same way.
	uploadURL, fileURL = e.initiate("initiate", "fal-cdn-v3", `{"content_type": "image/png", "file_name": "1700000000.png"}`,
		map[string]string{"X-Fal-Object-Lifecycle": pref})
	resp, body = e.do("PUT", uploadURL, bytes.NewReader([]byte("\x89PNG")), map[string]string{"Content-Type": "image/png"})
	e.want(resp, body, 200)
	f, ok = e.srv.File(fileURL)
	if !ok || string(f.Data) != "\x89PNG" || f.ContentType != "image/png" || string(f.Lifecycle) != pref {
		t.Fatalf("File = %+v, %v", f, ok)
	}
}

func TestStorageInitiateErrors(t *testing.T) {
	e := newStEnv(t)
	u := e.srv.URL + "/rest/storage/upload/initiate"
	resp, body := e.do("POST", u+"?storage_type=gcs", strings.NewReader(`{}`), nil)
	e.want(resp, body, 401)
	resp, body = e.do("POST", u+"?storage_type=s3", strings.NewReader(`{}`), e.keyHeader())
	e.want(resp, body, 400)
	for _, b := range []string{"", "[]", "nope", `{"file_name": 5}`} {
		resp, body = e.do("POST", u+"?storage_type=gcs", strings.NewReader(b), e.keyHeader())
		e.want(resp, body, 422)
	}
	resp, body = e.do("PUT", e.srv.URL+"/cdn/signed/unknown?expires=1&signature=00", strings.NewReader("x"), nil)
	e.want(resp, body, 403)
}

func TestStorageJSMultipart(t *testing.T) {
	e := newStEnv(t)
	uploadURL, fileURL := e.initiate("initiate-multipart", "fal-cdn-v3", `{"content_type": "video/mp4", "file_name": "clip.mp4"}`, nil)
	pu, err := url.Parse(uploadURL)
	if err != nil {
		t.Fatal(err)
	}
	// The JS client builds part and completion URLs from the upload URL's
	// origin, path and query, and sends them with no headers at all.
	partURL := func(suffix string) string {
		return pu.Scheme + "://" + pu.Host + pu.Path + "/" + suffix + "?" + pu.RawQuery
	}
	var parts []map[string]any
	for n, chunk := range []string{"first-", "second-", "third"} {
		resp, body := e.do("PUT", partURL(fmt.Sprint(n+1)), strings.NewReader(chunk), nil)
		e.want(resp, body, 200)
		var p map[string]any
		e.decode(body, &p)
		if p["partNumber"] != float64(n+1) || p["etag"] == "" || p["etag"] != resp.Header.Get("ETag") {
			t.Fatalf("part %d answered %s (ETag header %q): want {partNumber, etag} matching the header", n+1, body, resp.Header.Get("ETag"))
		}
		parts = append(parts, p)
	}
	done, _ := json.Marshal(map[string]any{"parts": parts})
	resp, body := e.do("POST", partURL("complete"), bytes.NewReader(done), map[string]string{"Content-Type": "application/json"})
	e.want(resp, body, 200)
	resp, body = e.do("GET", fileURL, nil, nil)
	e.want(resp, body, 200)
	if string(body) != "first-second-third" || resp.Header.Get("Content-Type") != "video/mp4" {
		t.Fatalf("assembled %q (%s)", body, resp.Header.Get("Content-Type"))
	}
	if n := e.srv.SignedURLAuthHeaders(); n != 0 {
		t.Fatalf("SignedURLAuthHeaders = %d, want 0", n)
	}
	if f, ok := e.srv.File(fileURL); !ok || f.Via != "signed-multipart" || f.Name != "clip.mp4" {
		t.Fatalf("File = %+v, %v", f, ok)
	}

	// complete-multipart is accepted as a synonym, a tampered signature is
	// not, and parts without the query string are refused.
	uploadURL, fileURL = e.initiate("initiate-multipart", "fal-cdn-v3", `{"content_type": "text/plain", "file_name": "b.txt"}`, nil)
	pu, _ = url.Parse(uploadURL)
	resp, body = e.do("PUT", pu.Scheme+"://"+pu.Host+pu.Path+"/1", strings.NewReader("x"), nil)
	e.want(resp, body, 403)
	resp, body = e.do("PUT", partURL("1"), strings.NewReader("only"), map[string]string{"Authorization": "Key " + e.srv.Key})
	e.want(resp, body, 200)
	if n := e.srv.SignedURLAuthHeaders(); n != 1 {
		t.Fatalf("SignedURLAuthHeaders = %d after a part PUT with Authorization, want 1", n)
	}
	var p map[string]any
	e.decode(body, &p)
	done, _ = json.Marshal(map[string]any{"parts": []any{p}})
	resp, body = e.do("POST", partURL("complete-multipart"), bytes.NewReader(done), nil)
	e.want(resp, body, 200)
	if f, ok := e.srv.File(fileURL); !ok || string(f.Data) != "only" {
		t.Fatalf("File = %+v, %v", f, ok)
	}
}

func TestStorageLargeAndChunkedBodies(t *testing.T) {
	e := newStEnv(t)
	tok, base := e.cdnToken()
	// Larger than the in-memory limit for one body: it goes to a temp file.
	big := make([]byte, 33<<20)
	_, _ = rand.Read(big)
	resp, body := e.do("POST", e.srv.URL+"/cdn/files/upload", bytes.NewReader(big), map[string]string{"Authorization": "Bearer " + tok})
	e.want(resp, body, 200)
	var up struct {
		AccessURL string `json:"access_url"`
	}
	e.decode(body, &up)
	resp, body = e.do("GET", up.AccessURL, nil, nil)
	e.want(resp, body, 200)
	if !bytes.Equal(body, big) {
		t.Fatal("the 33 MiB upload came back different")
	}
	resp, body = e.do("GET", up.AccessURL, nil, map[string]string{"Range": "bytes=33554430-33554433"})
	e.want(resp, body, 206)
	if !bytes.Equal(body, big[33554430:33554434]) {
		t.Fatal("ranged read of the large file is wrong")
	}

	// A body without Content-Length (chunked), as multipart parts, one
	// in memory and one large enough to spill.
	access, uploadID := e.multipartCreate(tok, base, "mix.bin", "application/octet-stream", nil)
	etags := map[int]string{}
	for n, data := range map[int][]byte{1: big[:1<<20], 2: big} {
		pr, pw := io.Pipe()
		go func() {
			for off := 0; off < len(data); off += 1 << 16 {
				_, _ = pw.Write(data[off:min(off+1<<16, len(data))])
			}
			pw.Close()
		}()
		req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/multipart/%s/%d", access, uploadID, n), pr)
		req.Header.Set("Authorization", "Bearer "+tok)
		r, err := e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Fatalf("chunked part %d: status %d", n, r.StatusCode)
		}
		etags[n] = r.Header.Get("ETag")
	}
	resp, body = e.do("POST", access+"/multipart/"+uploadID+"/complete", strings.NewReader(stPartsJSON([]int{1, 2}, etags)),
		map[string]string{"Authorization": "Bearer " + tok})
	e.want(resp, body, 200)
	resp, body = e.do("GET", access, nil, nil)
	e.want(resp, body, 200)
	if !bytes.Equal(body[:1<<20], big[:1<<20]) || !bytes.Equal(body[1<<20:], big) {
		t.Fatal("the multipart file assembled from chunked parts came back different")
	}
}

func TestStorageAppUpload(t *testing.T) {
	app := func(ctx context.Context, req *faltest.Request) (any, error) {
		return map[string]string{"url": req.Upload("image/png", "out.png", []byte("\x89PNG-data"))}, nil
	}
	e := newStEnv(t, faltest.WithApp("test/uploader", app))
	h := e.keyHeader()
	h["Content-Type"] = "application/json"
	resp, body := e.do("POST", e.srv.URL+"/run/test/uploader", strings.NewReader("{}"), h)
	e.want(resp, body, 200)
	var out map[string]string
	e.decode(body, &out)
	if !strings.HasPrefix(out["url"], e.srv.URL+"/cdn/files/") || !strings.HasSuffix(out["url"], "/out.png") {
		t.Fatalf("app file URL %q", out["url"])
	}
	resp, body = e.do("GET", out["url"], nil, nil)
	e.want(resp, body, 200)
	if string(body) != "\x89PNG-data" || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET app file: %q (%s)", body, resp.Header.Get("Content-Type"))
	}
	if f, ok := e.srv.File(out["url"]); !ok || f.Via != "app" {
		t.Fatalf("File = %+v, %v", f, ok)
	}
}

func TestStorageNoGoroutineLeaks(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	srv := faltest.NewServer(faltest.WithoutDemoApps())
	tr := &http.Transport{}
	e := &stEnv{t: t, srv: srv, hc: &http.Client{Transport: tr}}
	tok, base := e.cdnToken()
	access, uploadID := e.multipartCreate(tok, base, "x.bin", "text/plain", nil)
	et := e.putPart(tok, access, uploadID, 1, []byte("abc"))
	resp, body := e.do("POST", access+"/multipart/"+uploadID+"/complete", strings.NewReader(stPartsJSON([]int{1}, map[int]string{1: et})),
		map[string]string{"Authorization": "Bearer " + tok})
	e.want(resp, body, 200)
	uploadURL, _ := e.initiate("initiate", "gcs", `{"file_name":"a","content_type":"text/plain"}`, nil)
	resp, body = e.do("PUT", uploadURL, strings.NewReader("abc"), nil)
	e.want(resp, body, 200)
	srv.Close()
	tr.CloseIdleConnections()
}
