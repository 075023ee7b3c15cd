package platform

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/internal/clientlink"
	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// Client calls fal's Platform API with the settings of a *fal.Client: its
// credentials, API host, HTTP client, timeout, retries, limits, logger and
// user agent. It is safe for concurrent use. Build one with New.
type Client struct {
	eng  *engine.Config
	base string // the API host + "/v1"
}

// New returns a Platform API client that sends every request through c.
// The API host is c's (fal.WithAPIHost, else $FAL_API_HOST, else
// api.fal.ai); credentials are c's and go to that host only.
func New(c *fal.Client) (*Client, error) {
	e, err := clientlink.Engine(c)
	if err != nil {
		return nil, err
	}
	if e.Hosts.API == nil {
		return nil, falerr.New("platform: the client has no Platform API host; set one with fal.WithAPIHost")
	}
	return &Client{eng: e, base: engine.Join(e.Hosts.API, "v1")}, nil
}

// ErrAdminKeyRequired is matched by errors.Is when an endpoint that needs
// an admin key (usage, analytics, payload deletion, billing, keys)
// answered 401 or 403. The error also unwraps to the *fal.HTTPError.
var ErrAdminKeyRequired = errors.New("fal: this Platform API endpoint needs an admin key")

// ErrNotFound is matched by errors.Is when Model finds no model with the
// endpoint id asked for.
var ErrNotFound = errors.New("fal: not found")

// adminKeyError says, in front of the HTTP error, that an admin key is
// needed and where to get one.
type adminKeyError struct {
	op     string
	status int
	err    error
}

func (e *adminKeyError) Error() string {
	why := "the key sent has no admin scope"
	if e.status == http.StatusUnauthorized {
		why = "the key sent was not accepted"
	}
	return fmt.Sprintf("%s%s needs an admin key and %s: create a key with the ADMIN scope at https://fal.ai/dashboard/keys and use it (fal.WithKey or FAL_KEY): %s",
		falerr.Prefix, e.op, why, falerr.Trim(e.err.Error()))
}

func (e *adminKeyError) Unwrap() error { return e.err }

func (e *adminKeyError) Is(target error) bool { return target == ErrAdminKeyRequired }

// request is one call of the Platform API.
type request struct {
	op     string   // for errors and logs, e.g. "usage"
	method string   // GET by default
	path   []string // segments after /v1, already escaped
	query  url.Values
	body   any // encoded as JSON when not nil
	header http.Header
	class  retry.Class
	admin  bool // 401 and 403 mean "needs an admin key"
	// final is an answer status that is never retried (see CreateKey).
	final int
	// anonymous sends no credentials when none are configured (GET /models).
	anonymous bool
}

// send makes the request and returns its 2xx answer.
func (c *Client) send(ctx context.Context, r *request) (*engine.Response, error) {
	u := engine.Join(c.eng.Hosts.API, append([]string{"v1"}, r.path...)...)
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req := &engine.Request{
		Op:          r.op,
		Method:      cmp.Or(r.method, http.MethodGet),
		URL:         u,
		Header:      r.header,
		Class:       r.class,
		FinalStatus: r.final,
	}
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, falerr.Wrap(err, "%s: encoding the request", r.op)
		}
		req.Body = b
	}
	if r.anonymous {
		// The endpoint works without a key: use the client's credentials
		// when there are some, and none (rather than failing) when the
		// client has none at all. Any other credential error still stops
		// the call: it must not silently run under another identity.
		a, err := c.eng.AuthFor(ctx, u)
		switch {
		case errors.Is(err, fal.ErrMissingCredentials) || (err == nil && a.Header == ""):
			req.Auth = engine.NoAuth
		case err != nil:
			return nil, err
		default:
			req.Auth, req.Secrets = a.Header, a.Secrets
		}
	}
	resp, err := c.eng.Do(ctx, req)
	if err != nil {
		var he *fal.HTTPError
		if r.admin && errors.As(err, &he) && (he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden) {
			return nil, &adminKeyError{op: r.op, status: he.StatusCode, err: err}
		}
		return nil, err
	}
	return resp, nil
}

