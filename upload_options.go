package fal

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"
)

// Upload defaults.
const (
	// DefaultMultipartThreshold is the size above which uploads of known
	// size go to the CDN in parts (the Python client's 100 MiB).
	DefaultMultipartThreshold = 100 << 20
	// DefaultPartSize is the size of one part of a multipart upload.
	DefaultPartSize = 10 << 20
	// DefaultUploadConcurrency is how many parts are sent at once.
	DefaultUploadConcurrency = 4
	// ExpireImmediately is the shortest lifetime fal storage honours
	// (Python's "immediate"): one minute.
	ExpireImmediately = time.Minute
)

// uploadConfig holds the upload settings of a call.
type uploadConfig struct {
	contentType string
	fileName    string
	expiresIn   time.Duration // 0: never (no lifecycle header)
	acl         *StorageACL
	threshold   int64
	partSize    int64
	parallel    int
	noAuto      bool // do not upload file inputs automatically
}

// StorageACL is the initial access control of an uploaded object.
type StorageACL struct {
	Default string           `json:"default,omitempty"` // "hide", "forbid" or "allow"
	Rules   []StorageACLRule `json:"rules,omitempty"`
}

// StorageACLRule grants or denies one user.
type StorageACLRule struct {
	User     string `json:"user"`
	Decision string `json:"decision"` // "hide", "forbid" or "allow"
}

// WithContentType sets the content type of an upload (default: from the
// file name's extension, then sniffed from the first bytes).
func WithContentType(ct string) RequestOption {
	return func(c *config) error {
		if _, _, err := mime.ParseMediaType(ct); err != nil || !strings.Contains(ct, "/") {
			return fmt.Errorf("fal: WithContentType: %q is not a media type like image/png", ct)
		}
		c.upload.contentType = ct
		return nil
	}
}

// WithFileName sets the file name an upload is stored under.
func WithFileName(name string) RequestOption {
	return func(c *config) error {
		if name == "" || strings.ContainsAny(name, "/\\\r\n\x00") {
			return fmt.Errorf("fal: WithFileName: %q is not a plain file name", name)
		}
		c.upload.fileName = name
		return nil
	}
}

// WithExpiration asks fal storage to delete uploaded files (and, on Run,
// Submit and Subscribe, the files the app generates) after d. d is rounded
// up to whole seconds and must be at least one second; without this option
// objects follow the account's default (normally never expire).
func WithExpiration(d time.Duration) RequestOption {
	return func(c *config) error {
		if d < time.Second {
			return fmt.Errorf("fal: WithExpiration: %v is too short; use at least one second (fal.ExpireImmediately is one minute)", d)
		}
		c.upload.expiresIn = d
		return nil
	}
}

// WithStorageACL sets the initial access control of stored objects.
func WithStorageACL(acl StorageACL) RequestOption {
	return func(c *config) error {
		for _, d := range append([]string{acl.Default}, decisions(acl.Rules)...) {
			switch d {
			case "", "hide", "forbid", "allow":
			default:
				return fmt.Errorf("fal: WithStorageACL: unknown decision %q; use hide, forbid or allow", d)
			}
		}
		for _, r := range acl.Rules {
			if r.User == "" {
				return errors.New("fal: WithStorageACL: a rule has no user")
			}
		}
		a := acl
		c.upload.acl = &a
		return nil
	}
}

func decisions(rules []StorageACLRule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.Decision
		if r.Decision == "" {
			out[i] = "?"
		}
	}
	return out
}

// WithMultipartUpload tunes multipart uploads: sizes above threshold go in
// parts of partSize bytes, parallel of them at once. Memory use of an
// upload from a plain io.Reader stays near parallel × partSize whatever
// the file size. Zero values keep the defaults.
func WithMultipartUpload(threshold, partSize int64, parallel int) RequestOption {
	return func(c *config) error {
		if threshold < 0 || parallel < 0 || (partSize != 0 && partSize < 5<<20) {
			return fmt.Errorf("fal: WithMultipartUpload: threshold and parallel must not be negative, and parts must be at least 5 MiB (got %d)", partSize)
		}
		if threshold > 0 {
			c.upload.threshold = threshold
		}
		if partSize > 0 {
			c.upload.partSize = partSize
		}
		if parallel > 0 {
			c.upload.parallel = parallel
		}
		return nil
	}
}

// WithoutAutoUpload turns off the automatic upload of file inputs
// (LocalFile, FileBytes, FileReader) in Run, Submit, Subscribe and Stream:
// encoding such an input then fails.
func WithoutAutoUpload() RequestOption {
	return func(c *config) error {
		c.upload.noAuto = true
		return nil
	}
}

// lifecycle returns the JSON of the lifecycle headers, or "" for none.
func (u *uploadConfig) lifecycle() string {
	type payload struct {
		Expiration int64       `json:"expiration_duration_seconds,omitempty"`
		ACL        *StorageACL `json:"initial_acl,omitempty"`
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

func (u *uploadConfig) partBytes() int64 {
	if u.partSize > 0 {
		return u.partSize
	}
	return DefaultPartSize
}

func (u *uploadConfig) thresholdBytes() int64 {
	if u.threshold > 0 {
		return u.threshold
	}
	return DefaultMultipartThreshold
}

func (u *uploadConfig) concurrency() int {
	if u.parallel > 0 {
		return u.parallel
	}
	return DefaultUploadConcurrency
}
