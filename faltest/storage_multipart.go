package faltest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// multipartSession is one multipart upload, Python style (CDN token, parts
// under the file's access URL) or JS style (signed URL from REST
// initiate-multipart). Parts may arrive in any order and be re-sent; the
// complete call names the parts that make the file.
type multipartSession struct {
	id      string
	file    storedFile // the file to be; data is set on completion
	signed  bool       // JS style: authorised by the URL signature
	expires time.Time  // JS style: when the signed URL stops working
	parts   map[int]*partUpload
	done    []completedPart // the part list of a successful complete
}

// partUpload is one received part.
type partUpload struct {
	data *blob
	etag string
}

// completedPart is one entry of a complete request's parts list.
type completedPart struct {
	PartNumber int    `json:"partNumber"`
	ETag       string `json:"etag"`
}

// newSession registers a multipart session for a file to be.
func (s *Server) newSession(f storedFile, signed bool) *multipartSession {
	sess := &multipartSession{
		id:     randomHex(16),
		file:   f,
		signed: signed,
		parts:  make(map[int]*partUpload),
	}
	if signed {
		sess.expires = time.Now().Add(signedURLTTL)
	}
	st := &s.files
	st.mu.Lock()
	if st.sessions == nil {
		st.sessions = make(map[string]*multipartSession)
	}
	st.sessions[sess.id] = sess
	st.mu.Unlock()
	return sess
}

// session finds a session by id.
func (s *Server) session(id string) *multipartSession {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	return s.files.sessions[id]
}

// handleCDNMultipartCreate starts a Python-style multipart upload: POST
// {base_url}/files/upload/multipart with a CDN token, the file's
// Content-Type and X-Fal-File-Name, and no body.
func (s *Server) handleCDNMultipartCreate(w http.ResponseWriter, r *http.Request) {
	if !s.checkCDNToken(w, r) {
		return
	}
	lc, pref, ok := lifecycleHeaders(w, r)
	if !ok {
		return
	}
	ct := contentTypeOrDefault(r.Header.Get("Content-Type"))
	sess := s.newSession(storedFile{
		id:          newFileID(),
		name:        cleanFileName(r.Header.Get("X-Fal-File-Name"), ct),
		contentType: ct,
		lifecycle:   lc,
		preference:  pref,
		via:         "cdn-multipart",
	}, false)
	writeJSON(w, http.StatusOK, map[string]string{
		"access_url": s.fileURL(sess.file.id, sess.file.name),
		"uploadId":   sess.id,
	})
}

// cdnSession finds the Python-style session named by the request path,
// answering 404 when there is none.
func (s *Server) cdnSession(w http.ResponseWriter, r *http.Request) *multipartSession {
	id, fileID := r.PathValue("upload"), r.PathValue("id")
	sess := s.session(id)
	if sess == nil || sess.signed || sess.file.id != fileID {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown multipart upload %q for file %q: start one with POST {base_url}/files/upload/multipart", id, fileID), "")
		return nil
	}
	return sess
}

// handleCDNMultipartPart receives one Python-style part: PUT
// {access_url}/multipart/{uploadId}/{partNumber}.
func (s *Server) handleCDNMultipartPart(w http.ResponseWriter, r *http.Request) {
	if !s.checkCDNToken(w, r) {
		return
	}
	if sess := s.cdnSession(w, r); sess != nil {
		s.receivePart(w, r, sess, r.PathValue("part"))
	}
}

// handleCDNMultipartComplete finishes a Python-style upload: POST
// {access_url}/multipart/{uploadId}/complete.
func (s *Server) handleCDNMultipartComplete(w http.ResponseWriter, r *http.Request) {
	if !s.checkCDNToken(w, r) {
		return
	}
	if r.PathValue("action") != "complete" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown multipart action %q: finish an upload with POST .../multipart/{uploadId}/complete", r.PathValue("action")), "")
		return
	}
	if sess := s.cdnSession(w, r); sess != nil {
		s.completeSession(w, r, sess, "access_url")
	}
}

