package webhook

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxJWKSSize bounds a fetched key-set document.
const maxJWKSSize = 1 << 20

// ParseJWKS returns the Ed25519 public keys in a JSON Web Key Set
// document ({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "<base64url>"},
// ...]}). Keys of other types, keys whose "use" is not "sig" and keys whose
// "alg" is neither EdDSA nor Ed25519 are skipped; a document with no usable
// key is an error. Use it with WithPublicKeys to verify offline against a
// saved copy of fal's key set.
func ParseJWKS(data []byte) ([]ed25519.PublicKey, error) {
	var doc struct {
		Keys []struct {
			Kty string `json:"kty"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Use string `json:"use"`
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %v", err)
	}
	var keys []ed25519.PublicKey
	for _, k := range doc.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if k.Alg != "" && k.Alg != "EdDSA" && k.Alg != "Ed25519" {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.X, "="))
		if err != nil || len(raw) != ed25519.PublicKeySize {
			continue
		}
		keys = append(keys, ed25519.PublicKey(raw))
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("the key set has no Ed25519 signing key (%d keys in all)", len(doc.Keys))
	}
	return keys, nil
}

// keySource hands out the public keys to verify with: fixed keys, or a
// fetched key set cached for ttl and refetched at most once per interval
// after a failure.
type keySource struct {
	static   []ed25519.PublicKey
	url      string
	client   *http.Client
	ttl      time.Duration
	interval time.Duration

	mu          sync.Mutex
	keys        []ed25519.PublicKey
	fetchedAt   time.Time // last successful fetch
	lastAttempt time.Time // last fetch, successful or not
	lastErr     error     // the last fetch's error, nil after a success
	gen         uint64    // counts fetch attempts
	inflight    *flight   // the fetch in progress, if any
}

// get returns the keys to verify with and the generation they came from,
// fetching them when none are cached or the cache has expired (subject to
// the refetch interval after a failure). While fetches fail, the last
// keys fetched stay in use.
func (s *keySource) get(ctx context.Context, now time.Time) ([]ed25519.PublicKey, uint64, error) {
	if s.static != nil {
		return s.static, 0, nil
	}
	s.mu.Lock()
	keys, gen, lastErr := s.keys, s.gen, s.lastErr
	fresh := keys != nil && now.Sub(s.fetchedAt) < s.ttl
	may := s.mayFetchLocked(now)
	s.mu.Unlock()
	if !fresh && may {
		var err error
		keys, gen, err = s.fetch(ctx, now, gen)
		lastErr = err
	}
	switch {
	case keys != nil:
		return keys, gen, nil
	case lastErr != nil:
		return nil, gen, lastErr
	default:
		return nil, gen, ErrJWKSUnavailable
	}
}

// refresh fetches the key set again after a signature that the keys of
// generation seen did not verify, unless a fetch was made too recently.
// It returns the keys to try again with, or nil when there are no new
// ones, and the error of a failed fetch.
func (s *keySource) refresh(ctx context.Context, now time.Time, seen uint64) ([]ed25519.PublicKey, error) {
	if s.static != nil {
		return nil, nil
	}
	s.mu.Lock()
	may := s.mayFetchLocked(now)
	s.mu.Unlock()
	if !may {
		return nil, nil
	}
	keys, gen, err := s.fetch(ctx, now, seen)
	if err != nil || gen == seen {
		return nil, err
	}
	return keys, nil
}

// lastError returns the error of the last fetch, nil if it succeeded.
func (s *keySource) lastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// mayFetchLocked reports whether the refetch interval allows a fetch now.
func (s *keySource) mayFetchLocked(now time.Time) bool {
	return s.lastAttempt.IsZero() || now.Sub(s.lastAttempt) >= s.interval
}

// fetch fetches the key set unless another caller already did since
// generation seen, in which case it returns that caller's outcome. It
// returns the keys to use (the old ones if the fetch failed) and the
// fetch's error. Concurrent callers share one fetch. The fetch itself is
// detached from ctx (bounded by jwksFetchTimeout instead), so a caller
// that gives up does not fail the fetch for everyone and use up the
// refetch interval; the caller still returns as soon as ctx is done.
func (s *keySource) fetch(ctx context.Context, now time.Time, seen uint64) ([]ed25519.PublicKey, uint64, error) {
	s.mu.Lock()
	if s.gen != seen {
		defer s.mu.Unlock()
		return s.keys, s.gen, s.lastErr
	}
	f := s.inflight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		s.inflight = f
		go s.run(context.WithoutCancel(ctx), f, now)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.keys, f.gen, f.err
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.keys, s.gen, fmt.Errorf("%w: gave up waiting for the key set: %w", ErrJWKSUnavailable, ctx.Err())
	}
}

// flight is one key-set fetch in progress; done is closed when the
// outcome fields are set.
type flight struct {
	done chan struct{}
	keys []ed25519.PublicKey
	gen  uint64
	err  error
}

// run downloads the key set, records the outcome and completes f.
func (s *keySource) run(ctx context.Context, f *flight, now time.Time) {
	keys, err := s.download(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.lastAttempt = now
	s.inflight = nil
	if err != nil {
		s.lastErr = fmt.Errorf("%w: %v (is the key set URL right and reachable from here? see WithJWKSURL, or WithPublicKeys to verify offline)", ErrJWKSUnavailable, err)
	} else {
		s.keys, s.fetchedAt, s.lastErr = keys, now, nil
	}
	f.keys, f.gen, f.err = s.keys, s.gen, s.lastErr
	close(f.done)
}

// download GETs and parses the key set.
func (s *keySource) download(ctx context.Context) ([]ed25519.PublicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %v", s.url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the key set: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("fetching %s: HTTP %d %s", s.url, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the key set from %s: %v", s.url, err)
	}
	if len(data) > maxJWKSSize {
		return nil, fmt.Errorf("the key set at %s is larger than %d bytes", s.url, maxJWKSSize)
	}
	keys, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.url, err)
	}
	return keys, nil
}
