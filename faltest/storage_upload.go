package faltest

import (
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxJSONBody bounds the small JSON bodies of initiate and complete calls.
const maxJSONBody = 4 << 20

// uploadSlot is a signed single-upload URL handed out by storage initiate.
type uploadSlot struct {
	id                    string
	fileID, name, ctype   string
	lifecycle, preference json.RawMessage
	expires               time.Time
}

// handleCDNUpload stores a single upload: POST /cdn/files/upload with the
// raw bytes as the body and a CDN token.
func (s *Server) handleCDNUpload(w http.ResponseWriter, r *http.Request) {
	if !s.checkCDNToken(w, r) {
		return
	}
	lc, pref, ok := lifecycleHeaders(w, r)
	if !ok {
		return
	}
	b, ok := s.readUploadBody(w, r)
	if !ok {
		return
	}
	now := time.Now()
	ct := contentTypeOrDefault(r.Header.Get("Content-Type"))
	f := &storedFile{
		id:          newFileID(),
		name:        cleanFileName(r.Header.Get("X-Fal-File-Name"), ct),
		contentType: ct,
		data:        b,
		etag:        fmt.Sprintf("\"%08x\"", b.crc),
		lifecycle:   lc,
		preference:  pref,
		via:         "cdn",
		uploaded:    now,
		expires:     expiryFrom(now, lc, pref),
	}
	s.files.add(f)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_url":   s.fileURL(f.id, f.name),
		"content_type": f.contentType,
		"file_name":    f.name,
		"file_size":    b.size,
	})
}

// readUploadBody streams the request body into a blob, answering 400 if
// the body cannot be read (for example when the client goes away).
func (s *Server) readUploadBody(w http.ResponseWriter, r *http.Request) (*blob, bool) {
	b, err := readBlob(r.Body, r.ContentLength, &s.files.mem, &s.files.tmp)
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the upload body failed: "+err.Error(), "")
		return nil, false
	}
	return b, true
}

// initiateRequest is the body of storage initiate and initiate-multipart.
type initiateRequest struct {
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
}

// parseInitiate checks the Key, storage_type, lifecycle headers and JSON
// body shared by both initiate endpoints, answering the error itself.
func (s *Server) parseInitiate(w http.ResponseWriter, r *http.Request) (req initiateRequest, lc, pref json.RawMessage, ok bool) {
	if !s.checkKey(r) {
		s.unauthorized(w)
		return req, nil, nil, false
	}
	switch st := r.URL.Query().Get("storage_type"); st {
	case "gcs", "fal-cdn-v3":
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unsupported storage_type %q: use storage_type=gcs or storage_type=fal-cdn-v3", st), "")
		return req, nil, nil, false
	}
	if lc, pref, ok = lifecycleHeaders(w, r); !ok {
		return req, nil, nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the request body failed: "+err.Error(), "")
		return req, nil, nil, false
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		writeError(w, http.StatusUnprocessableEntity, validationDetail("body", `the body must be a JSON object like {"file_name": "a.png", "content_type": "image/png"}`), "")
		return req, nil, nil, false
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"file_name", &req.FileName}, {"content_type", &req.ContentType}} {
		raw, has := fields[f.name]
		if !has || string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			writeError(w, http.StatusUnprocessableEntity, validationDetail(f.name, f.name+" must be a string"), "")
			return req, nil, nil, false
		}
	}
	req.ContentType = contentTypeOrDefault(req.ContentType)
	if req.FileName == "" {
		req.FileName = "upload.bin"
	}
	req.FileName = cleanFileName(req.FileName, req.ContentType)
	return req, lc, pref, true
}

// validationDetail is a FastAPI-style validation error list for one field.
func validationDetail(field, msg string) []map[string]any {
	loc := []string{"body"}
	if field != "body" {
		loc = append(loc, field)
	}
	return []map[string]any{{"loc": loc, "msg": msg, "type": "value_error"}}
}

