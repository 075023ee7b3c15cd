package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/falgo/fal/faltest"
)

// localTLSHelp is the part of `falgo local --help` about --tls.
const localTLSHelp = `--tls serves HTTPS with a certificate made at start (for 127.0.0.1, ::1
and localhost), written to --cert-file or to a new file in the temporary
directory (removed at stop), whose path it prints. Clients that always
put https:// in front of a host and no path prefix after it (the official
Python client builds https://{FAL_RUN_HOST}/{app}) then reach the server
unpatched: the run and queue hosts get a port each and are exported bare
(FAL_RUN_HOST=127.0.0.1:PORT), and SSL_CERT_FILE and NODE_EXTRA_CA_CERTS
name the certificate, so Go, Python (httpx, OpenSSL) and Node trust it.
SSL_CERT_FILE replaces the system's trusted roots for Go and OpenSSL
programs in the shell that loads the exports: use that shell for the
local server only. The setup for the clients' hard-coded hosts (Python's
REST and CDN URLs, the JS client's hosts) is printed on stderr.`

// writeCert writes the server's certificate to path, or to a new file in
// the temporary directory when path is "", and returns the path and a
// function that removes a file it created.
func writeCert(path string, pemBytes []byte) (string, func(), error) {
	if path != "" {
		if err := os.WriteFile(path, pemBytes, 0o644); err != nil {
			return "", nil, fmt.Errorf("cannot write the certificate: %w", err)
		}
		return path, func() {}, nil
	}
	f, err := os.CreateTemp("", "falgo-local-*.pem")
	if err != nil {
		return "", nil, fmt.Errorf("cannot write the certificate: %w", err)
	}
	name := f.Name()
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		os.Remove(name)
		return "", nil, fmt.Errorf("cannot write the certificate: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", nil, fmt.Errorf("cannot write the certificate: %w", err)
	}
	return name, func() { os.Remove(name) }, nil
}

// tlsAdvice is the ready-to-paste setup of the official Python and JS
// clients for a --tls server, whose certificate is at cert.
func tlsAdvice(srv *faltest.Server, cert string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "falgo local: HTTPS; certificate in %s; run host %s, queue host %s\n", cert, srv.RunHost, srv.QueueHost)
	fmt.Fprintf(&b, `
Python (fal_client), in a shell that loaded the exports: it reads FAL_KEY,
FAL_RUN_HOST and FAL_QUEUE_RUN_HOST, and httpx reads SSL_CERT_FILE; its REST
and CDN hosts are constants, set them before the first call:

    import fal_client, fal_client.client
    fal_client.client.REST_URL = "%[1]s/rest"
    fal_client.client.CDN_URL = "%[1]s/cdn"

JavaScript (@fal-ai/client), with NODE_EXTRA_CA_CERTS from the exports in
Node's environment: its hosts are fixed, so map them in a middleware:

    fal.config({
      credentials: process.env.FAL_KEY,
      requestMiddleware: async (req) => ({ ...req, url: req.url
        .replace("https://queue.fal.run/", "https://%[2]s/")
        .replace("https://fal.run/", "https://%[3]s/")
        .replace("https://rest.fal.ai/", "%[1]s/rest/") }),
    });

`, srv.URL, srv.QueueHost, srv.RunHost)
	return b.String()
}
