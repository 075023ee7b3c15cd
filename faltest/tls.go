package faltest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"time"

	fal "github.com/falgo/fal"
)

// WithTLS serves HTTPS instead of plain HTTP, with a certificate the
// server makes when it starts (for 127.0.0.1, ::1 and localhost, valid for
// 30 days; Server.CertPEM holds it), so that clients that always put
// https:// in front of a host reach the server unpatched.
//
// Such clients (the official Python client builds https://{FAL_RUN_HOST}/
// {app} and https://{FAL_QUEUE_RUN_HOST}/{app}) also leave out the /run
// and /queue path prefixes, so with WithTLS the server listens on two more
// loopback ports: Server.RunHost serves fal.run's paths at its root and
// Server.QueueHost queue.fal.run's. Server.URL (now https://…) serves
// everything under the usual prefixes, and every URL the server hands out
// is under it. Env exports the two hosts bare (FAL_RUN_HOST=127.0.0.1:P),
// and Client trusts the certificate. Other processes trust it through the
// file the caller writes CertPEM to (SSL_CERT_FILE for Go, Python's httpx
// and OpenSSL; NODE_EXTRA_CA_CERTS for Node).
func WithTLS() Option {
	return func(c *settings) { c.tls = true }
}

// tlsState is what WithTLS adds to a Server.
type tlsState struct {
	config *tls.Config
	pool   *x509.CertPool
	hosts  []*http.Server // the RunHost and QueueHost listeners
}

// certValidity is how long the generated certificate is valid.
const certValidity = 30 * 24 * time.Hour

// newCertificate makes a self-signed ECDSA certificate for the loopback
// names, returning it and its PEM encoding.
func newCertificate(now time.Time) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "faltest local server", Organization: []string{"falgo faltest"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // its own root, so a client can trust this one file
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pemBytes, nil
}

// setupTLS prepares the certificate and the host listeners of WithTLS;
// the main listener's address is addr. It sets URL, CertPEM, RunHost and
// QueueHost. The host listeners start serving in startTLSHosts.
func (s *Server) setupTLS(addr net.Addr) error {
	cert, pemBytes, err := newCertificate(time.Now())
	if err != nil {
		return fmt.Errorf("making the TLS certificate: %w", err)
	}
	s.CertPEM = pemBytes
	s.tls.pool = x509.NewCertPool()
	s.tls.pool.AddCert(cert.Leaf)
	s.tls.config = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.URL = "https://" + addr.String()
	return nil
}

// startTLSHosts listens on two more loopback ports (the main listener's
// host, any port) for fal.run's and queue.fal.run's paths at the root.
func (s *Server) startTLSHosts(host string) error {
	for _, h := range []struct {
		prefix string
		dst    *string
	}{{"/run", &s.RunHost}, {"/queue", &s.QueueHost}} {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return fmt.Errorf("listening for the %s host: %w", h.prefix, err)
		}
		*h.dst = ln.Addr().String()
		srv := &http.Server{
			Handler:           prefixHandler(h.prefix, http.HandlerFunc(s.serveHTTP)),
			ReadHeaderTimeout: 30 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return s.ctx },
			TLSConfig:         s.tls.config.Clone(),
		}
		s.tls.hosts = append(s.tls.hosts, srv)
		go func() { _ = srv.ServeTLS(ln, "", "") }()
	}
	return nil
}

// prefixHandler serves a request for /x as next would serve prefix+/x.
func prefixHandler(prefix string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = prefix + r.URL.Path
		if r.URL.RawPath != "" {
			r2.URL.RawPath = prefix + r.URL.RawPath
		}
		next.ServeHTTP(w, r2)
	})
}

// closeTLSHosts closes the host listeners and their connections.
func (s *Server) closeTLSHosts() {
	for _, h := range s.tls.hosts {
		_ = h.Close()
	}
}

// hosts are the values of FAL_RUN_HOST, FAL_QUEUE_RUN_HOST, FAL_REST_HOST,
// FAL_CDN_HOST and FAL_API_HOST that reach this server, the one source of
// Client and Env. With WithTLS, run and queue are the bare host listeners.
func (s *Server) hosts() (run, queue, rest, cdn, api string) {
	run, queue = s.URL+"/run", s.URL+"/queue"
	if s.RunHost != "" {
		run, queue = s.RunHost, s.QueueHost
	}
	return run, queue, s.URL + "/rest", s.URL + "/cdn", s.URL + "/api"
}

// trustOption is the fal option that makes a client trust the server's
// certificate; nil without WithTLS.
func (s *Server) trustOption() fal.Option {
	if s.tls.pool == nil {
		return nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: s.tls.pool, MinVersion: tls.VersionTLS12}
	t.ForceAttemptHTTP2 = true
	return fal.WithHTTPClient(&http.Client{Transport: t})
}
