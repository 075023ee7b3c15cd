package fal

import (
	"cmp"
	"encoding/json"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/falgo/fal/internal/falerr"
)

// Upload defaults.
const (
	// defaultMultipartThreshold is the size above which uploads of known
	// size go to the CDN in parts (the Python client's 100 MiB).
	defaultMultipartThreshold = 100 << 20
	// defaultPartSize is the size of one part of a multipart upload.
	defaultPartSize = 10 << 20
	// defaultUploadConcurrency is how many parts are sent at once.
	defaultUploadConcurrency = 4
)

// uploadSettings are the upload settings of a call.
type uploadSettings struct {
	contentType string
	fileName    string
	expiresIn   time.Duration // 0: never (no lifecycle header)
	acl         *storageACL
	threshold   int64
	partSize    int64
	parallel    int
	noAuto      bool // do not upload file inputs automatically
}

// callsStoring are the calls whose storage settings apply: uploads, and
// the calls whose file inputs are uploaded and whose app stores outputs.
const callsStoring = callUpload | callsWithInput

// WithContentType sets the content type of an upload (default: from the
// file name's extension, then sniffed from the first bytes): Upload,
// UploadFile and UploadImage. For a file input, use InputFile.WithType.
func WithContentType(ct string) RequestOption {
	return requestOption{"WithContentType", callUpload, func(s *settings) error {
		if _, _, err := mime.ParseMediaType(ct); err != nil || !strings.Contains(ct, "/") {
			return falerr.New("WithContentType: %q is not a media type like image/png", ct)
		}
		s.setUpload(func(u *uploadSettings) { u.contentType = ct })
		return nil
	}}
}

// WithFileName sets the file name an upload is stored under: Upload,
// UploadFile and UploadImage. A file input is named by FileBytes or
// FileReader, or by its path.
func WithFileName(name string) RequestOption {
	return requestOption{"WithFileName", callUpload, func(s *settings) error {
		if name == "" || strings.ContainsAny(name, "/\\\r\n\x00") {
			return falerr.New("WithFileName: %q is not a plain file name", name)
		}
		s.setUpload(func(u *uploadSettings) { u.fileName = name })
		return nil
	}}
}

// WithExpiration asks fal storage to delete uploaded files (and, on Run,
// Submit, Subscribe and Stream, the input files uploaded for the call and
// the files the app generates) after d. d is rounded up to whole seconds
// and must be at least one second (fal keeps objects at least a minute);
// without this option objects follow the account's default (normally
// never expire).
func WithExpiration(d time.Duration) RequestOption {
	return requestOption{"WithExpiration", callsStoring, func(s *settings) error {
		if d < time.Second {
			return falerr.New("WithExpiration: %v is too short; use at least one second", d)
		}
		s.setUpload(func(u *uploadSettings) { u.expiresIn = d })
		return nil
	}}
}

// storageACL is the initial access control of an uploaded object, as fal
// storage takes it.
type storageACL struct {
	Default string    `json:"default,omitempty"`
	Rules   []aclRule `json:"rules,omitempty"`
}

type aclRule struct {
	User     string `json:"user"`
	Decision string `json:"decision"`
}

// WithStorageACL sets the initial access control of stored objects (the
// same calls as WithExpiration): defaultDecision for everyone ("" leaves
// fal's default), and rules that map user names to a decision of their
// own. Decisions are "hide", "forbid" or "allow".
func WithStorageACL(defaultDecision string, rules map[string]string) RequestOption {
	return requestOption{"WithStorageACL", callsStoring, func(s *settings) error {
		acl := &storageACL{Default: defaultDecision}
		if err := checkDecision("the default", defaultDecision, true); err != nil {
			return err
		}
		for user, d := range rules {
			if user == "" {
				return falerr.New("WithStorageACL: a rule has no user")
			}
			if err := checkDecision("the rule of "+user, d, false); err != nil {
				return err
			}
			acl.Rules = append(acl.Rules, aclRule{User: user, Decision: d})
		}
		sort.Slice(acl.Rules, func(i, j int) bool { return acl.Rules[i].User < acl.Rules[j].User })
		s.setUpload(func(u *uploadSettings) { u.acl = acl })
		return nil
	}}
}

