package faltest

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// FaultKind is what an injected fault does.
type FaultKind int

const (
	// TooManyRequests answers 429 with fal's JSON error, the request id
	// header and, if the rule's RetryAfter is positive, a Retry-After
	// header in whole seconds (rounded up).
	TooManyRequests FaultKind = iota + 1
	// Ingress502 answers 502 the way fal's ingress (nginx) does: an HTML
	// body containing "nginx" and no x-fal-request-id header, which
	// clients treat as retryable.
	Ingress502
	// Ingress503 is Ingress502 with status 503.
	Ingress503
	// Ingress504 is Ingress502 with status 504.
	Ingress504
	// AppError500 answers 500 with fal's JSON error and the request id
	// header: an app failure, which clients must not retry.
	AppError500
	// ConnReset closes the TCP connection (with a reset where the platform
	// allows it) before any response is written: the client sees a
	// transport error.
	ConnReset
	// Latency waits the rule's Latency, then lets the request through.
	Latency
)

var kindNames = map[FaultKind]string{
	TooManyRequests: "TooManyRequests",
	Ingress502:      "Ingress502",
	Ingress503:      "Ingress503",
	Ingress504:      "Ingress504",
	AppError500:     "AppError500",
	ConnReset:       "ConnReset",
	Latency:         "Latency",
}

