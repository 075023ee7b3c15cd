package faltest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

// The storage side of the server (fal's REST storage endpoints and its v3
// CDN), all under the server's own address:
//
//	POST /rest/storage/auth/token?storage_type=fal-cdn-v3      CDN token (Key auth)
//	POST /cdn/files/upload                                     single upload (CDN token)
//	POST /cdn/files/upload/multipart                           Python multipart create (CDN token)
//	PUT  /cdn/files/{id}/{name}/multipart/{upload}/{part}      Python multipart part (CDN token)
//	POST /cdn/files/{id}/{name}/multipart/{upload}/complete    Python multipart complete (CDN token)
//	POST /rest/storage/upload/initiate?storage_type=gcs|fal-cdn-v3     signed single upload (Key auth)
//	POST /rest/storage/upload/initiate-multipart?storage_type=...      JS multipart (Key auth)
//	PUT  /cdn/signed/{slot}?expires=..&signature=..            signed single PUT (no auth)
//	PUT  /cdn/signed-multipart/{slot}/{part}?expires=..&signature=..   JS part (no auth)
//	POST /cdn/signed-multipart/{slot}/complete?expires=..&signature=.. JS complete (no auth)
//	GET  /cdn/files/{id}/{name}                                a stored file (no auth; Range)
//
// Every stored file is served at <URL>/cdn/files/<id>/<name>, whichever way
// it arrived.

// Storage defaults.
const (
	defaultCDNTokenTTL = time.Hour
	signedURLTTL       = time.Hour
	maxPartNumber      = 10000 // S3's limit, which fal's CDN multipart follows
)

// StoredFile is a file held by the server, as returned by Server.File.
type StoredFile struct {
	// URL is where the server serves the file.
	URL string
	// Name is the file name (from X-Fal-File-Name, the initiate request's
	// file_name, or one derived from the content type).
	Name string
	// ContentType is the type the file is served with.
	ContentType string
	// Size is the length in bytes.
	Size int64
	// Data is the content. File reads it all into memory, so mind Size for
	// very large uploads.
	Data []byte
	// Lifecycle is the X-Fal-Object-Lifecycle header of the upload (the CDN
	// upload, multipart create or storage initiate request), verbatim, or
	// nil if there was none.
	Lifecycle json.RawMessage
	// LifecyclePreference is the X-Fal-Object-Lifecycle-Preference header
	// of the upload, verbatim, or nil.
	LifecyclePreference json.RawMessage
	// Via says how the file arrived: "cdn" (single CDN upload),
	// "cdn-multipart" (Python-style multipart), "signed" (storage initiate +
	// signed PUT), "signed-multipart" (JS-style multipart) or "app" (made by
	// an app through Request.Upload).
	Via string
	// Uploaded is when the upload completed.
	Uploaded time.Time
	// Expires is when the file stops being served (from the lifecycle's
	// expiration_duration_seconds), or the zero time for never.
	Expires time.Time
}

// storedFile is the store's record of one file.
type storedFile struct {
	id, name, contentType string
	data                  *blob
	etag                  string
	lifecycle, preference json.RawMessage
	via                   string
	uploaded, expires     time.Time
}

// fileStore holds the storage state: files, CDN tokens, multipart sessions
// and signed upload slots. Its zero value is ready to use.
type fileStore struct {
	mu       sync.Mutex
	secret   []byte // signs upload URLs; made on first use
	files    map[string]*storedFile
	tokens   map[string]time.Time // CDN token -> expiry
	tokenTTL time.Duration        // lifetime of new tokens, once ttlSet
	ttlSet   bool                 // false: defaultCDNTokenTTL
	sessions map[string]*multipartSession
	slots    map[string]*uploadSlot

	signedAuth int // signed-URL requests that carried Authorization

	mem memAccount
	tmp tempFiles
}

