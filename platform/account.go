package platform

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/falgo/fal/internal/falerr"
	"github.com/falgo/fal/internal/retry"
)

// Billing is the account's billing information.
type Billing struct {
	// Username is the account (user or team) name.
	Username string `json:"username"`
	// Credits is the prepaid balance; nil when fal sent none.
	Credits *Credits `json:"credits,omitempty"`
}

// Credits is a prepaid credit balance.
type Credits struct {
	// CurrentBalance is a decimal number exactly as fal wrote it.
	CurrentBalance json.Number `json:"current_balance"`
	// Currency is a three-letter ISO 4217 code, e.g. "USD".
	Currency string `json:"currency"`
}

// Billing returns the account's billing information with its credit
// balance (GET /v1/account/billing?expand=credits; needs an admin key).
func (c *Client) Billing(ctx context.Context) (*Billing, error) {
	const op = "billing"
	resp, err := c.send(ctx, &request{op: op, path: []string{"account", "billing"}, query: url.Values{"expand": {"credits"}}, class: retry.Idempotent, admin: true})
	if err != nil {
		return nil, err
	}
	var b Billing
	if err := decode(resp, &b, op, true); err != nil {
		return nil, err
	}
	return &b, nil
}

// Key is an API key of the account, without its secret.
type Key struct {
	KeyID string `json:"key_id"`
	Alias string `json:"alias"`
	// Scope is the key's scope as fal names it, e.g. "API" or "ADMIN".
	Scope     string    `json:"scope"`
	CreatedAt time.Time `json:"created_at"`
	// CreatorNickname and CreatorEmail name who created the key, when
	// fal says.
	CreatorNickname string `json:"creator_nickname,omitempty"`
	CreatorEmail    string `json:"creator_email,omitempty"`
}

// UnmarshalJSON reads a key with a tolerant created_at.
func (k *Key) UnmarshalJSON(b []byte) error {
	type plain Key
	aux := struct {
		*plain
		CreatedAt jsonTime `json:"created_at"`
	}{plain: (*plain)(k)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	k.CreatedAt = time.Time(aux.CreatedAt)
	return nil
}

// MarshalJSON writes fal's shape.
func (k Key) MarshalJSON() ([]byte, error) {
	type plain Key
	return json.Marshal(struct {
		plain
		CreatedAt jsonTime `json:"created_at"`
	}{plain(k), jsonTime(k.CreatedAt)})
}

type keysPage struct {
	pageInfo
	Keys []Key `json:"keys"`
}

// Keys lists the account's API keys with who created them (GET
// /v1/keys?expand=creator_info; needs an admin key), reading every page.
func (c *Client) Keys(ctx context.Context) ([]Key, error) {
	const op = "list keys"
	var out []Key
	b := c.budget(op)
	err := walk(op, "", func(cursor string) (string, bool, error) {
		q := url.Values{"expand": {"creator_info"}}
		setString(q, "cursor", cursor)
		resp, err := c.send(ctx, &request{op: op, path: []string{"keys"}, query: q, class: retry.Idempotent, admin: true})
		if err != nil {
			return "", false, err
		}
		if err := b.spend(len(resp.Body)); err != nil {
			return "", false, err
		}
		var page keysPage
		if err := decode(resp, &page, op, true); err != nil {
			return "", false, err
		}
		out = append(out, page.Keys...)
		return page.next(), false, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// NewKey is a key just created: the only time fal shows its secret.
//
// Its String, GoString, Format and LogValue methods redact KeySecret and
// Key, so printing a NewKey with fmt or logging it with slog never
// reveals the secret; read the fields to store it. json.Marshal does
// write them: encoding the key is how it is stored.
type NewKey struct {
	KeyID string `json:"key_id"`
	// KeySecret is the secret half of the key.
	KeySecret string `json:"key_secret"`
	// Key is the whole key, "key_id:key_secret": use it as FAL_KEY or
	// with fal.WithKey.
	Key string `json:"key"`
}

// String shows the key id and the lengths of the secrets.
func (k NewKey) String() string {
	return fmt.Sprintf("NewKey{KeyID: %q, KeySecret: %s, Key: %s}", k.KeyID, redact(k.KeySecret), redact(k.Key))
}

// GoString is String, so %#v redacts too.
func (k NewKey) GoString() string { return "platform." + k.String() }

// Format redacts for every verb (%v, %+v, %#v, %s, %q, %x ...).
func (k NewKey) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(k.GoString()))
		return
	}
	_, _ = f.Write([]byte(k.String()))
}

// LogValue redacts the secrets in structured logs.
func (k NewKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("key_id", k.KeyID), slog.String("key_secret", redact(k.KeySecret)), slog.String("key", redact(k.Key)))
}

// redact shows only the length of a secret.
func redact(secret string) string {
	if secret == "" {
		return `""`
	}
	return fmt.Sprintf("[redacted, %d chars]", len(secret))
}

// maxAlias is the longest alias fal accepts, in characters.
const maxAlias = 255

// CreateKey creates an API key named alias (POST /v1/keys; needs an admin
// key) and returns it with its secret, which fal shows only this once.
//
// A retried create whose first attempt reached fal would silently make a
// second key, so the request is repeated only when fal certainly did not
// act on it: a 429 or 408 answer, or a connection that could not be
// opened. Never on a 5xx (a 503 included: the Platform API's answers
// carry no x-fal-request-id, so fal's gateway cannot be told from the API
// itself), a timeout or a dropped connection: then the error is returned,
// and Keys shows whether the key was made.
func (c *Client) CreateKey(ctx context.Context, alias string) (*NewKey, error) {
	const op = "create key"
	switch n := utf8.RuneCountInString(alias); {
	case strings.TrimSpace(alias) == "":
		return nil, falerr.New("%s: the alias is empty; fal requires a name of 1 to %d characters", op, maxAlias)
	case n > maxAlias:
		return nil, falerr.New("%s: the alias has %d characters; fal accepts at most %d", op, n, maxAlias)
	}
	resp, err := c.send(ctx, &request{
		op: op, method: http.MethodPost, path: []string{"keys"}, body: map[string]string{"alias": alias},
		class: retry.Once, admin: true,
		// The ingress test (a 503 without x-fal-request-id) cannot tell
		// fal's gateway from the Platform API, which puts its request id
		// in the body: a 503 is not proof that no key was made.
		final: http.StatusServiceUnavailable,
	})
	if err != nil {
		return nil, err
	}
	var k NewKey
	if err := decode(resp, &k, op, false); err != nil {
		return nil, err
	}
	if k.Key == "" && k.KeyID != "" && k.KeySecret != "" {
		k.Key = k.KeyID + ":" + k.KeySecret
	}
	return &k, nil
}

// DeleteKey deletes (revokes) the API key with this id (DELETE
// /v1/keys/{key_id}; needs an admin key).
func (c *Client) DeleteKey(ctx context.Context, keyID string) error {
	seg, err := pathSegment("the key id", keyID)
	if err != nil {
		return falerr.Wrap(err, "delete key")
	}
	_, err = c.send(ctx, &request{op: "delete key " + keyID, method: http.MethodDelete, path: []string{"keys", seg}, class: retry.Once, admin: true})
	return err
}