// String names the kind.
func (k FaultKind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// FaultRule injects one kind of fault into the requests of one route.
//
// Routes are named: "run", "stream", "realtime", "submit", "status",
// "status_stream", "result", "cancel" (the app and queue endpoints),
// "token", "cdn_token", "upload", "multipart_initiate", "multipart_part",
// "multipart_complete", "storage_initiate", "signed_put", "realtime_token"
// (storage and tokens), "platform" (the Platform API under /api, whose
// 429 and 500 answers use its error envelope); "" or "*" matches every
// route.
//
// Which matching requests get the fault: if Every is set, every Every-th
// one (the Every-th, 2·Every-th, ...); else if Rate is set, each with
// probability Rate, drawn deterministically from the seed given to
// WithFaults or SetFaults and the request's number on that rule (so a
// sequential test sees the same faults on every run); else all of them.
// Count, if set, caps how many faults the rule injects in total: a rule
// {Route: "run", Kind: TooManyRequests, Count: 2} fails the first two runs.
//
// Rules are tried in order; the first one that fires decides, except that
// a Latency rule waits and lets the next rules be tried.
type FaultRule struct {
	Route string
	Kind  FaultKind
	// Rate is the probability (0..1) that a matching request gets the
	// fault; 0 means "not random" (see Every and Count).
	Rate float64
	// Every injects the fault into every n-th matching request.
	Every int
	// Count caps the faults this rule injects; 0 means no cap.
	Count int
	// RetryAfter is sent as Retry-After with TooManyRequests.
	RetryAfter time.Duration
	// Latency delays the request before the fault (or, for the Latency
	// kind, before serving it normally).
	Latency time.Duration
}

func validateRules(rules []FaultRule) error {
	var errs []error
	for i, r := range rules {
		if _, ok := kindNames[r.Kind]; !ok {
			errs = append(errs, fmt.Errorf("rule %d: unknown Kind %d (use a FaultKind constant such as faltest.TooManyRequests)", i, int(r.Kind)))
		}
		if math.IsNaN(r.Rate) || r.Rate < 0 || r.Rate > 1 {
			errs = append(errs, fmt.Errorf("rule %d: Rate %v is not between 0 and 1", i, r.Rate))
		}
		if r.Every < 0 || r.Count < 0 {
			errs = append(errs, fmt.Errorf("rule %d: Every and Count must not be negative", i))
		}
		if r.RetryAfter < 0 || r.Latency < 0 {
			errs = append(errs, fmt.Errorf("rule %d: RetryAfter and Latency must not be negative", i))
		}
		if r.Kind == Latency && r.Latency == 0 {
			errs = append(errs, fmt.Errorf("rule %d: a Latency rule needs a positive Latency", i))
		}
	}
	return errors.Join(errs...)
}

// faultState holds the active rules; the zero value injects nothing.
type faultState struct {
	active atomic.Bool
	set    atomic.Pointer[faultSet]
}

type faultSet struct {
	seed  uint64
	rules []activeRule
}

type activeRule struct {
	FaultRule
	seen     atomic.Int64 // matching requests
	injected atomic.Int64
}

func (f *faultState) install(seed int64, rules []FaultRule) {
	fs := &faultSet{seed: uint64(seed), rules: make([]activeRule, len(rules))}
	for i := range rules {
		fs.rules[i].FaultRule = rules[i]
	}
	f.set.Store(fs)
	f.active.Store(len(rules) > 0)
}

// SetFaults replaces the fault rules (and restarts their counting); with no
// rules it turns fault injection off. It returns an error, and changes
// nothing, if a rule is invalid.
func (s *Server) SetFaults(seed int64, rules ...FaultRule) error {
	if err := validateRules(rules); err != nil {
		return fmt.Errorf("faltest: SetFaults: %w", err)
	}
	s.faults.install(seed, rules)
	return nil
}

// mix is splitmix64's finaliser: a good 64-bit hash.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// fires decides whether rule i fires for its n-th (1-based) matching
// request.
func (fs *faultSet) fires(i int, r *activeRule, n int64) bool {
	switch {
	case r.Every > 0:
		if n%int64(r.Every) != 0 {
			return false
		}
	case r.Rate > 0:
		h := mix(fs.seed ^ mix(uint64(i)+1) ^ mix(uint64(n)<<20))
		if float64(h>>11)/(1<<53) >= r.Rate {
			return false
		}
	}
	if r.Count > 0 {
		if r.injected.Add(1) > int64(r.Count) {
			return false
		}
		return true
	}
	r.injected.Add(1)
	return true
}

// injectFault applies the rules for route to this request. It reports true
// if it answered (or dropped) the request itself.
func (s *Server) injectFault(route string, c *routeCounter, w http.ResponseWriter, r *http.Request) bool {
	fs := s.faults.set.Load()
	if fs == nil {
		return false
	}
	for i := range fs.rules {
		rule := &fs.rules[i]
		if rule.Route != "" && rule.Route != "*" && rule.Route != route {
			continue
		}
		n := rule.seen.Add(1)
		if !fs.fires(i, rule, n) {
			continue
		}
		c.faults.Add(1)
		if rule.Latency > 0 {
			if sleepCtx(r.Context(), rule.Latency) != nil {
				return true // the caller gave up
			}
		}
		if rule.Kind == Latency {
			continue
		}
		writeFault(route, rule, w)
		return true
	}
	return false
}

// writeFault answers with the fault. The Platform API route answers 429
// and 500 in its own error envelope.
func writeFault(route string, rule *activeRule, w http.ResponseWriter) {
	switch rule.Kind {
	case TooManyRequests:
		id := newID()
		w.Header().Set(headerRequestID, id)
		if rule.RetryAfter > 0 {
			secs := int64(math.Ceil(rule.RetryAfter.Seconds()))
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		}
		if route == "platform" {
			writePlatformError(w, http.StatusTooManyRequests, "rate_limited", "rate limit exceeded (injected by faltest)", platformDocs, id)
			return
		}
		writeError(w, http.StatusTooManyRequests, "Too many requests: concurrency limit exceeded (injected by faltest)", "")
	case Ingress502, Ingress503, Ingress504:
		code := map[FaultKind]int{Ingress502: 502, Ingress503: 503, Ingress504: 504}[rule.Kind]
		text := http.StatusText(code)
		body := fmt.Sprintf("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", code, text, code, text)
		h := w.Header()
		h.Del(headerRequestID)
		h.Set("Content-Type", "text/html")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	case AppError500:
		id := newID()
		w.Header().Set(headerRequestID, id)
		if route == "platform" {
			writePlatformError(w, http.StatusInternalServerError, "server_error", "internal server error (injected by faltest)", platformDocs, id)
			return
		}
		writeError(w, http.StatusInternalServerError, "Internal Server Error (injected by faltest)", "")
	case ConnReset:
		resetConn(w)
	}
}

// resetConn drops the connection without answering: a TCP reset where
// possible, else a plain close.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 or a wrapped writer: abort the handler, which makes
		// net/http drop the connection or stream.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// routeStats counts requests and faults per route.
type routeStats struct {
	mu     sync.Mutex
	routes map[string]*routeCounter
}

type routeCounter struct {
	requests atomic.Int64
	faults   atomic.Int64
}

// counters returns the counters of a route, creating them on first use.
func (rs *routeStats) counters(name string) *routeCounter {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.routes == nil {
		rs.routes = make(map[string]*routeCounter)
	}
	c := rs.routes[name]
	if c == nil {
		c = &routeCounter{}
		rs.routes[name] = c
	}
	return c
}

// Stats is a snapshot of what a Server has served.
type Stats struct {
	// Requests counts the requests each route received (see FaultRule for
	// the route names), including those that got an injected fault.
	Requests map[string]int
	// Faults counts the faults injected per route (Latency included).
	Faults map[string]int
	// WebhooksDelivered counts webhook deliveries the receiver accepted
	// with a 2xx; WebhookAttempts counts every delivery attempt.
	WebhooksDelivered int
	WebhookAttempts   int
}

// Routes lists the route names that received requests, sorted.
func (st Stats) Routes() []string {
	out := make([]string, 0, len(st.Requests))
	for name, n := range st.Requests {
		if n > 0 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Stats returns the server's counters so far.
func (s *Server) Stats() Stats {
	st := Stats{Requests: map[string]int{}, Faults: map[string]int{}}
	s.stats.mu.Lock()
	for name, c := range s.stats.routes {
		st.Requests[name] = int(c.requests.Load())
		if n := c.faults.Load(); n > 0 {
			st.Faults[name] = int(n)
		}
	}
	s.stats.mu.Unlock()
	st.WebhooksDelivered = int(s.webhooksDelivered.Load())
	st.WebhookAttempts = int(s.webhookAttempts.Load())
	return st
}
