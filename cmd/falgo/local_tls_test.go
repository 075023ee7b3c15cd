package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// `falgo local --tls` serves HTTPS with bare run and queue hosts, writes
// its certificate where --cert-file says, and prints the Python and JS
// setup on stderr.
func TestLocalTLSServesBareHostsWithItsCertificate(t *testing.T) {
	cert := filepath.Join(t.TempDir(), "local.pem")
	l := startLocal(t, "--tls", "--addr", "127.0.0.1:0", "--cert-file", cert)
	run, queue, rest := l.env["FAL_RUN_HOST"], l.env["FAL_QUEUE_RUN_HOST"], l.env["FAL_REST_HOST"]
	bare := regexp.MustCompile(`^127\.0\.0\.1:[1-9][0-9]*$`)
	if !bare.MatchString(run) || !bare.MatchString(queue) || run == queue {
		t.Fatalf("FAL_RUN_HOST %q, FAL_QUEUE_RUN_HOST %q: want two bare 127.0.0.1:PORT hosts", run, queue)
	}
	if !strings.HasPrefix(rest, "https://127.0.0.1:") || !strings.HasSuffix(rest, "/rest") {
		t.Fatalf("FAL_REST_HOST = %q, want https://127.0.0.1:PORT/rest", rest)
	}
	pemBytes, err := os.ReadFile(cert)
	if err != nil {
		t.Fatalf("the certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s holds no PEM certificate", cert)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: waitLimit}
	req, err := http.NewRequest(http.MethodPost, "https://"+run+"/falgo/echo", strings.NewReader(`{"over":"tls"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Key "+l.env["FAL_KEY"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("echo on the bare run host with the printed certificate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("echo on the bare run host: status %d", resp.StatusCode)
	}
	base := strings.TrimSuffix(rest, "/rest")
	for _, want := range []string{
		"certificate in " + cert,
		`fal_client.client.REST_URL = "` + base + `/rest"`,
		`fal_client.client.CDN_URL = "` + base + `/cdn"`,
		`.replace("https://fal.run/", "https://` + run + `/")`,
		`.replace("https://queue.fal.run/", "https://` + queue + `/")`,
	} {
		if !eventually(func() bool { return strings.Contains(l.stderr.String(), want) }) {
			t.Errorf("stderr lacks %q:\n%s", want, l.stderr.String())
		}
	}
	if code := l.stop(t); code != exitOK {
		t.Errorf("exit %d", code)
	}
	if _, err := os.Stat(cert); err != nil {
		t.Errorf("a --cert-file is the user's: it must stay after the stop: %v", err)
	}
}

// Without --cert-file the certificate goes to a temporary file that is
// removed when the server stops.
func TestLocalTLSRemovesItsTemporaryCertificate(t *testing.T) {
	l := startLocal(t, "--tls", "--addr", "127.0.0.1:0")
	re := regexp.MustCompile(`certificate in (\S+);`)
	var path string
	if !eventually(func() bool {
		m := re.FindStringSubmatch(l.stderr.String())
		if m != nil {
			path = m[1]
		}
		return m != nil
	}) {
		t.Fatalf("stderr names no certificate file:\n%s", l.stderr.String())
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the certificate file while serving: %v", err)
	}
	if code := l.stop(t); code != exitOK {
		t.Errorf("exit %d", code)
	}
	// stop returns once the command has returned, its deferred removal done.
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("%s is still there after the stop (stat: %v)", path, err)
	}
}
