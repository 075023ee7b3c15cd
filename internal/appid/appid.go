// Package appid validates and parses fal application ids.
//
// fal uses ids in two ways (spec §1.2): run, submit and stream append the id
// as given ("fal-ai/flux/dev", "1234-app"), while queue handles built from a
// request id and realtime parse it into [namespace/]owner/alias[/path],
// turning the legacy "1234-app" form into "1234/app".
package appid

import (
	"fmt"
	"regexp"
	"strings"
)

// ID is a parsed application id.
type ID struct {
	Namespace string // "workflows" or "comfy", or empty
	Owner     string
	Alias     string
	Path      string // sub-path below the app, without a leading slash
}

// namespaces are first segments that shift owner and alias one place right.
var namespaces = map[string]bool{"workflows": true, "comfy": true}

var legacy = regexp.MustCompile(`^([0-9]+)-([a-zA-Z0-9-]+)$`)

// Validate checks an id used as given in a URL (run, submit, stream): not
// empty, no empty segments, no "." or ".." segments, and only characters
// that need no escaping in a URL path.
func Validate(id string) error {
	if id == "" {
		return fmt.Errorf("empty app id; expected owner/alias, e.g. fal-ai/flux/schnell")
	}
	if strings.HasPrefix(id, "/") || strings.HasSuffix(id, "/") {
		return fmt.Errorf("invalid app id %q: no leading or trailing slash; expected owner/alias[/path]", id)
	}
	if strings.Contains(id, "://") {
		return fmt.Errorf("invalid app id %q: pass the app id (owner/alias), not a URL; set hosts with WithRunHost/WithQueueHost", id)
	}
	for _, seg := range strings.Split(id, "/") {
		if seg == "" {
			return fmt.Errorf("invalid app id %q: empty path segment", id)
		}
		if seg == "." || seg == ".." {
			return fmt.Errorf("invalid app id %q: %q segments are not allowed", id, seg)
		}
		for _, r := range seg {
			if !validRune(r) {
				return fmt.Errorf("invalid app id %q: character %q is not allowed (letters, digits and -._~ only)", id, r)
			}
		}
	}
	return nil
}

func validRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("-._~@:+", r)
}

// Parse validates id and splits it into its parts, converting the legacy
// "1234-app" form. An id with neither a slash nor the legacy form is an
// error, as in both official clients.
func Parse(id string) (ID, error) {
	if err := Validate(id); err != nil {
		return ID{}, err
	}
	if !strings.Contains(id, "/") {
		m := legacy.FindStringSubmatch(id)
		if m == nil {
			return ID{}, fmt.Errorf("invalid app id %q: expected owner/alias (e.g. fal-ai/fast-sdxl) or the legacy 1234-alias form", id)
		}
		return ID{Owner: m[1], Alias: m[2]}, nil
	}
	segs := strings.Split(id, "/")
	var out ID
	if namespaces[segs[0]] {
		if len(segs) < 3 {
			return ID{}, fmt.Errorf("invalid app id %q: a %s id needs %s/owner/alias", id, segs[0], segs[0])
		}
		out.Namespace, segs = segs[0], segs[1:]
	}
	out.Owner, out.Alias = segs[0], segs[1]
	out.Path = strings.Join(segs[2:], "/")
	return out, nil
}

// Base is [namespace/]owner/alias: the part queue URLs are built from.
func (id ID) Base() string {
	if id.Namespace != "" {
		return id.Namespace + "/" + id.Owner + "/" + id.Alias
	}
	return id.Owner + "/" + id.Alias
}

// String is the full id: Base plus the path, if any.
func (id ID) String() string {
	if id.Path != "" {
		return id.Base() + "/" + id.Path
	}
	return id.Base()
}
