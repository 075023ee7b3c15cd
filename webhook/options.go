package webhook

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Defaults used by NewVerifier.
const (
	// DefaultJWKSURL is where fal's webhook public keys are fetched from
	// unless WithJWKSURL or WithPublicKeys says otherwise. fal's docs page
	// on verification was not quoted directly when this was written: older
	// published verifiers use https://rest.alpha.fal.ai/.well-known/jwks.json,
	// newer ones this host, and fal's own clients moved from rest.alpha.fal.ai
	// to rest.fal.ai. If fal moves it, set the URL with WithJWKSURL.
	DefaultJWKSURL = "https://rest.fal.ai/.well-known/jwks.json"

	// DefaultTolerance is how far a delivery's timestamp may be from the
	// receiver's clock, either way.
	DefaultTolerance = 5 * time.Minute

	// DefaultJWKSCacheTTL is how long a fetched key set is used before it
	// is fetched again.
	DefaultJWKSCacheTTL = 24 * time.Hour

	// DefaultRefetchInterval is the least time between two key-set fetches
	// caused by a failure: a signature no cached key verifies (keys may
	// have rotated) or a fetch that failed. It stops forged traffic, or an
	// outage at fal, from turning into a stream of fetches.
	DefaultRefetchInterval = time.Minute

	// DefaultReplayCacheSize is how many accepted deliveries the replay
	// cache remembers.
	DefaultReplayCacheSize = 10000

	// DefaultMaxBodySize bounds the body VerifyRequest and Handler read.
	DefaultMaxBodySize = 16 << 20
)

// jwksFetchTimeout bounds one key-set fetch even when the HTTP client has
// no timeout of its own.
const jwksFetchTimeout = 10 * time.Second

// An Option configures a Verifier. Options are checked by NewVerifier,
// which reports the first invalid one.
type Option func(*settings) error

// settings is what the options fill in.
type settings struct {
	jwksURL         string
	jwksURLSet      bool
	httpClient      *http.Client
	staticKeys      []ed25519.PublicKey
	tolerance       time.Duration
	cacheTTL        time.Duration
	refetchInterval time.Duration
	replaySize      int
	maxBody         int64
	userIDs         map[string]bool
	now             func() time.Time
}

func defaultSettings() settings {
	return settings{
		jwksURL:         DefaultJWKSURL,
		httpClient:      http.DefaultClient,
		tolerance:       DefaultTolerance,
		cacheTTL:        DefaultJWKSCacheTTL,
		refetchInterval: DefaultRefetchInterval,
		replaySize:      DefaultReplayCacheSize,
		maxBody:         DefaultMaxBodySize,
		now:             time.Now,
	}
}

// WithJWKSURL sets the URL of the JSON Web Key Set holding the Ed25519
// public keys deliveries are verified against (default DefaultJWKSURL).
// It must be an absolute http or https URL. With faltest, use
// Server.JWKSURL.
func WithJWKSURL(jwksURL string) Option {
	return func(s *settings) error {
		u, err := url.Parse(jwksURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("WithJWKSURL: %q is not an absolute http(s) URL", jwksURL)
		}
		s.jwksURL = jwksURL
		s.jwksURLSet = true
		return nil
	}
}

// WithHTTPClient sets the client the key set is fetched with (default
// http.DefaultClient). Each fetch is also bounded to 10 seconds.
func WithHTTPClient(c *http.Client) Option {
	return func(s *settings) error {
		if c == nil {
			return errors.New("WithHTTPClient: the client is nil")
		}
		s.httpClient = c
		return nil
	}
}

// WithPublicKeys makes the Verifier use these Ed25519 public keys and never
// fetch a key set: for tests, and for machines that cannot reach fal. A
// delivery verifies if any key verifies it. It cannot be combined with
// WithJWKSURL. ParseJWKS turns a saved JWKS document into keys.
func WithPublicKeys(keys ...ed25519.PublicKey) Option {
	return func(s *settings) error {
		if len(keys) == 0 {
			return errors.New("WithPublicKeys: no keys given")
		}
		for i, k := range keys {
			if len(k) != ed25519.PublicKeySize {
				return fmt.Errorf("WithPublicKeys: key %d is %d bytes; an Ed25519 public key is %d", i, len(k), ed25519.PublicKeySize)
			}
		}
		s.staticKeys = append([]ed25519.PublicKey(nil), keys...)
		return nil
	}
}

