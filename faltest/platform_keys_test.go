package faltest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/falgo/fal/faltest"
)

// adminEndpoints need an admin key; apiEndpoints work with an API key.
var (
	adminEndpoints = []struct{ method, path, body string }{
		{"GET", "/models/usage", ""},
		{"GET", "/account/billing?expand=credits", ""},
		{"GET", "/keys", ""},
		{"POST", "/keys", `{"alias":"x"}`},
		{"DELETE", "/keys/whatever", ""},
		{"DELETE", "/models/requests/00000000-0000-4000-8000-000000000000/payloads", ""},
	}
	apiEndpoints = []struct{ method, path, body string }{
		{"GET", "/models?endpoint_id=falgo/echo", ""},
		{"GET", "/models/pricing?endpoint_id=falgo/echo", ""},
		{"POST", "/models/pricing/estimate", `{"estimate_type":"unit_price","endpoints":{"falgo/echo":{"unit_quantity":1}}}`},
		{"GET", "/models/analytics?endpoint_id=falgo/echo", ""},
		{"GET", "/models/requests/by-endpoint?endpoint_id=falgo/echo", ""},
	}
)

func TestKeyScopes(t *testing.T) {
	srv := newServer(t, faltest.WithAPIKey("kid:secret"), faltest.WithAPIKey("plainkey"))
	for _, key := range []string{"kid:secret", "plainkey"} {
		// The model APIs take an API key.
		if r := runApp(t, srv, "falgo/echo", `{"k":1}`, "Authorization", "Key "+key); r.code != 200 {
			t.Errorf("run with API key %s: %d %s", key, r.code, r.body)
		}
		sub := submit(t, srv, "falgo/echo", `{}`, "Authorization", "Key "+key)
		if r := call(t, srv, "GET", sub["status_url"].(string), "", "Authorization", "Key "+key); r.code != 200 && r.code != 202 {
			t.Errorf("status with API key: %d", r.code)
		}
		for _, e := range apiEndpoints {
			if r := api(t, srv, e.method, e.path, e.body, key); r.code != 200 {
				t.Errorf("%s %s with an API key: %d %s", e.method, e.path, r.code, r.body)
			}
		}
		for _, e := range adminEndpoints {
			platformError(t, api(t, srv, e.method, e.path, e.body, key), 403, "authorization_error", "this endpoint needs an admin key", "API scope")
		}
	}
	// The server's own key has the admin scope: every endpoint works.
	for _, e := range append(apiEndpoints, adminEndpoints[:4]...) {
		want := 200
		if e.method == "POST" && e.path == "/keys" {
			want = 201
		}
		if r := api(t, srv, e.method, e.path, e.body, ""); r.code != want {
			t.Errorf("%s %s with the admin key: %d %s", e.method, e.path, r.code, r.body)
		}
	}
	// No key, or a wrong one.
	for _, e := range append(apiEndpoints[1:], adminEndpoints...) {
		platformError(t, api(t, srv, e.method, e.path, e.body, noKey), 401, "authorization_error", "authentication is required")
		platformError(t, api(t, srv, e.method, e.path, e.body, "kid:wrong"), 401, "authorization_error", "not valid")
	}
	if r := runApp(t, srv, "falgo/echo", `{}`, "Authorization", "Key kid:wrong"); r.code != 401 {
		t.Errorf("run with a wrong key: %d", r.code)
	}
	// The history records which key made each request.
	keys := map[string]int{}
	for _, r := range srv.History("falgo/echo") {
		keys[r.KeyID]++
	}
	if keys["kid"] != 2 || keys["api-key-2"] != 2 {
		t.Errorf("requests by key %v", keys)
	}
}

