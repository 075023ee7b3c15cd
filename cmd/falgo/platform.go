package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/internal/editdist"
	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/openapi"
	"github.com/falgo/fal/platform"
)

// platformLookupTimeout bounds a lookup that only helps a command along
// (a schema before a run, a price after it, a did-you-mean): a run never
// waits long for them.
const platformLookupTimeout = 10 * time.Second

// lookupRetries is the retry policy of those lookups: a few quick tries,
// not the minute of patience of a request that matters.
var lookupRetries = fal.RetryPolicy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxRetryAfter: 5 * time.Second}

// historyRetries is the retry policy of a batch's look at the request
// history: more patient than a lookup, but a Platform API that stays down
// leaves the inputs uncertain within seconds rather than a minute.
var historyRetries = fal.RetryPolicy{MaxAttempts: 5, BaseDelay: 200 * time.Millisecond, MaxDelay: 2 * time.Second, MaxRetryAfter: 10 * time.Second}

// platformSession is what a command needs to use fal's Platform API: the
// platform client on the command's fal client, one for quick lookups, and
// the cache of schemas and prices for its API host. Safe for concurrent
// use (falgo mcp serves several tool calls at once).
type platformSession struct {
	c     *cli
	pc    *platform.Client // the command's own calls, retried like any
	quick *platform.Client // lookups that only help (lookupRetries)
	// history reads the request history for batch reconciliation
	// (historyRetries): a failure only leaves inputs uncertain.
	history *platform.Client
	host    string // the cache key of the API host; "" caches nothing on disk
	cache   *diskCache

	mu sync.Mutex
	// notListed remembers the apps fal's catalogue said it does not list.
	notListed map[string]bool // guarded by mu
}

// markNotListed remembers that fal's catalogue does not list app.
func (s *platformSession) markNotListed(app string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notListed[app] = true
}

// isNotListed reports whether fal's catalogue said it does not list app.
func (s *platformSession) isNotListed(app string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notListed[app]
}

// newPlatform builds the Platform API client of a command on its fal
// client.
func (c *cli) newPlatform(cl *fal.Client) (*platformSession, error) {
	pc, err := platform.New(cl)
	if err != nil {
		return nil, fmt.Errorf("%s (check FAL_API_HOST)", oneLine(err.Error()))
	}
	return &platformSession{c: c, pc: pc, quick: c.platformWith(pc, lookupRetries), history: c.platformWith(pc, historyRetries),
		host: c.apiHostKey(), cache: c.diskCache(), notListed: map[string]bool{}}, nil
}

// platformWith is a Platform API client like the command's, with another
// retry policy; def when it cannot be built.
func (c *cli) platformWith(def *platform.Client, p fal.RetryPolicy) *platform.Client {
	if c.clientOpts == nil {
		return def
	}
	fc, err := fal.NewClient(append(append([]fal.Option(nil), c.clientOpts...), fal.WithRetryPolicy(p))...)
	if err != nil {
		return def
	}
	pc, err := platform.New(fc)
	if err != nil {
		return def
	}
	return pc
}

// diskCache is the command's schema and price cache.
func (c *cli) diskCache() *diskCache {
	if c.cache == nil {
		c.cache = newDiskCache()
	}
	return c.cache
}

// connect starts a command that uses the Platform API: its fal client,
// the platform session on it, and the function that releases them.
func (c *cli) connect() (*fal.Client, *platformSession, func(), error) {
	cl, release, err := c.newClient()
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := c.newPlatform(cl)
	if err != nil {
		release()
		return nil, nil, nil, err
	}
	return cl, s, release, nil
}

// apiHostKey names the API host the command talks to, as the key of the
// disk cache: the normalised FAL_API_HOST, or fal's default. With --local
// it is "": that server lives only as long as the command.
func (c *cli) apiHostKey() string {
	if c.g.local {
		return ""
	}
	v := os.Getenv("FAL_API_HOST")
	if strings.TrimSpace(v) == "" {
		v = engine.DefaultAPIHost
	}
	u, err := engine.ParseHost("FAL_API_HOST", v)
	if err != nil {
		return ""
	}
	return u.String()
}