// WithTolerance sets how far a delivery's X-Fal-Webhook-Timestamp may be
// from the Verifier's clock, in the past or the future (default
// DefaultTolerance). It is counted in whole seconds and must be at least
// one second. The replay cache remembers deliveries for this long.
func WithTolerance(d time.Duration) Option {
	return func(s *settings) error {
		if d < time.Second {
			return fmt.Errorf("WithTolerance: %v is less than one second", d)
		}
		s.tolerance = d
		return nil
	}
}

// WithJWKSCacheTTL sets how long a fetched key set is used before it is
// fetched again (default DefaultJWKSCacheTTL). When a refresh fails the
// old keys stay in use.
func WithJWKSCacheTTL(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("WithJWKSCacheTTL: %v is not a positive duration", d)
		}
		s.cacheTTL = d
		return nil
	}
}

// WithRefetchInterval sets the least time between two key-set fetches
// caused by a failure (default DefaultRefetchInterval): a signature that no
// cached key verifies triggers at most one fetch per interval, so does
// retrying after a failed fetch. A genuine delivery signed with a key
// published after the last fetch may be refused until the interval has
// passed; fal retries failed deliveries, so it gets through later.
func WithRefetchInterval(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("WithRefetchInterval: %v is not a positive duration", d)
		}
		s.refetchInterval = d
		return nil
	}
}

// WithReplayCache sets how many accepted deliveries the Verifier remembers
// to reject an identical delivery sent again (default
// DefaultReplayCacheSize). Entries are dropped once their timestamp falls
// outside the tolerance window (after which a resend is stale anyway);
// when the cache is full the entry closest to expiry is dropped. Size 0
// turns replay detection off. The cache is per Verifier, in memory: when
// several processes receive webhooks, deduplicate on Delivery.RequestID in
// shared storage as well.
func WithReplayCache(size int) Option {
	return func(s *settings) error {
		if size < 0 {
			return fmt.Errorf("WithReplayCache: negative size %d", size)
		}
		s.replaySize = size
		return nil
	}
}

// WithMaxBodySize bounds the request body VerifyRequest and Handler read
// (default DefaultMaxBodySize, 16 MiB). A larger body fails with
// ErrBodyTooLarge (HTTP 413 from Handler).
func WithMaxBodySize(n int64) Option {
	return func(s *settings) error {
		if n <= 0 {
			return fmt.Errorf("WithMaxBodySize: %d is not a positive size", n)
		}
		s.maxBody = n
		return nil
	}
}

// WithUserIDs accepts only deliveries whose X-Fal-Webhook-User-Id is one
// of ids, and rejects others with ErrUserNotAllowed. Recommended: fal signs
// every delivery it makes, including ones another fal user aimed at your
// URL, so a valid signature proves the sender is fal, not that the request
// was yours. Your user id is in the header of any delivery you receive.
func WithUserIDs(ids ...string) Option {
	return func(s *settings) error {
		if len(ids) == 0 {
			return errors.New("WithUserIDs: no user ids given")
		}
		s.userIDs = make(map[string]bool, len(ids))
		for _, id := range ids {
			if id == "" {
				return errors.New("WithUserIDs: empty user id")
			}
			s.userIDs[id] = true
		}
		return nil
	}
}

// WithClock sets the function the Verifier reads the current time from
// (default time.Now): for tests, and for checking stored deliveries as of
// the time they arrived.
func WithClock(now func() time.Time) Option {
	return func(s *settings) error {
		if now == nil {
			return errors.New("WithClock: the function is nil")
		}
		s.now = now
		return nil
	}
}