// handleStorageInitiateMultipart starts a JS-style multipart upload: POST
// /rest/storage/upload/initiate-multipart. The upload_url it returns is
// signed; parts go to {upload_url path}/{n} and completion to
// {upload_url path}/complete, keeping the query string.
func (s *Server) handleStorageInitiateMultipart(w http.ResponseWriter, r *http.Request) {
	req, lc, pref, ok := s.parseInitiate(w, r)
	if !ok {
		return
	}
	sess := s.newSession(storedFile{
		id:          newFileID(),
		name:        req.FileName,
		contentType: req.ContentType,
		lifecycle:   lc,
		preference:  pref,
		via:         "signed-multipart",
	}, true)
	writeJSON(w, http.StatusOK, map[string]string{
		"upload_url": s.signedURL("signed-multipart", sess.id, sess.expires),
		"file_url":   s.fileURL(sess.file.id, sess.file.name),
	})
}

// signedSession checks a JS-style request's signature and finds its
// session, answering the error itself.
func (s *Server) signedSession(w http.ResponseWriter, r *http.Request) *multipartSession {
	id := r.PathValue("slot")
	if !s.checkSignature(w, r, "signed-multipart", id) {
		return nil
	}
	sess := s.session(id)
	if sess == nil || !sess.signed {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown multipart upload %q: call initiate-multipart for a new upload URL", id), "")
		return nil
	}
	return sess
}

// handleSignedPart receives one JS-style part: PUT {upload_url path}/{n}.
// The JS client reads {partNumber, etag} from the JSON body.
func (s *Server) handleSignedPart(w http.ResponseWriter, r *http.Request) {
	if sess := s.signedSession(w, r); sess != nil {
		s.receivePart(w, r, sess, r.PathValue("part"))
	}
}

// handleSignedComplete finishes a JS-style upload: POST {upload_url
// path}/complete (complete-multipart is accepted too).
func (s *Server) handleSignedComplete(w http.ResponseWriter, r *http.Request) {
	if a := r.PathValue("action"); a != "complete" && a != "complete-multipart" {
		if r.Header.Get("Authorization") != "" {
			s.files.mu.Lock()
			s.files.signedAuth++
			s.files.mu.Unlock()
		}
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown multipart action %q: finish an upload with POST {upload_url path}/complete", a), "")
		return
	}
	if sess := s.signedSession(w, r); sess != nil {
		s.completeSession(w, r, sess, "file_url")
	}
}

// receivePart stores one part. Its ETag comes back both as a header (what
// the Python client reads) and in a JSON body {partNumber, etag} (what the
// JS client reads). Re-sending a part replaces it.
func (s *Server) receivePart(w http.ResponseWriter, r *http.Request, sess *multipartSession, partStr string) {
	n, err := parsePartNumber(partStr)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid part number %q: part numbers are integers from 1 to %d", partStr, maxPartNumber), "")
		return
	}
	if s.sessionDone(sess) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("multipart upload %q is already complete: start a new upload to change the file", sess.id), "")
		return
	}
	b, ok := s.readUploadBody(w, r)
	if !ok {
		return
	}
	etag := fmt.Sprintf("\"%08x%x\"", b.crc, b.size)
	st := &s.files
	st.mu.Lock()
	if sess.done != nil {
		st.mu.Unlock()
		st.mem.release(b.claim)
		writeError(w, http.StatusBadRequest, fmt.Sprintf("multipart upload %q completed while part %d was arriving: start a new upload to change the file", sess.id, n), "")
		return
	}
	if old := sess.parts[n]; old != nil {
		st.mem.release(old.data.claim)
	}
	sess.parts[n] = &partUpload{data: b, etag: etag}
	st.mu.Unlock()
	w.Header().Set("ETag", etag)
	writeJSON(w, http.StatusOK, completedPart{PartNumber: n, ETag: etag})
}

// sessionDone reports whether sess has been completed.
func (s *Server) sessionDone(sess *multipartSession) bool {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	return sess.done != nil
}