// mountStorage registers the storage and CDN routes on mux.
func (s *Server) mountStorage(mux *http.ServeMux) {
	mux.Handle("POST /rest/storage/auth/token", s.route("cdn_token", s.handleCDNToken))
	mux.Handle("POST /cdn/files/upload", s.route("upload", s.handleCDNUpload))
	mux.Handle("POST /cdn/files/upload/multipart", s.route("multipart_initiate", s.handleCDNMultipartCreate))
	mux.Handle("PUT /cdn/files/{id}/{name}/multipart/{upload}/{part}", s.route("multipart_part", s.handleCDNMultipartPart))
	mux.Handle("POST /cdn/files/{id}/{name}/multipart/{upload}/{action}", s.route("multipart_complete", s.handleCDNMultipartComplete))
	mux.Handle("POST /rest/storage/upload/initiate", s.route("storage_initiate", s.handleStorageInitiate))
	mux.Handle("POST /rest/storage/upload/initiate-multipart", s.route("multipart_initiate", s.handleStorageInitiateMultipart))
	mux.Handle("PUT /cdn/signed/{slot}", s.route("signed_put", s.handleSignedPut))
	mux.Handle("PUT /cdn/signed-multipart/{slot}/{part}", s.route("multipart_part", s.handleSignedPart))
	mux.Handle("POST /cdn/signed-multipart/{slot}/{action}", s.route("multipart_complete", s.handleSignedComplete))
	mux.Handle("GET /cdn/files/{id}/{name}", s.route("download", s.handleDownload))
}

// SetCDNTokenTTL sets the lifetime of CDN tokens issued from now on
// (default one hour). A duration <= 0 issues tokens that have already
// expired, which is how a test checks that a client refreshes them.
func (s *Server) SetCDNTokenTTL(d time.Duration) {
	s.files.mu.Lock()
	s.files.tokenTTL, s.files.ttlSet = d, true
	s.files.mu.Unlock()
}

// ExpireCDNTokens makes every CDN token issued so far invalid: uploads
// that present one get 401 until the client fetches a new token.
func (s *Server) ExpireCDNTokens() {
	now := time.Now()
	s.files.mu.Lock()
	for tok, exp := range s.files.tokens {
		if exp.After(now) {
			s.files.tokens[tok] = now
		}
	}
	s.files.mu.Unlock()
}

// SignedURLAuthHeaders reports how many requests to signed upload URLs (the
// signed PUT and the JS-style multipart part and complete requests) carried
// an Authorization header. Signed URLs need no credentials, so a client
// that keeps its key to itself leaves this at 0; the Python client sends
// its key there.
func (s *Server) SignedURLAuthHeaders() int {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	return s.files.signedAuth
}

// File returns the file served at fileURL (any URL the server returned for
// a stored file; only its path is looked at). It reports false if there is
// no such file, or if it has not been completely uploaded yet.
func (s *Server) File(fileURL string) (StoredFile, bool) {
	u, err := url.Parse(fileURL)
	if err != nil {
		return StoredFile{}, false
	}
	rest, ok := strings.CutPrefix(u.EscapedPath(), "/cdn/files/")
	if !ok {
		return StoredFile{}, false
	}
	id, _, _ := strings.Cut(rest, "/")
	s.files.mu.Lock()
	f := s.files.files[id]
	s.files.mu.Unlock()
	if f == nil {
		return StoredFile{}, false
	}
	data, err := f.data.bytes()
	if err != nil {
		return StoredFile{}, false
	}
	return StoredFile{
		URL:                 s.fileURL(f.id, f.name),
		Name:                f.name,
		ContentType:         f.contentType,
		Size:                f.data.size,
		Data:                data,
		Lifecycle:           f.lifecycle,
		LifecyclePreference: f.preference,
		Via:                 f.via,
		Uploaded:            f.uploaded,
		Expires:             f.expires,
	}, true
}

