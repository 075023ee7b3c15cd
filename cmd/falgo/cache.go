package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// The schema and price cache. falgo checks inputs against each app's
// OpenAPI document and prices what a run billed; both change rarely, and
// fetching them before every run would add a Platform API call to each.
// So they are kept on disk:
//
//	<user cache dir>/falgo/schemas/<API host>/<endpoint id>.json
//	<user cache dir>/falgo/prices/<API host>/<endpoint id>.json
//
// (os.UserCacheDir: $XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches
// on macOS, %LocalAppData% on Windows; the host and the id are
// query-escaped into file names). Each file is one JSON object
// {"falgo_cache": 1, "api_host", "endpoint_id", "fetched_at", "data"}: an
// entry is used only when its host and id are the ones asked for and it is
// younger than the TTL (24 hours), so a renamed or copied file, a clock
// set back, or another API host never serve the wrong document. A file
// that cannot be read or parsed is ignored, as if absent, and replaced by
// the next fetch; writes go to a temporary file renamed into place, so a
// reader never sees half a file. Deleting the directory is always safe.
//
// --local commands are not cached on disk: their server lives only as long
// as the command, on a new port each time.

// cacheTTL is how long a cached schema or price is used.
const cacheTTL = 24 * time.Hour

// maxCacheEntry bounds a cache file read (fal's largest schemas are a few
// hundred KiB).
const maxCacheEntry = 16 << 20

// cacheVersion is the format of the cache files.
const cacheVersion = 1

// diskCache is the cache directory, with the clock that dates entries.
type diskCache struct {
	dir string // "" caches nothing
	ttl time.Duration
	now func() time.Time
}

// newDiskCache opens the cache under the user cache directory; without
// one (no HOME, say) nothing is cached.
func newDiskCache() *diskCache {
	d := &diskCache{ttl: cacheTTL, now: time.Now}
	if base, err := os.UserCacheDir(); err == nil && base != "" {
		d.dir = filepath.Join(base, "falgo")
	}
	return d
}

// cacheEntry is one cache file.
type cacheEntry struct {
	Version    int             `json:"falgo_cache"`
	APIHost    string          `json:"api_host"`
	EndpointID string          `json:"endpoint_id"`
	FetchedAt  time.Time       `json:"fetched_at"`
	Data       json.RawMessage `json:"data"`
}

// path is the file of one entry.
func (d *diskCache) path(kind, host, id string) string {
	return filepath.Join(d.dir, kind, fileSafe(host), fileSafe(id)+".json")
}

// fileSafe turns a host or an endpoint id into one file name.
func fileSafe(s string) string {
	e := url.QueryEscape(s)
	if e == "" || e == "." || e == ".." {
		e = "%" + e
	}
	return e
}

// get returns the data of a fresh entry and its age; ok is false when there
// is none, it expired, or it cannot be used (unreadable, corrupt, for
// another host or id, dated in the future).
func (d *diskCache) get(kind, host, id string) (data json.RawMessage, age time.Duration, ok bool) {
	if d == nil || d.dir == "" || host == "" {
		return nil, 0, false
	}
	f, err := os.Open(d.path(kind, host, id))
	if err != nil {
		return nil, 0, false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCacheEntry+1))
	if err != nil || len(b) > maxCacheEntry {
		return nil, 0, false
	}
	var e cacheEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, 0, false
	}
	if e.Version != cacheVersion || e.APIHost != host || e.EndpointID != id || e.FetchedAt.IsZero() || len(e.Data) == 0 {
		return nil, 0, false
	}
	age = d.now().Sub(e.FetchedAt)
	// A little slack for a clock that was corrected; an entry from further
	// in the future was written under a wrong clock: fetch again.
	if age < -time.Minute || age >= d.ttl {
		return nil, 0, false
	}
	return e.Data, max(age, 0), true
}

// put stores data for host and id, dated now. An error only means that
// the next command fetches again.
func (d *diskCache) put(kind, host, id string, data json.RawMessage) error {
	if d == nil || d.dir == "" || host == "" {
		return nil
	}
	b, err := json.Marshal(cacheEntry{Version: cacheVersion, APIHost: host, EndpointID: id, FetchedAt: d.now().UTC(), Data: data})
	if err != nil {
		return err
	}
	p := d.path(kind, host, id)
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".entry-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // nothing left to remove after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("caching %s: %w", id, err)
	}
	return nil
}