// completeSession assembles the file from the listed parts, sorted by part
// number (clients list them in completion order). The parts must be
// exactly 1..N, each uploaded, each with its current ETag. Completing
// again with the same list succeeds again, so a retried complete is safe.
func (s *Server) completeSession(w http.ResponseWriter, r *http.Request, sess *multipartSession, urlField string) {
	parts, msg := parseCompleteBody(w, r)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg, "")
		return
	}
	slices.SortStableFunc(parts, func(a, b completedPart) int { return a.PartNumber - b.PartNumber })
	for i, p := range parts {
		if i > 0 && parts[i-1].PartNumber == p.PartNumber {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("part %d is listed more than once in parts: list each part once", p.PartNumber), "")
			return
		}
		if p.PartNumber != i+1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("part %d is missing from parts (got part %d next): parts must be numbered 1..N without gaps", i+1, p.PartNumber), "")
			return
		}
	}
	fileURL := s.fileURL(sess.file.id, sess.file.name)
	st := &s.files
	st.mu.Lock()
	if sess.done != nil {
		same := slices.EqualFunc(sess.done, parts, func(a, b completedPart) bool {
			return a.PartNumber == b.PartNumber && sameETag(a.ETag, b.ETag)
		})
		st.mu.Unlock()
		if !same {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("multipart upload %q was already completed with a different part list", sess.id), "")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{urlField: fileURL})
		return
	}
	blobs := make([]*blob, len(parts))
	for i, p := range parts {
		got := sess.parts[p.PartNumber]
		if got == nil {
			st.mu.Unlock()
			writeError(w, http.StatusBadRequest, fmt.Sprintf("part %d was never uploaded: PUT it before completing", p.PartNumber), "")
			return
		}
		if !sameETag(got.etag, p.ETag) {
			st.mu.Unlock()
			writeError(w, http.StatusBadRequest, fmt.Sprintf("part %d: etag %q does not match the uploaded part's ETag %s", p.PartNumber, p.ETag, got.etag), "")
			return
		}
		blobs[i] = got.data
	}
	// Parts that were uploaded but not listed are dropped, as S3 does.
	for n, p := range sess.parts {
		if n > len(parts) {
			st.mem.release(p.data.claim)
		}
	}
	sess.parts = nil
	sess.done = parts
	f := sess.file
	now := time.Now()
	f.data = concatBlobs(blobs)
	f.etag = fmt.Sprintf("\"%s-%d\"", randomHex(8), len(parts))
	f.uploaded = now
	f.expires = expiryFrom(now, f.lifecycle, f.preference)
	st.mu.Unlock()
	st.add(&f)
	writeJSON(w, http.StatusOK, map[string]string{urlField: fileURL})
}

// parseCompleteBody reads {"parts":[{"partNumber":n,"etag":"..."}...]},
// returning a message for the client when it is malformed.
func parseCompleteBody(w http.ResponseWriter, r *http.Request) ([]completedPart, string) {
	const shape = `the body must be JSON like {"parts":[{"partNumber":1,"etag":"\"...\""}]}`
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		return nil, "reading the complete request failed: " + err.Error()
	}
	var raw struct {
		Parts []struct {
			PartNumber json.Number `json:"partNumber"`
			ETag       *string     `json:"etag"`
		} `json:"parts"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, shape + ": " + err.Error()
	}
	if len(raw.Parts) == 0 {
		return nil, "parts is empty or missing: " + shape
	}
	if len(raw.Parts) > maxPartNumber {
		return nil, fmt.Sprintf("parts lists %d parts; at most %d are allowed", len(raw.Parts), maxPartNumber)
	}
	out := make([]completedPart, len(raw.Parts))
	for i, p := range raw.Parts {
		n, err := strconv.Atoi(p.PartNumber.String())
		if err != nil || n < 1 || n > maxPartNumber {
			return nil, fmt.Sprintf("parts[%d].partNumber is %q: part numbers are integers from 1 to %d", i, p.PartNumber.String(), maxPartNumber)
		}
		if p.ETag == nil {
			return nil, fmt.Sprintf("parts[%d] (part %d) has no etag: send the ETag the part upload returned", i, n)
		}
		out[i] = completedPart{PartNumber: n, ETag: *p.ETag}
	}
	return out, ""
}

// sameETag compares ETags ignoring quotes and a weak W/ prefix, since
// clients differ in whether they keep the quotes.
func sameETag(a, b string) bool {
	norm := func(s string) string {
		s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
		return strings.Trim(s, `"`)
	}
	return norm(a) == norm(b)
}