// putFile stores data (copied) as a new file and returns its absolute URL.
// Apps use it, through Request.Upload, to return files the way fal apps do.
func (s *Server) putFile(contentType, name string, data []byte) string {
	f := &storedFile{
		id:          newFileID(),
		name:        cleanFileName(name, contentType),
		contentType: contentTypeOrDefault(contentType),
		data:        memBlob(append([]byte(nil), data...)),
		via:         "app",
		uploaded:    time.Now(),
	}
	f.etag = fmt.Sprintf("\"%08x\"", f.data.crc)
	s.files.add(f)
	return s.fileURL(f.id, f.name)
}

// closeStorage forgets every stored file and closes (and, where the OS
// kept them, removes) the temp files holding large uploads. It is for
// Close; requests still in flight afterwards see an empty store.
func (s *Server) closeStorage() {
	st := &s.files
	st.mu.Lock()
	st.files, st.sessions, st.slots, st.tokens = nil, nil, nil, nil
	st.mu.Unlock()
	st.tmp.closeAll()
}

// fileURL is the public URL of a stored file.
func (s *Server) fileURL(id, name string) string {
	return s.URL + "/cdn/files/" + id + "/" + url.PathEscape(name)
}

// add records a completed file.
func (st *fileStore) add(f *storedFile) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.files == nil {
		st.files = make(map[string]*storedFile)
	}
	if old := st.files[f.id]; old != nil && old.data != f.data {
		st.mem.release(old.data.claim)
	}
	st.files[f.id] = f
}

// key returns the store's signing secret, making it on first use. Callers
// hold st.mu.
func (st *fileStore) key() []byte {
	if st.secret == nil {
		st.secret = make([]byte, 32)
		_, _ = rand.Read(st.secret)
	}
	return st.secret
}

// sign returns the signature of a signed URL for the given slot and expiry.
func (st *fileStore) sign(kind, slot string, expires int64) string {
	st.mu.Lock()
	k := st.key()
	st.mu.Unlock()
	m := hmac.New(sha256.New, k)
	fmt.Fprintf(m, "%s\n%s\n%d", kind, slot, expires)
	return hex.EncodeToString(m.Sum(nil))
}

// handleDownload serves a stored file, with Range and conditional request
// support from http.ServeContent.
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.files.mu.Lock()
	f := s.files.files[id]
	s.files.mu.Unlock()
	if f == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("file %q not found: it was never uploaded to this server, or its upload was not completed", id), "")
		return
	}
	if !f.expires.IsZero() && !time.Now().Before(f.expires) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("file %q has expired: its lifecycle expiration_duration_seconds has passed", id), "")
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "public, max-age=3600")
	if cd := mime.FormatMediaType("inline", map[string]string{"filename": f.name}); cd != "" {
		h.Set("Content-Disposition", cd)
	}
	http.ServeContent(w, r, f.name, f.uploaded, io.NewSectionReader(f.data, 0, f.data.size))
}

// handleCDNToken issues a CDN token: POST /rest/storage/auth/token.
func (s *Server) handleCDNToken(w http.ResponseWriter, r *http.Request) {
	if !s.checkKey(r) {
		s.unauthorized(w)
		return
	}
	if st := r.URL.Query().Get("storage_type"); st != "fal-cdn-v3" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unsupported storage_type %q: faltest issues CDN tokens for storage_type=fal-cdn-v3 only", st), "")
		return
	}
	tok := "faltest-cdn-" + randomHex(24)
	st := &s.files
	st.mu.Lock()
	ttl := defaultCDNTokenTTL
	if st.ttlSet {
		ttl = st.tokenTTL
	}
	exp := time.Now().Add(ttl).UTC()
	if st.tokens == nil {
		st.tokens = make(map[string]time.Time)
	}
	st.tokens[tok] = exp
	st.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{
		"token":      tok,
		"token_type": "Bearer",
		"base_url":   s.URL + "/cdn",
		// A fixed six-digit fraction and a +00:00 offset: Python before 3.11
		// parses nothing else with datetime.fromisoformat.
		"expires_at": exp.Format("2006-01-02T15:04:05.000000-07:00"),
	})
}

