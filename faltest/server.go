package faltest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	fal "github.com/falgo/fal"
)

// DefaultKey is the API key a Server accepts unless WithKey says otherwise.
const DefaultKey = "faltest-key"

// Server is a fal-compatible HTTP server listening on 127.0.0.1, like an
// httptest.Server. Every fal host is a path prefix of URL: /run (sync runs,
// streaming, realtime websockets), /queue, /rest and /cdn. Every URL it hands
// out (queue URLs, file URLs, upload URLs) is absolute under URL.
//
// A Server is safe for concurrent use. Close it when done.
type Server struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:41234", with no
	// trailing slash.
	URL string
	// Key is the API key the server accepts: requests to /run and /queue
	// need the header "Authorization: Key <Key>". It has the admin scope,
	// so every Platform API endpoint (/api) works with it; WithAPIKey adds
	// keys of the API scope.
	Key string
	// CertPEM is the PEM-encoded certificate the server presents with
	// WithTLS (a self-signed root for the loopback names); nil otherwise.
	CertPEM []byte
	// RunHost and QueueHost are set with WithTLS: the host:port of the
	// listeners that serve fal.run's and queue.fal.run's paths at their
	// root, for clients that build https://{host}/{app}.
	RunHost, QueueHost string

	cfg      settings
	tls      tlsState
	listener net.Listener
	http     *http.Server
	mux      *http.ServeMux

	// ctx is cancelled by Close; every job, stream and webhook delivery
	// started by the server derives from it.
	ctx    context.Context
	cancel context.CancelFunc
	// track counts running handlers and the goroutines the server started
	// (jobs, webhook deliveries); Close waits for them.
	track tracker

	appsMu sync.Mutex                      // serialises Register
	appsRO atomic.Pointer[map[string]*app] // copy-on-write: lookups take no lock

	queue jobTable

	faults faultState
	stats  routeStats

	webhookKey   ed25519.PrivateKey
	webhookKeyID string
	webhookHTTP  *http.Client

	webhooksDelivered atomic.Int64
	webhookAttempts   atomic.Int64

	files    fileStore     // uploaded and generated files (storage.go)
	realtime realtimeState // realtime websocket sessions (realtime.go)

	keys keyTable // accepted keys and their scopes (platform_keys.go)
	hist history  // request history and credits (history.go)
}

// NewServer starts a Server on 127.0.0.1 on a free port. Like
// httptest.NewServer it panics if it cannot listen or if an option is
// invalid; use Start to get the error instead.
func NewServer(opts ...Option) *Server {
	s, err := Start(opts...)
	if err != nil {
		panic(err)
	}
	return s
}

// Start starts a Server and returns an error if an option is invalid or the
// address cannot be listened on. It is NewServer for programs (such as
// `falgo local`) that choose their own address with WithAddr.
func Start(opts ...Option) (*Server, error) {
	cfg := defaultSettings()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if len(cfg.errs) > 0 {
		return nil, fmt.Errorf("faltest: %w", errors.Join(cfg.errs...))
	}
	s := &Server{
		Key: cfg.key,
		cfg: cfg,
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.queue.init()
	s.hist.init(cfg.credits)
	if err := s.initKeys(time.Now()); err != nil {
		return nil, fmt.Errorf("faltest: %w", err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("faltest: generating the webhook signing key: %w", err)
	}
	s.webhookKey = priv
	s.webhookKeyID = "faltest-" + hex.EncodeToString(pub[:8])
	// Its own transport, so that Close can drop its idle connections.
	s.webhookHTTP = &http.Client{Timeout: 10 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}

	if cfg.demoApps {
		s.registerDemoApps()
	}
	for _, a := range cfg.apps {
		if err := s.Register(a.id, a.handler, a.opts...); err != nil {
			return nil, fmt.Errorf("faltest: WithApp: %w", err)
		}
	}
	s.faults.install(cfg.faultSeed, cfg.faultRules)

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("faltest: listening on %s: %w", cfg.addr, err)
	}
	s.listener = ln
	s.URL = "http://" + ln.Addr().String()
	if cfg.tls {
		if err := s.setupTLS(ln.Addr()); err != nil {
			ln.Close()
			return nil, fmt.Errorf("faltest: %w", err)
		}
	}
	s.mux = http.NewServeMux()
	s.mount(s.mux)
	s.http = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		Protocols:         serverProtocols(),
	}
	if cfg.tls {
		s.http.TLSConfig = s.tls.config
		s.http.Protocols.SetHTTP2(true)
		host, _, _ := net.SplitHostPort(ln.Addr().String())
		if err := s.startTLSHosts(host); err != nil {
			ln.Close()
			s.closeTLSHosts()
			return nil, fmt.Errorf("faltest: %w", err)
		}
		go func() { _ = s.http.ServeTLS(ln, "", "") }()
		return s, nil
	}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// serverProtocols are what the server speaks on its one listener: HTTP/1.1
// and HTTP/2 without TLS (h2c with prior knowledge, as a client that
// knows the server speaks it sends), so that a client can be measured
// over HTTP/2 as fal's hosts serve it (over TLS) without a certificate.
// HTTP/1.1 stays for websockets and for clients that speak nothing else.
func serverProtocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

// mount registers every route. A owns /run/, /queue/ and the webhook JWKS;
// storage.go and realtime.go add theirs under /rest/ and /cdn/, platform.go
// the Platform API under /api/.
func (s *Server) mount(mux *http.ServeMux) {
	s.mountRun(mux)
	s.mountQueue(mux)
	mux.Handle("/rest/.well-known/jwks.json", s.route("jwks", s.serveJWKS))
	s.mountStorage(mux)
	s.mountRealtime(mux)
	s.mountPlatform(mux)
	mux.Handle("/", s.route("not_found", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Not Found: no faltest route for %s %s", r.Method, r.URL.Path), "")
	}))
}