// decode reads a JSON answer into v; quote says whether the answer may be
// quoted in the error (never for an answer that holds a secret).
func decode(resp *engine.Response, v any, op string, quote bool) error {
	if err := json.Unmarshal(resp.Body, v); err != nil {
		if quote {
			return falerr.Wrap(err, "%s: the answer is not the JSON fal documents (%s)", op, resp.Quote(200))
		}
		return falerr.Wrap(err, "%s: the answer is not the JSON fal documents", op)
	}
	return nil
}

// pageInfo is the pagination part of a list answer.
type pageInfo struct {
	NextCursor *string `json:"next_cursor"`
	HasMore    *bool   `json:"has_more"`
}

// next is the cursor of the next page, or "" when this was the last one:
// a page is the last when it has no next_cursor, or says has_more: false.
// (fal documents has_more as derived from next_cursor; when the two
// disagree, falgo stops rather than guess.)
func (p pageInfo) next() string {
	if p.NextCursor == nil || (p.HasMore != nil && !*p.HasMore) {
		return ""
	}
	return *p.NextCursor
}

// walk fetches pages, starting at cursor, until a page is the last, page
// reports stop, or an error. page returns the next page's cursor. A
// cursor the server hands out twice ends the walk with an error, so a
// server that ignores the cursor cannot loop forever.
func walk(op, cursor string, page func(cursor string) (next string, stop bool, err error)) error {
	seen := map[string]bool{}
	if cursor != "" {
		seen[cursor] = true
	}
	for {
		next, stop, err := page(cursor)
		if err != nil || stop || next == "" {
			return err
		}
		if seen[next] {
			return falerr.New("%s: the server returned the cursor %q a second time; stopping instead of reading the same pages again", op, engine.Clip(next, 80))
		}
		seen[next] = true
		cursor = next
	}
}

// budget bounds what a call that merges pages keeps in memory: all pages
// together count against the client's Limits.Body, like one answer would.
type budget struct {
	op        string
	left, max int64
}

func (c *Client) budget(op string) *budget {
	m := cmp.Or(c.eng.MaxBody, engine.DefaultMaxBody)
	return &budget{op: op, left: m, max: m}
}

func (b *budget) spend(n int) error {
	b.left -= int64(n)
	if b.left < 0 {
		return &engine.LimitError{Op: b.op, What: "the answer (all its pages together)", Field: "Body", Limit: b.max}
	}
	return nil
}

// seq turns a page fetcher into an iterator that follows cursors from
// start; a non-nil invalid is yielded at once, before any request.
func seq[T any](op, start string, invalid error, fetch func(cursor string) ([]T, string, error)) func(yield func(T, error) bool) {
	return func(yield func(T, error) bool) {
		var zero T
		if invalid != nil {
			yield(zero, invalid)
			return
		}
		err := walk(op, start, func(cursor string) (string, bool, error) {
			items, next, err := fetch(cursor)
			if err != nil {
				return "", false, err
			}
			for _, it := range items {
				if !yield(it, nil) {
					return "", true, nil
				}
			}
			return next, false, nil
		})
		if err != nil {
			yield(zero, err)
		}
	}
}

// pathSegment checks an id that becomes one path segment and escapes it.
func pathSegment(what, id string) (string, error) {
	switch {
	case strings.TrimSpace(id) == "":
		return "", falerr.New("%s is empty", what)
	case id == "." || id == "..":
		return "", falerr.New("%s %q is not an id", what, id)
	case strings.ContainsAny(id, "/\\"):
		// Escaped, a slash would still reach another path on a server
		// that decodes %2F before routing.
		return "", falerr.New("%s %q contains a slash", what, id)
	case hasControl(id):
		return "", falerr.New("%s %q contains control characters", what, id)
	}
	return url.PathEscape(id), nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}

// oneLine folds server text onto one line.
func oneLine(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) < 0 {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r <= 0x20 || r == 0x7f }), " ")
}