// checkCDNToken reports whether r carries a valid CDN token, answering 401
// when it does not.
func (s *Server) checkCDNToken(w http.ResponseWriter, r *http.Request) bool {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		writeError(w, http.StatusUnauthorized,
			"CDN requests need \"Authorization: Bearer <token>\" with a token from POST /rest/storage/auth/token?storage_type=fal-cdn-v3", "")
		return false
	}
	s.files.mu.Lock()
	exp, ok := s.files.tokens[tok]
	s.files.mu.Unlock()
	switch {
	case !ok:
		writeError(w, http.StatusUnauthorized, "unknown CDN token: fetch one from POST /rest/storage/auth/token?storage_type=fal-cdn-v3", "")
		return false
	case !time.Now().Before(exp):
		writeError(w, http.StatusUnauthorized, "CDN token expired at "+exp.Format(time.RFC3339)+": fetch a new one from POST /rest/storage/auth/token", "")
		return false
	}
	return true
}

// lifecycleHeaders reads and validates the two lifecycle headers. On error
// it answers 400 and reports false.
func lifecycleHeaders(w http.ResponseWriter, r *http.Request) (lc, pref json.RawMessage, ok bool) {
	for _, h := range []struct {
		name string
		dst  *json.RawMessage
	}{{"X-Fal-Object-Lifecycle", &lc}, {"X-Fal-Object-Lifecycle-Preference", &pref}} {
		v := r.Header.Get(h.name)
		if v == "" {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(v), &obj); err != nil || obj == nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("header %s must be a JSON object such as {\"expiration_duration_seconds\": 3600}; got %q", h.name, v), "")
			return nil, nil, false
		}
		if raw, has := obj["expiration_duration_seconds"]; has {
			var secs float64
			if err := json.Unmarshal(raw, &secs); err != nil || secs <= 0 {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("header %s: expiration_duration_seconds must be a positive number of seconds; got %s", h.name, raw), "")
				return nil, nil, false
			}
		}
		*h.dst = json.RawMessage(v)
	}
	return lc, pref, true
}

// expiryFrom returns when a file uploaded at t with these lifecycle headers
// expires, or the zero time. X-Fal-Object-Lifecycle wins over the
// preference header, as the CDN reads the former.
func expiryFrom(t time.Time, lc, pref json.RawMessage) time.Time {
	for _, raw := range []json.RawMessage{lc, pref} {
		if raw == nil {
			continue
		}
		var v struct {
			Secs *float64 `json:"expiration_duration_seconds"`
		}
		if json.Unmarshal(raw, &v) == nil && v.Secs != nil && *v.Secs > 0 {
			return t.Add(time.Duration(*v.Secs * float64(time.Second)))
		}
	}
	return time.Time{}
}

// newFileID returns a random file id for URLs.
func newFileID() string { return randomHex(12) }

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// contentTypeOrDefault is ct, or application/octet-stream when empty.
func contentTypeOrDefault(ct string) string {
	if strings.TrimSpace(ct) == "" {
		return "application/octet-stream"
	}
	return ct
}

// cleanFileName makes a file name safe for one URL path segment; an empty
// name becomes "upload" plus an extension for the content type.
func cleanFileName(name, contentType string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(strings.TrimSpace(name))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, name)
	if name == "" || name == "." || name == ".." || name == "/" {
		return "upload" + extensionFor(contentType)
	}
	if len(name) > 255 {
		name = strings.ToValidUTF8(name[len(name)-255:], "")
	}
	return name
}

// extensionFor returns a file extension for common fal content types.
func extensionFor(contentType string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "image/webp":
		return ".webp"
	case "image/gif":
		return ".gif"
	case "video/mp4":
		return ".mp4"
	case "audio/wav", "audio/x-wav":
		return ".wav"
	case "audio/mpeg":
		return ".mp3"
	case "text/plain":
		return ".txt"
	case "application/json":
		return ".json"
	}
	return ".bin"
}