// Close shuts the server down: it cancels every running job, stream,
// websocket and webhook delivery, closes the listener and all connections,
// and waits for the handlers and goroutines it started (for at most
// closeWait; a handler that ignores its context is reported, not waited
// for forever). Close is idempotent.
func (s *Server) Close() {
	zero, first := s.track.close()
	if !first {
		return
	}
	s.cancel()
	s.closeRealtime()
	_ = s.http.Close()
	s.closeTLSHosts()
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-zero:
	case <-t.C:
		log.Printf("faltest: Server.Close: %d handlers or jobs still running after %v; an app handler is probably ignoring its context", s.track.n.Load(), closeWait)
	}
	s.webhookHTTP.CloseIdleConnections()
	s.closeStorage()
}

// closeWait bounds how long Close waits for handlers to return.
const closeWait = 10 * time.Second

// serveHTTP is the server's handler: the mux, counted so Close can wait.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.track.add() {
		writeError(w, http.StatusServiceUnavailable, "the faltest server is shutting down", "")
		return
	}
	defer s.track.done()
	s.mux.ServeHTTP(w, r)
}

// Client returns a fal client pointed at this server with its key; opts are
// applied after the server's own (ClientOptions). It panics with a clear
// message if an option is invalid, since that is a bug in the calling test.
func (s *Server) Client(opts ...fal.Option) *fal.Client {
	c, err := fal.NewClient(append(s.ClientOptions(), opts...)...)
	if err != nil {
		panic(fmt.Sprintf("faltest: Server.Client: invalid option: %v", err))
	}
	return c
}

// ClientOptions are the options that point a fal client at this server:
// its key, every host, and with WithTLS the trust of its certificate. They
// are what Client uses, for callers that build the client themselves.
func (s *Server) ClientOptions() []fal.Option {
	run, queue, rest, cdn, api := s.hosts()
	opts := []fal.Option{
		fal.WithKey(s.Key),
		fal.WithRunHost(run),
		fal.WithQueueHost(queue),
		fal.WithRestHost(rest),
		fal.WithCDNHost(cdn),
		fal.WithAPIHost(api),
	}
	if t := s.trustOption(); t != nil {
		opts = append(opts, t)
	}
	return opts
}

// Env returns the environment variables that point a fal client (falgo,
// the Python or the JS client) at this server: FAL_KEY (Server.Key, an
// admin key), FAL_RUN_HOST, FAL_QUEUE_RUN_HOST, FAL_REST_HOST,
// FAL_CDN_HOST and FAL_API_HOST (the Platform API, <URL>/api), in that
// order, as "NAME=value" strings ready for exec.Cmd.Env. The official
// Python and JS clients read only some of them. With WithTLS the run and
// queue hosts are bare (RunHost, QueueHost), as the Python client wants
// them; the process also needs to trust CertPEM.
func (s *Server) Env() []string {
	run, queue, rest, cdn, api := s.hosts()
	return []string{
		"FAL_KEY=" + s.Key,
		"FAL_RUN_HOST=" + run,
		"FAL_QUEUE_RUN_HOST=" + queue,
		"FAL_REST_HOST=" + rest,
		"FAL_CDN_HOST=" + cdn,
		"FAL_API_HOST=" + api,
	}
}