// handleStorageInitiate hands out a signed upload URL: POST
// /rest/storage/upload/initiate?storage_type=gcs|fal-cdn-v3.
func (s *Server) handleStorageInitiate(w http.ResponseWriter, r *http.Request) {
	req, lc, pref, ok := s.parseInitiate(w, r)
	if !ok {
		return
	}
	slot := &uploadSlot{
		id:         randomHex(16),
		fileID:     newFileID(),
		name:       req.FileName,
		ctype:      req.ContentType,
		lifecycle:  lc,
		preference: pref,
		expires:    time.Now().Add(signedURLTTL),
	}
	st := &s.files
	st.mu.Lock()
	if st.slots == nil {
		st.slots = make(map[string]*uploadSlot)
	}
	st.slots[slot.id] = slot
	st.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{
		"upload_url": s.signedURL("signed", slot.id, slot.expires),
		"file_url":   s.fileURL(slot.fileID, slot.name),
	})
}

// signedURL returns an absolute signed URL under /cdn/<kind>/<id>.
func (s *Server) signedURL(kind, id string, expires time.Time) string {
	exp := expires.Unix()
	q := url.Values{}
	q.Set("expires", strconv.FormatInt(exp, 10))
	q.Set("signature", s.files.sign(kind, id, exp))
	return s.URL + "/cdn/" + kind + "/" + id + "?" + q.Encode()
}

// checkSignature verifies the expires and signature query parameters of a
// signed URL, counts an Authorization header if one came along, and answers
// 403 when the URL is not valid.
func (s *Server) checkSignature(w http.ResponseWriter, r *http.Request, kind, id string) bool {
	if r.Header.Get("Authorization") != "" {
		s.files.mu.Lock()
		s.files.signedAuth++
		s.files.mu.Unlock()
	}
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	sig, err2 := hex.DecodeString(q.Get("signature"))
	if err != nil || err2 != nil {
		writeError(w, http.StatusForbidden, "this upload URL is not signed: use the upload_url returned by storage initiate, query string included", "")
		return false
	}
	want, _ := hex.DecodeString(s.files.sign(kind, id, exp))
	if !hmac.Equal(sig, want) {
		writeError(w, http.StatusForbidden, "the upload URL's signature does not match: use the upload_url exactly as storage initiate returned it", "")
		return false
	}
	if time.Now().Unix() >= exp {
		writeError(w, http.StatusForbidden, "the upload URL expired at "+time.Unix(exp, 0).UTC().Format(time.RFC3339)+": call storage initiate again", "")
		return false
	}
	return true
}

// handleSignedPut receives the bytes for a signed single upload: PUT
// /cdn/signed/{slot}. A repeated PUT (a retry) replaces the content.
func (s *Server) handleSignedPut(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("slot")
	if !s.checkSignature(w, r, "signed", id) {
		return
	}
	s.files.mu.Lock()
	slot := s.files.slots[id]
	s.files.mu.Unlock()
	if slot == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown upload %q: call storage initiate for a new upload URL", id), "")
		return
	}
	b, ok := s.readUploadBody(w, r)
	if !ok {
		return
	}
	// The PUT's Content-Type labels the bytes; the initiate request's is
	// the fallback when the PUT sends none.
	ct := slot.ctype
	if v := r.Header.Get("Content-Type"); v != "" {
		ct = v
	}
	now := time.Now()
	s.files.add(&storedFile{
		id:          slot.fileID,
		name:        slot.name,
		contentType: ct,
		data:        b,
		etag:        fmt.Sprintf("\"%08x\"", b.crc),
		lifecycle:   slot.lifecycle,
		preference:  slot.preference,
		via:         "signed",
		uploaded:    now,
		expires:     expiryFrom(now, slot.lifecycle, slot.preference),
	})
	w.WriteHeader(http.StatusOK)
}

// errBadPartNumber is returned for part numbers outside 1..maxPartNumber.
var errBadPartNumber = errors.New("bad part number")

// parsePartNumber parses a part number from a URL.
func parsePartNumber(v string) (int, error) {
	if len(v) > 6 || strings.TrimLeft(v, "0123456789") != "" || v == "" {
		return 0, errBadPartNumber
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPartNumber {
		return 0, errBadPartNumber
	}
	return n, nil
}
