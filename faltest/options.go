package faltest

import (
	"errors"
	"fmt"
	"math"
	"net"
	"time"
)

// Option configures a Server; pass options to NewServer or Start.
type Option func(*settings)

// settings is what the options build; Start validates it.
type settings struct {
	addr         string
	key          string
	demoApps     bool
	demoDelay    time.Duration
	demoAppOpts  []AppOption
	apps         []appSpec
	faultSeed    int64
	faultRules   []FaultRule
	pingInterval time.Duration
	webhookTries int
	webhookWait  time.Duration
	retention    time.Duration
	apiKeys      []string
	credits      float64
	tls          bool
	errs         []error
}

type appSpec struct {
	id      string
	handler HandlerFunc
	opts    []AppOption
}

// Defaults of the Server's settings.
const (
	// DefaultDemoDelay is how long a demo app works on one request, spread
	// over its progress steps; change it with WithDemoDelay.
	DefaultDemoDelay = 30 * time.Millisecond
	// DefaultPingInterval is how often a status stream with nothing new to
	// say sends an SSE comment to keep the connection open, as fal does.
	DefaultPingInterval = 15 * time.Second
	// DefaultResultRetention is how long a completed queue request stays
	// fetchable (fal keeps results for an hour).
	DefaultResultRetention = time.Hour
)

func defaultSettings() settings {
	return settings{
		addr:         "127.0.0.1:0",
		key:          DefaultKey,
		demoApps:     true,
		demoDelay:    DefaultDemoDelay,
		pingInterval: DefaultPingInterval,
		webhookTries: 4,
		webhookWait:  50 * time.Millisecond,
		retention:    DefaultResultRetention,
		credits:      DefaultCredits,
	}
}

func (c *settings) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// WithAddr sets the address to listen on (default "127.0.0.1:0", a free
// port on the loopback interface). Any host:port net.Listen accepts works;
// the server has no TLS and no real authentication, so keep it on loopback
// unless you know what you are doing.
func WithAddr(addr string) Option {
	return func(c *settings) {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			c.fail("WithAddr(%q): want host:port, e.g. \"127.0.0.1:8080\": %v", addr, err)
			return
		}
		c.addr = addr
	}
}

// WithKey sets the API key the server accepts (default DefaultKey). Clients
// must send "Authorization: Key <key>". It is the server's admin key: it
// works on every endpoint, the Platform API's admin ones included.
func WithKey(key string) Option {
	return func(c *settings) {
		if err := checkKeyText(key); err != nil {
			c.fail("WithKey: %v", err)
			return
		}
		c.key = key
	}
}

// checkKeyText checks a key can be sent as "Authorization: Key <key>".
func checkKeyText(key string) error {
	if key == "" {
		return fmt.Errorf("the key is empty")
	}
	for _, r := range key {
		if r < 0x21 || r > 0x7e {
			return fmt.Errorf("the key may only hold printable ASCII without spaces")
		}
	}
	return nil
}

// WithAPIKey adds a key of the API scope, as fal's "API" keys: it works
// on the model APIs (run, queue, streams, realtime, storage) and on the
// Platform API endpoints that need no admin key (models, pricing,
// estimates, analytics, the request listing); the admin endpoints (usage,
// payload deletion, billing, keys) answer it 403 with an
// authorization_error. A key of the form "key_id:key_secret" is listed by
// GET /api/v1/keys under that key_id. Give the option once per key.
func WithAPIKey(key string) Option {
	return func(c *settings) {
		if err := checkKeyText(key); err != nil {
			c.fail("WithAPIKey: %v", err)
			return
		}
		c.apiKeys = append(c.apiKeys, key)
	}
}

// WithCredits sets the account balance, in USD, the server starts with
// (default DefaultCredits). Every finished request costs its billable
// units times its app's unit price (see Price); GET
// /api/v1/account/billing?expand=credits and Server.Credits report what
// is left. The balance may go below zero: the server does not refuse
// requests for lack of credits.
func WithCredits(usd float64) Option {
	return func(c *settings) {
		if math.IsNaN(usd) || math.IsInf(usd, 0) || usd < 0 {
			c.fail("WithCredits(%v): give a finite amount of USD, 0 or more", usd)
			return
		}
		c.credits = usd
	}
}

// WithoutDemoApps leaves out the built-in demo apps (see the package
// documentation); only apps added with WithApp or Register exist.
func WithoutDemoApps() Option {
	return func(c *settings) { c.demoApps = false }
}

// WithDemoDelay sets how long each demo app request takes (default
// DefaultDemoDelay); 0 makes them answer as fast as they can. falgo/echo
// never waits unless its input asks it to.
func WithDemoDelay(d time.Duration) Option {
	return func(c *settings) {
		if d < 0 {
			c.fail("WithDemoDelay: negative duration %v", d)
			return
		}
		c.demoDelay = d
	}
}

// WithDemoAppOptions applies opts to every demo app, after the options of
// its own (metadata, price, schema): Concurrency, StartupDelay and
// ProcessingDelay make the demos behave like a busy fal app, with real
// queue positions and cold starts. An invalid option makes Start fail.
func WithDemoAppOptions(opts ...AppOption) Option {
	return func(c *settings) {
		var probe appConfig
		for _, o := range opts {
			o(&probe)
		}
		if len(probe.errs) > 0 {
			c.errs = append(c.errs, fmt.Errorf("WithDemoAppOptions: %w", errors.Join(probe.errs...)))
			return
		}
		c.demoAppOpts = append(c.demoAppOpts, opts...)
	}
}

// WithApp registers an app, like Server.Register; an invalid id makes
// NewServer panic and Start fail.
func WithApp(id string, h HandlerFunc, opts ...AppOption) Option {
	return func(c *settings) {
		c.apps = append(c.apps, appSpec{id: id, handler: h, opts: opts})
	}
}

// WithFaults injects faults from the start, like Server.SetFaults.
func WithFaults(seed int64, rules ...FaultRule) Option {
	return func(c *settings) {
		if err := validateRules(rules); err != nil {
			c.errs = append(c.errs, fmt.Errorf("WithFaults: %w", err))
			return
		}
		c.faultSeed = seed
		c.faultRules = append([]FaultRule(nil), rules...)
	}
}

// WithPingInterval sets how often an idle status stream sends an SSE
// comment (default DefaultPingInterval, fal's 15 s). Tests use a short one
// to see the keep-alives.
func WithPingInterval(d time.Duration) Option {
	return func(c *settings) {
		if d <= 0 {
			c.fail("WithPingInterval: the interval must be positive, got %v", d)
			return
		}
		c.pingInterval = d
	}
}

// WithWebhookRetries sets how many times a failed webhook delivery is
// retried (default 3) and the wait before the first retry (default 50 ms,
// doubling after each attempt). Deliveries stop when the Server closes.
func WithWebhookRetries(retries int, firstWait time.Duration) Option {
	return func(c *settings) {
		if retries < 0 || retries > 20 {
			c.fail("WithWebhookRetries: retries must be between 0 and 20, got %d", retries)
			return
		}
		if firstWait < 0 {
			c.fail("WithWebhookRetries: negative wait %v", firstWait)
			return
		}
		c.webhookTries = retries + 1
		c.webhookWait = firstWait
	}
}

// WithResultRetention sets how long completed queue requests stay
// fetchable (default DefaultResultRetention); after that their status and
// result answer 404, as fal's do once they expire.
func WithResultRetention(d time.Duration) Option {
	return func(c *settings) {
		if d <= 0 {
			c.fail("WithResultRetention: the retention must be positive, got %v", d)
			return
		}
		c.retention = d
	}
}