// headerRequestID is the response header carrying fal's request id
// (x-fal-request-id), in canonical form so setting it costs no allocation.
const headerRequestID = "X-Fal-Request-Id"

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"detail":"faltest: encoding the response failed"}`)
	}
	writeRawJSON(w, status, b)
}

// writeRawJSON writes already encoded JSON.
func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// falError is fal's error body.
type falError struct {
	Detail    any    `json:"detail"`
	ErrorType string `json:"error_type,omitempty"`
}

// writeError writes fal's error JSON {"detail": ..., "error_type": ...},
// with the x-fal-error-type header when errorType is not empty.
func writeError(w http.ResponseWriter, status int, detail any, errorType string) {
	if errorType != "" {
		w.Header().Set("x-fal-error-type", errorType)
	}
	writeJSON(w, status, falError{Detail: detail, ErrorType: errorType})
}

// checkKey reports whether r carries "Authorization: Key <key>" with a
// key the server accepts: Server.Key, a WithAPIKey key, or one created
// through POST /api/v1/keys and not revoked.
func (s *Server) checkKey(r *http.Request) bool {
	return s.authKey(r) != nil
}

// checkKeyOrToken is checkKey, or, for a request without Authorization
// (the JS client's "client" connection mode), a temporary token from POST
// /rest/tokens/ in ?fal_jwt_token= that allows app.
func (s *Server) checkKeyOrToken(r *http.Request, app string) bool {
	if s.checkKey(r) {
		return true
	}
	tok := r.URL.Query().Get("fal_jwt_token")
	return r.Header.Get("Authorization") == "" && tok != "" && s.realtime.verify(tok, app, time.Now()) == nil
}

// unauthorized answers 401 the way fal does when the key is missing or wrong.
func (s *Server) unauthorized(w http.ResponseWriter) {
	writeError(w, http.StatusUnauthorized,
		"Authentication is required to access this resource: send the header \"Authorization: Key <your key>\" (faltest's key is in Server.Key)", "")
}

// route wraps h for the named route: it counts the request, applies the
// fault rules for that route (which may answer instead of h) and gives the
// response a fresh x-fal-request-id header, which h may replace.
func (s *Server) route(name string, h http.HandlerFunc) http.Handler {
	counters := s.stats.counters(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counters.requests.Add(1)
		if s.faults.active.Load() {
			if s.injectFault(name, counters, w, r) {
				return
			}
		}
		w.Header()[headerRequestID] = []string{newID()}
		h(w, r)
	})
}

// newID returns a random UUID (version 4), the form of fal's request ids.
// math/rand/v2's generator is enough for ids in a test server and, unlike
// crypto/rand, costs no system call on the request path.
func newID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], mrand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], mrand.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// goTracked runs f in a goroutine that Close waits for. It reports false
// (and does not run f) once the server is closing.
func (s *Server) goTracked(f func()) bool {
	if !s.track.add() {
		return false
	}
	go func() {
		defer s.track.done()
		f()
	}()
	return true
}

// tracker counts work in flight and tells Close when it is all done. add
// and done are lock-free: they are on every request's path.
type tracker struct {
	n      atomic.Int64
	closed atomic.Bool
	once   sync.Once
	zero   chan struct{}
	init   sync.Once
}

func (t *tracker) zeroChan() chan struct{} {
	t.init.Do(func() { t.zero = make(chan struct{}) })
	return t.zero
}

// add counts one more unit of work; it reports false once closed.
func (t *tracker) add() bool {
	t.n.Add(1)
	if t.closed.Load() {
		t.done()
		return false
	}
	return true
}

// done ends a unit of work.
func (t *tracker) done() {
	if t.n.Add(-1) == 0 && t.closed.Load() {
		t.signal()
	}
}

func (t *tracker) signal() {
	t.once.Do(func() { close(t.zeroChan()) })
}

// close refuses new work and returns a channel closed when all work is
// done, and whether this was the first call.
func (t *tracker) close() (<-chan struct{}, bool) {
	z := t.zeroChan()
	if t.closed.Swap(true) {
		return z, false
	}
	if t.n.Load() == 0 {
		t.signal()
	}
	return z, true
}