// debugf prints a line on stderr with -v only.
func (s *platformSession) debugf(format string, args ...any) {
	if s.c.g.verbose {
		s.c.con.errorf(format, args...)
	}
}

// schema returns app's parsed OpenAPI document and the document itself:
// from the cache when fresh is false and the cache has it, else fetched
// (and then cached). from says where it came from, for -v.
func (s *platformSession) schema(ctx context.Context, app string, fresh bool) (ep *openapi.Endpoint, doc json.RawMessage, from string, err error) {
	if !fresh {
		if data, age, ok := s.cache.get("schemas", s.host, app); ok {
			if ep, err := openapi.Parse(data); err == nil {
				return ep, data, "cached " + age.Round(time.Second).String() + " ago", nil
			}
		}
	}
	pc := s.quick
	if fresh {
		pc = s.pc // falgo schema: the command itself
	}
	fctx, cancel := context.WithTimeout(ctx, platformLookupTimeout)
	defer cancel()
	m, err := pc.Model(fctx, app, platform.ExpandOpenAPI)
	if err != nil {
		return nil, nil, "", err
	}
	if m.OpenAPIError != nil {
		return nil, nil, "", fmt.Errorf("fal has no schema for %s: %w", app, m.OpenAPIError)
	}
	doc = m.OpenAPI
	if len(doc) == 0 || string(doc) == "null" {
		return nil, nil, "", fmt.Errorf("fal sent no schema for %s", app)
	}
	ep, err = openapi.Parse(doc)
	if err != nil {
		return nil, nil, "", fmt.Errorf("the schema fal sent for %s cannot be read: %w", app, err)
	}
	if err := s.cache.put("schemas", s.host, app, doc); err != nil {
		s.debugf("falgo: could not cache the schema of %s: %v", app, err)
	}
	return ep, doc, "fetched", nil
}

// price returns app's unit price, from the cache or fetched.
func (s *platformSession) price(ctx context.Context, app string) (*platform.Price, error) {
	if data, _, ok := s.cache.get("prices", s.host, app); ok {
		var p platform.Price
		if json.Unmarshal(data, &p) == nil && p.EndpointID == app && p.UnitPrice != "" {
			return &p, nil
		}
	}
	fctx, cancel := context.WithTimeout(ctx, platformLookupTimeout)
	defer cancel()
	prices, err := s.quick.Pricing(fctx, app)
	if err != nil {
		return nil, err
	}
	for _, p := range prices {
		if p.EndpointID == app && p.UnitPrice != "" {
			if b, err := json.Marshal(p); err == nil {
				if err := s.cache.put("prices", s.host, app, b); err != nil {
					s.debugf("falgo: could not cache the price of %s: %v", app, err)
				}
			}
			return &p, nil
		}
	}
	return nil, fmt.Errorf("fal lists no price for %s", app)
}

// isNotFound reports an answer that says the app or model does not exist.
func isNotFound(err error) bool {
	return errors.Is(err, platform.ErrNotFound) || httpStatus(err) == http.StatusNotFound
}

