package faltest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Keys: the server's own key (Server.Key) has the admin scope, so every
// Platform API endpoint works with it; WithAPIKey and POST /api/v1/keys
// add keys of the API scope, which work on the model APIs and the
// non-admin Platform API endpoints and get 403 on the admin ones.

// Key scopes, as GET /keys names them.
const (
	scopeAdmin = "ADMIN"
	scopeAPI   = "API"
)

// apiKey is one key the server accepts.
type apiKey struct {
	id      string // key_id
	key     string // what clients send after "Key "
	alias   string
	scope   string
	created time.Time
	builtin bool // Server.Key: cannot be revoked
}

// keyTable is the set of keys, copy-on-write so the check on every request
// takes no lock.
type keyTable struct {
	mu  sync.Mutex
	all atomic.Pointer[map[string]*apiKey] // by key
	n   int                                // keys added by WithAPIKey, for their ids
}

func (t *keyTable) snapshot() map[string]*apiKey {
	if m := t.all.Load(); m != nil {
		return *m
	}
	return nil
}

// add stores k, failing if the key is taken.
func (t *keyTable) add(k *apiKey) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.snapshot()
	if _, dup := old[k.key]; dup {
		return fmt.Errorf("the key is already in use")
	}
	for _, o := range old {
		if o.id == k.id {
			return fmt.Errorf("the key id %q is already in use", k.id)
		}
	}
	next := make(map[string]*apiKey, len(old)+1)
	for kk, v := range old {
		next[kk] = v
	}
	next[k.key] = k
	t.all.Store(&next)
	return nil
}

// revoke removes the key with the given id.
func (t *keyTable) revoke(id string) (found, builtin bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.snapshot()
	next := make(map[string]*apiKey, len(old))
	for kk, v := range old {
		if v.id == id {
			found, builtin = true, v.builtin
			if builtin {
				return true, true
			}
			continue
		}
		next[kk] = v
	}
	if found {
		t.all.Store(&next)
	}
	return found, false
}

// keyID is the id of a key given as a string: the part before ":" of a
// "key_id:key_secret" key, else fallback.
func keyID(key, fallback string) string {
	if id, _, ok := strings.Cut(key, ":"); ok && id != "" {
		return id
	}
	return fallback
}

// initKeys installs Server.Key and the WithAPIKey keys.
func (s *Server) initKeys(now time.Time) error {
	if err := s.keys.add(&apiKey{id: keyID(s.Key, "faltest"), key: s.Key, alias: "faltest default key", scope: scopeAdmin, created: now, builtin: true}); err != nil {
		return err
	}
	for i, k := range s.cfg.apiKeys {
		id := keyID(k, fmt.Sprintf("api-key-%d", i+1))
		if err := s.keys.add(&apiKey{id: id, key: k, alias: fmt.Sprintf("api key %d", i+1), scope: scopeAPI, created: now}); err != nil {
			return fmt.Errorf("WithAPIKey(#%d): %v", i+1, err)
		}
	}
	return nil
}

// authKey returns the key r carries in "Authorization: Key <key>", or nil.
func (s *Server) authKey(r *http.Request) *apiKey {
	a := r.Header.Get("Authorization")
	k, ok := strings.CutPrefix(a, "Key ")
	if !ok {
		return nil
	}
	return s.keys.snapshot()[k]
}

// json is the key as GET /keys lists it; expand=creator_info adds
// creator_nickname and creator_email (fal's docs of GET /v1/keys).
func (k *apiKey) json(creator bool) obj {
	o := obj{{"key_id", k.id}, {"alias", k.alias}, {"scope", k.scope}, {"created_at", formatTime(k.created)}}
	if creator {
		o.set("creator_nickname", WebhookUserID)
		o.set("creator_email", WebhookUserID+"@example.com")
	}
	return o
}

// handleKeys serves GET and POST /api/v1/keys.
func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request, p *platformCall) {
	if r.Method == http.MethodPost {
		s.createKey(w, r, p)
		return
	}
	q := r.URL.Query()
	exp, ok := p.expand(q, []string{"creator_info"}, nil)
	if !ok {
		return
	}
	limit, page, ok := p.paging(q, 100, 100)
	if !ok {
		return
	}
	var keys []*apiKey
	for _, k := range s.keys.snapshot() {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if !keys[i].created.Equal(keys[j].created) {
			return keys[i].created.Before(keys[j].created)
		}
		return keys[i].id < keys[j].id
	})
	items, next := pageOf(keys, limit, page)
	list := make([]obj, 0, len(items))
	for _, k := range items {
		list = append(list, k.json(exp["creator_info"]))
	}
	writeJSON(w, http.StatusOK, obj{{"keys", list}, {"next_cursor", next}, {"has_more", next != nil}})
}

// createKey serves POST /api/v1/keys {alias}: a new API-scope key.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, p *platformCall) {
	var body struct {
		Alias *string `json:"alias"`
	}
	if !p.decodeBody(r, &body) {
		return
	}
	if body.Alias == nil || strings.TrimSpace(*body.Alias) == "" {
		p.fail(http.StatusBadRequest, "validation_error", `alias is required: give the new key a name, e.g. {"alias": "ci"}`)
		return
	}
	if len(*body.Alias) > 255 {
		p.fail(http.StatusBadRequest, "validation_error", "alias is longer than 255 characters")
		return
	}
	var secret [16]byte
	_, _ = rand.Read(secret[:])
	k := &apiKey{id: newID(), alias: *body.Alias, scope: scopeAPI, created: time.Now()}
	sec := hex.EncodeToString(secret[:])
	k.key = k.id + ":" + sec
	if err := s.keys.add(k); err != nil {
		p.fail(http.StatusInternalServerError, "server_error", "creating the key failed: "+err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, obj{{"key_id", k.id}, {"key_secret", sec}, {"key", k.key}})
}

// handleDeleteKey serves DELETE /api/v1/keys/{key_id}.
func (s *Server) handleDeleteKey(w http.ResponseWriter, r *http.Request, p *platformCall, id string) {
	found, builtin := s.keys.revoke(id)
	switch {
	case builtin:
		p.fail(http.StatusBadRequest, "validation_error", fmt.Sprintf("key %q is the server's own key (Server.Key, the one falgo local exports); it cannot be revoked", id))
	case !found:
		p.fail(http.StatusNotFound, "not_found", fmt.Sprintf("no key with key_id %q (list them with GET /v1/keys)", id))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
