package fal_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/falgo/fal"
)

const testKey = "falgo-TESTKEY-7f3a9c2e:s3cr3t-9d8e7f"

// recorded is one request a scripted server saw.
type recorded struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// scripted is a loopback server that answers with a script of handlers, one
// per request (the last one repeats), and records what it received.
type scripted struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []recorded
	steps []http.HandlerFunc
}

func newScripted(t *testing.T, steps ...http.HandlerFunc) *scripted {
	t.Helper()
	s := &scripted{steps: steps}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		s.mu.Unlock()
		step := s.steps[min(n, len(s.steps)-1)]
		step(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

// client returns a fal client whose every host is a path prefix of s.
func (s *scripted) client(t *testing.T, opts ...fal.Option) *fal.Client {
	t.Helper()
	base := []fal.Option{
		fal.WithKey(testKey),
		fal.WithRunHost(s.URL + "/run"),
		fal.WithQueueHost(s.URL + "/queue"),
		fal.WithRestHost(s.URL + "/rest"),
		fal.WithCDNHost(s.URL + "/cdn"),
	}
	c, err := fal.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func jsonReply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func htmlReply(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>")
	}
}