func checkDecision(what, d string, emptyOK bool) error {
	switch d {
	case "hide", "forbid", "allow":
		return nil
	case "":
		if emptyOK {
			return nil
		}
	}
	return falerr.New("WithStorageACL: %s is %q; use hide, forbid or allow", what, d)
}

// WithMultipartUpload tunes multipart uploads: sizes above threshold
// (default 100 MiB) go in parts of partSize bytes (default 10 MiB, at
// least 5 MiB), parallel of them at once (default 4). Memory use of an
// upload from a plain io.Reader stays near parallel × partSize whatever
// the file size. Zero values keep the defaults. It applies to uploads and
// to the file inputs of Run, Submit, Subscribe and Stream.
func WithMultipartUpload(threshold, partSize int64, parallel int) RequestOption {
	return requestOption{"WithMultipartUpload", callsStoring, func(s *settings) error {
		if threshold < 0 || parallel < 0 || (partSize != 0 && partSize < 5<<20) {
			return falerr.New("WithMultipartUpload: threshold and parallel must not be negative, and parts must be at least 5 MiB (got %d)", partSize)
		}
		s.setUpload(func(u *uploadSettings) {
			if threshold > 0 {
				u.threshold = threshold
			}
			if partSize > 0 {
				u.partSize = partSize
			}
			if parallel > 0 {
				u.parallel = parallel
			}
		})
		return nil
	}}
}

// WithoutAutoUpload turns off the automatic upload of file inputs
// (LocalFile, FileBytes, FileReader) in Run, Submit, Subscribe and Stream:
// encoding such an input then fails.
func WithoutAutoUpload() RequestOption {
	return requestOption{"WithoutAutoUpload", callsWithInput, func(s *settings) error {
		s.setUpload(func(u *uploadSettings) { u.noAuto = true })
		return nil
	}}
}

// lifecycle returns the JSON of the lifecycle headers, or "" for none (a
// nil u is the defaults: none).
func (u *uploadSettings) lifecycle() string {
	if u == nil {
		return ""
	}
	type payload struct {
		Expiration int64       `json:"expiration_duration_seconds,omitempty"`
		ACL        *storageACL `json:"initial_acl,omitempty"`
	}
	var p payload
	if u.expiresIn > 0 {
		p.Expiration = int64((u.expiresIn + time.Second - 1) / time.Second)
	}
	if u.acl != nil && (u.acl.Default != "" || len(u.acl.Rules) > 0) {
		p.ACL = u.acl
	}
	if p.Expiration == 0 && p.ACL == nil {
		return ""
	}
	b, _ := json.Marshal(p)
	return string(b)
}

func (u *uploadSettings) partBytes() int64 { return cmp.Or(u.partSize, defaultPartSize) }

func (u *uploadSettings) thresholdBytes() int64 {
	return cmp.Or(u.threshold, defaultMultipartThreshold)
}

func (u *uploadSettings) concurrency() int { return cmp.Or(u.parallel, defaultUploadConcurrency) }

// uploadHeaders are the headers of a CDN upload or multipart create.
func uploadHeaders(u *uploadSettings) http.Header {
	h := storageHeaders(u)
	if u.fileName != "" {
		h.Set("X-Fal-File-Name", u.fileName)
	}
	return h
}

// storageHeaders carry the lifecycle of an upload, under both the CDN's
// name and the REST storage's, as the Python client sends them.
func storageHeaders(u *uploadSettings) http.Header {
	h := http.Header{}
	if lc := u.lifecycle(); lc != "" {
		h.Set("X-Fal-Object-Lifecycle", lc)
		h.Set("X-Fal-Object-Lifecycle-Preference", lc)
	}
	return h
}