// unknownApp rewrites a 404 for app (from the model API, or the Platform
// API) into "fal knows no app X; did you mean Y?", with the suggestion
// from fal's model search. It keeps err when fal's catalogue does list
// app (the 404 was about something else) or cannot be asked.
func (s *platformSession) unknownApp(ctx context.Context, app string, err error) error {
	if !isNotFound(err) || ctx.Err() != nil {
		return err
	}
	if s.c.g.local {
		// The --local server serves the demo apps and nothing else.
		if m := closestID(app, demoApps); m != "" {
			return codedErrorf(exitError, "the --local server has no app %s; did you mean %s? (`falgo local --list` lists its apps)", app, m)
		}
		return codedErrorf(exitError, "the --local server has no app %s; it serves only the demo apps (`falgo local --list` lists them)", app)
	}
	lctx, cancel := context.WithTimeout(ctx, platformLookupTimeout)
	defer cancel()
	if !errors.Is(err, platform.ErrNotFound) && !s.isNotListed(app) {
		if _, merr := s.quick.Model(lctx, app); !errors.Is(merr, platform.ErrNotFound) {
			return err
		}
	}
	if m := s.suggestApp(lctx, app); m != "" {
		return codedErrorf(exitError, "fal knows no app %s; did you mean %s?", app, m)
	}
	return codedErrorf(exitError, "fal knows no app %s (check the id; `falgo models WORDS` searches fal's catalogue)", app)
}

// suggestApp finds the model id in fal's catalogue closest to app, for a
// "did you mean": it searches for app itself, then for each part of it
// after the owner, last part first ("fal-ai/flux/schnel": "schnel",
// "flux"), and keeps the closest id within a few edits, or one that ends
// with app (the owner left out). "" when none is close.
func (s *platformSession) suggestApp(ctx context.Context, app string) string {
	parts := strings.Split(app, "/")
	queries := []string{app}
	for i := len(parts) - 1; i >= 1; i-- {
		if len(parts[i]) >= 3 {
			queries = append(queries, parts[i])
		}
	}
	if len(queries) > 4 {
		queries = queries[:4]
	}
	seen := map[string]bool{}
	var ids []string
	for _, q := range queries {
		n := 0
		for m, err := range s.quick.Models(ctx, platform.ModelsParams{Query: q, Limit: 50}) {
			if err != nil || n >= 100 {
				break
			}
			n++
			if !seen[m.EndpointID] {
				seen[m.EndpointID] = true
				ids = append(ids, m.EndpointID)
			}
		}
		if best := closestID(app, ids); best != "" {
			return best
		}
	}
	return ""
}

// closestID picks the candidate closest to given: within 1 edit for ids of
// up to 8 characters, 2 up to 16, 3 beyond; or the one candidate that ends
// with "/"+given. Ties go to the earlier candidate.
func closestID(given string, candidates []string) string {
	g := strings.ToLower(given)
	best, bestD := "", -1
	var suffix []string
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if lc == g {
			continue
		}
		if strings.HasSuffix(lc, "/"+g) {
			suffix = append(suffix, c)
		}
		d := 1 << 20
		if len(lc) <= 256 && len(g) <= 256 {
			d = editdist.Distance(g, lc)
		}
		allowed := 3
		switch n := min(len([]rune(g)), len([]rune(lc))); {
		case n <= 8:
			allowed = 1
		case n <= 16:
			allowed = 2
		}
		if d <= allowed && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	if best == "" && len(suffix) == 1 {
		return suffix[0]
	}
	return best
}

// platformError explains an error of a Platform API call made for what
// (e.g. "fal's usage report"): an admin endpoint refused a key without the
// admin scope; anything else is returned as it is.
func platformError(what string, err error) error {
	if !errors.Is(err, platform.ErrAdminKeyRequired) {
		return err
	}
	return codedErrorf(exitCredentials, "%s", adminKeyMessage(what, err))
}

// adminKeyMessage is the one line for an admin endpoint that refused the
// key.
func adminKeyMessage(what string, err error) string {
	why := "the key in use is not an admin key"
	var he *fal.HTTPError
	if errors.As(err, &he) {
		if he.StatusCode == http.StatusUnauthorized {
			why = "fal did not accept the key in use"
		}
		why += fmt.Sprintf(" (%d %s)", he.StatusCode, http.StatusText(he.StatusCode))
	}
	return oneLine(fmt.Sprintf("%s needs an admin key, and %s: create a key with the ADMIN scope at https://fal.ai/dashboard/keys and pass it with FAL_KEY or --key", what, why))
}
