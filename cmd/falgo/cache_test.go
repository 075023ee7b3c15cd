package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestDiskCacheHitTTLAndDamage(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	d := &diskCache{dir: t.TempDir(), ttl: 24 * time.Hour, now: clock.now}
	host, id := "https://api.fal.ai", "fal-ai/flux/dev"
	if _, _, ok := d.get("schemas", host, id); ok {
		t.Fatal("an empty cache hit")
	}
	doc := json.RawMessage(`{"openapi":"3.0.4"}`)
	if err := d.put("schemas", host, id, doc); err != nil {
		t.Fatal(err)
	}
	clock.t = clock.t.Add(23 * time.Hour)
	if data, age, ok := d.get("schemas", host, id); !ok || string(data) != string(doc) || age != 23*time.Hour {
		t.Fatalf("a fresh entry: ok %v, age %v, data %s", ok, age, data)
	}
	// Another host, another id, another kind: misses.
	for _, k := range [][3]string{{"schemas", "http://127.0.0.1:8080/api", id}, {"schemas", host, "fal-ai/flux/schnell"}, {"prices", host, id}} {
		if _, _, ok := d.get(k[0], k[1], k[2]); ok {
			t.Errorf("%v hit the entry of %s %s", k, host, id)
		}
	}
	// The TTL runs out.
	clock.t = clock.t.Add(time.Hour)
	if _, _, ok := d.get("schemas", host, id); ok {
		t.Error("an entry 24 hours old is still used")
	}
	// A clock set back before the entry: not trusted.
	clock.t = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	if _, _, ok := d.get("schemas", host, id); ok {
		t.Error("an entry from the future is used")
	}

	// A corrupt file, one renamed into another's place, one unreadable:
	// all ignored, and the next put replaces them.
	clock.t = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	path := d.path("schemas", host, id)
	for name, data := range map[string]string{
		"truncated":  `{"falgo_cache":1,"api_host":"https://api.fal.ai","endpoint_id":"fal-ai/fl`,
		"not json":   "\x00\x01garbage",
		"other id":   `{"falgo_cache":1,"api_host":"https://api.fal.ai","endpoint_id":"fal-ai/other","fetched_at":"2026-12-01T11:00:00Z","data":{}}`,
		"no data":    `{"falgo_cache":1,"api_host":"https://api.fal.ai","endpoint_id":"fal-ai/flux/dev","fetched_at":"2026-12-01T11:00:00Z"}`,
		"no date":    `{"falgo_cache":1,"api_host":"https://api.fal.ai","endpoint_id":"fal-ai/flux/dev","data":{}}`,
		"version 99": `{"falgo_cache":99,"api_host":"https://api.fal.ai","endpoint_id":"fal-ai/flux/dev","fetched_at":"2026-12-01T11:00:00Z","data":{}}`,
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, ok := d.get("schemas", host, id); ok {
			t.Errorf("%s: the entry was used", name)
		}
	}
	if err := os.Chmod(path, 0); err == nil && os.Geteuid() != 0 {
		if _, _, ok := d.get("schemas", host, id); ok {
			t.Error("an unreadable entry was used")
		}
		os.Chmod(path, 0o600)
	}
	if err := d.put("schemas", host, id, doc); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := d.get("schemas", host, id); !ok {
		t.Error("the entry written over a damaged one is not used")
	}
	// No cache directory, or no host (--local): nothing cached, no error.
	for _, dc := range []*diskCache{{ttl: time.Hour, now: clock.now}, d} {
		if err := dc.put("schemas", "", id, doc); err != nil {
			t.Error(err)
		}
		if _, _, ok := dc.get("schemas", "", id); ok {
			t.Error("an entry without a host hit")
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("the cache directory holds %d files, want 1 (no temporary files left)", len(entries))
	}
}

// TestRunUsesTheSchemaCache: the first run fetches the schema and the
// price, the next uses them from the cache (no Platform API request); an
// expired entry and a corrupt one are fetched again; --local caches
// nothing on disk.
func TestRunUsesTheSchemaCache(t *testing.T) {
	srv := startFal(t)
	platformCalls := func() int { return srv.Stats().Requests["platform"] }
	run := func(what string) {
		t.Helper()
		if r := runCLI(t, "run", faltest.DemoFluxSchnell, "-i", "prompt=x"); r.code != exitOK || !strings.Contains(r.stderr, "falgo: billed 1 megapixels") {
			t.Fatalf("%s: exit %d, stderr:\n%s", what, r.code, r.stderr)
		}
	}
	run("first run")
	if n := platformCalls(); n != 2 {
		t.Fatalf("the first run made %d Platform API requests, want 2 (schema, price)", n)
	}
	run("second run")
	if n := platformCalls(); n != 2 {
		t.Fatalf("the second run made %d more Platform API requests, want none", n-2)
	}
	// The misspelt field is refused from the cached schema too.
	if r := runCLI(t, "run", faltest.DemoFluxSchnell, "-i", "promt=x"); r.code != exitUsage || platformCalls() != 2 {
		t.Errorf("a cached schema: exit %d, %d Platform API requests", r.code, platformCalls())
	}

	d := newDiskCache()
	host := apiHostFromEnv(t)
	path := d.path("schemas", host, faltest.DemoFluxSchnell)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no cache entry at %s: %v", path, err)
	}
	if !strings.HasPrefix(path, os.Getenv("XDG_CACHE_HOME")) {
		t.Errorf("the cache is at %s, not under the user cache directory", path)
	}
	// Expired: dated 25 hours ago.
	var e cacheEntry
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	e.FetchedAt = time.Now().Add(-25 * time.Hour)
	old, _ := json.Marshal(e)
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	run("after the TTL")
	if n := platformCalls(); n != 3 {
		t.Errorf("an expired schema: %d Platform API requests, want 3 (the schema fetched again)", n)
	}
	// Corrupt.
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	run("after damage")
	if n := platformCalls(); n != 4 {
		t.Errorf("a corrupt entry: %d Platform API requests, want 4", n)
	}
	if _, _, ok := d.get("schemas", host, faltest.DemoFluxSchnell); !ok {
		t.Error("the corrupt entry was not replaced")
	}

	// --local: nothing on disk.
	if err := os.RemoveAll(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "falgo")); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "--local", "run", faltest.DemoFluxSchnell, "-i", "prompt=x"); r.code != exitOK {
		t.Fatalf("--local: exit %d", r.code)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "falgo")); !os.IsNotExist(err) {
		t.Errorf("--local wrote a cache (%v)", err)
	}
}

// apiHostFromEnv is the cache key of FAL_API_HOST.
func apiHostFromEnv(t *testing.T) string {
	t.Helper()
	c := &cli{}
	h := c.apiHostKey()
	if h == "" {
		t.Fatal("no API host")
	}
	return h
}