func TestKeysLifecycle(t *testing.T) {
	srv := newServer(t, faltest.WithKey("admin-id:admin-secret"), faltest.WithAPIKey("kid:secret"))
	m := apiOK(t, srv, "GET", "/keys", "", "", 200)
	got := fmt.Sprint(ids(t, list(t, m, "keys"), "key_id"), ids(t, list(t, m, "keys"), "scope"))
	if got != "[admin-id kid] [ADMIN API]" {
		t.Errorf("keys %s", got)
	}
	for _, k := range list(t, m, "keys") {
		for _, f := range []string{"alias", "created_at"} {
			if _, ok := k.(map[string]any)[f]; !ok {
				t.Errorf("key %v lacks %s", k, f)
			}
		}
		if strings.Contains(fmt.Sprint(k), "secret") {
			t.Errorf("GET /keys shows a secret: %v", k)
		}
	}
	m = apiOK(t, srv, "GET", "/keys?expand=creator_info", "", "", 200)
	if dig(t, m, "keys", 0, "creator_nickname") != faltest.WebhookUserID || dig(t, m, "keys", 0, "creator_email") == "" {
		t.Errorf("creator_info %v", m)
	}

	created := apiOK(t, srv, "POST", "/keys", `{"alias":"ci runner"}`, "", 201)
	id, secret, key := created["key_id"].(string), created["key_secret"].(string), created["key"].(string)
	if id == "" || secret == "" || key != id+":"+secret {
		t.Fatalf("created %v", created)
	}
	// The new key works against the server, with the API scope.
	if r := runApp(t, srv, "falgo/echo", `{}`, "Authorization", "Key "+key); r.code != 200 {
		t.Errorf("run with the new key: %d %s", r.code, r.body)
	}
	apiOK(t, srv, "GET", "/models/pricing?endpoint_id=falgo/echo", "", key, 200)
	platformError(t, api(t, srv, "GET", "/keys", "", key), 403, "authorization_error", "needs an admin key")
	m = apiOK(t, srv, "GET", "/keys", "", "", 200)
	if keys := list(t, m, "keys"); len(keys) != 3 || dig(t, keys[2], "alias") != "ci runner" || dig(t, keys[2], "scope") != "API" {
		t.Errorf("keys after POST %v", keys)
	}
	// Paginated.
	m = apiOK(t, srv, "GET", "/keys?limit=2", "", "", 200)
	if len(list(t, m, "keys")) != 2 || m["has_more"] != true {
		t.Errorf("first page %v", m)
	}

	// Revoked, it no longer works anywhere.
	if r := api(t, srv, "DELETE", "/keys/"+id, "", ""); r.code != 204 {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	if r := runApp(t, srv, "falgo/echo", `{}`, "Authorization", "Key "+key); r.code != 401 {
		t.Errorf("run with the revoked key: %d", r.code)
	}
	platformError(t, api(t, srv, "GET", "/models/pricing?endpoint_id=falgo/echo", "", key), 401, "authorization_error")
	platformError(t, api(t, srv, "DELETE", "/keys/"+id, "", ""), 404, "not_found", id)
	// WithAPIKey keys can be revoked too; the server's own key cannot.
	if r := api(t, srv, "DELETE", "/keys/kid", "", ""); r.code != 204 {
		t.Errorf("delete kid: %d %s", r.code, r.body)
	}
	platformError(t, api(t, srv, "DELETE", "/keys/admin-id", "", ""), 400, "validation_error", "Server.Key")
	if r := runApp(t, srv, "falgo/echo", `{}`); r.code != 200 {
		t.Errorf("the admin key after the attempt: %d", r.code)
	}

	for _, body := range []string{`{}`, `{"alias":""}`, `{"alias":"  "}`, `not json`, `{"alias":"x","scope":"ADMIN"}`, `{"alias":"` + strings.Repeat("a", 256) + `"}`} {
		platformError(t, api(t, srv, "POST", "/keys", body, ""), 400, "validation_error")
	}
}

func TestKeyOptions(t *testing.T) {
	for _, opts := range [][]faltest.Option{
		{faltest.WithAPIKey("")},
		{faltest.WithAPIKey("has space")},
		{faltest.WithAPIKey(faltest.DefaultKey)},
		{faltest.WithAPIKey("a:1"), faltest.WithAPIKey("a:2")},
		{faltest.WithCredits(-1)},
	} {
		if srv, err := faltest.Start(opts...); err == nil {
			srv.Close()
			t.Errorf("Start accepted %d bad options", len(opts))
		}
	}
}

// The realtime token endpoint and storage take API keys too.
func TestAPIKeyOnRestEndpoints(t *testing.T) {
	srv := newServer(t, faltest.WithAPIKey("kid:secret"))
	r := call(t, srv, "POST", "/rest/tokens/", `{"allowed_apps":["echo"],"token_expiration":60}`, "Authorization", "Key kid:secret")
	if r.code != 200 && r.code != 201 {
		t.Errorf("token with an API key: %d %s", r.code, r.body)
	}
	r = call(t, srv, "POST", "/rest/storage/auth/token?storage_type=fal-cdn-v3", `{}`, "Authorization", "Key kid:secret")
	if r.code != 200 {
		t.Errorf("CDN token with an API key: %d %s", r.code, r.body)
	}
}
