package main

import (
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckMCPOptionsGuardsRemoteHTTP: an HTTP server spends on the fal
// key of whoever starts it, so only loopback is served by default, and a
// remote address needs --allow-remote, a token and a cap.
func TestCheckMCPOptionsGuardsRemoteHTTP(t *testing.T) {
	const token = "0123456789abcdef-token"
	for _, k := range []struct {
		name  string
		o     mcpOptions
		token string
		want  string // "" when accepted
	}{
		{"loopback", mcpOptions{http: "127.0.0.1:0"}, "", ""},
		{"localhost", mcpOptions{http: "localhost:8765"}, "", ""},
		{"ipv6 loopback", mcpOptions{http: "[::1]:0"}, "", ""},
		{"all interfaces", mcpOptions{http: ":8765"}, token, "not a loopback address"},
		{"remote refused", mcpOptions{http: "0.0.0.0:8765", maxCalls: 3}, token, "not a loopback address"},
		{"remote without token", mcpOptions{http: "0.0.0.0:8765", allowRemote: true, maxCalls: 3}, "", "requires " + mcpTokenEnv},
		{"remote short token", mcpOptions{http: "0.0.0.0:8765", allowRemote: true, maxCalls: 3}, "short", "at least 16"},
		{"remote without cap", mcpOptions{http: "0.0.0.0:8765", allowRemote: true}, token, "requires a cap"},
		{"remote", mcpOptions{http: "0.0.0.0:8765", allowRemote: true, maxCost: "0.5"}, token, ""},
		{"allow-remote without http", mcpOptions{allowRemote: true}, token, "needs --http"},
		{"not host:port", mcpOptions{http: "8765"}, "", "not host:port"},
		{"negative calls", mcpOptions{maxCalls: -1}, "", "--max-calls -1"},
		{"bad cost", mcpOptions{maxCost: "lots"}, "", "--max-cost"},
		{"negative cost", mcpOptions{maxCost: "-1"}, "", "--max-cost"},
		{"exponent cost", mcpOptions{maxCost: "1e3"}, "", "--max-cost"},
	} {
		o := k.o
		_, err := checkMCPOptions(&o, k.token)
		switch {
		case k.want == "" && err != nil:
			t.Errorf("%s: refused: %v", k.name, err)
		case k.want != "" && (err == nil || !strings.Contains(err.Error(), k.want)):
			t.Errorf("%s: got %v, want an error saying %q", k.name, err, k.want)
		}
	}
	o := mcpOptions{}
	if _, err := checkMCPOptions(&o, ""); err != nil || o.uploadDir != "." {
		t.Errorf("stdio: upload dir %q (%v), want the current directory", o.uploadDir, err)
	}
	o = mcpOptions{http: "127.0.0.1:0"}
	if _, err := checkMCPOptions(&o, ""); err != nil || o.uploadDir != "" {
		t.Errorf("HTTP: upload dir %q (%v), want none", o.uploadDir, err)
	}
}

// TestOpenUploadStaysInsideTheDirectory: upload_file reads regular files
// under --upload-dir only, never through a symbolic link leading out, and
// never hidden files.
func TestOpenUploadStaysInsideTheDirectory(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "up")
	for _, d := range []string{dir, filepath.Join(dir, "sub"), filepath.Join(dir, ".ssh")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(base, "secret.txt"), "secret")
	write(filepath.Join(dir, "sub", "ok.txt"), "ok")
	write(filepath.Join(dir, ".env"), "KEY=x")
	write(filepath.Join(dir, ".ssh", "id"), "key")
	if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	m := &mcpServer{o: mcpOptions{uploadDir: dir}}
	for _, p := range []string{"sub/ok.txt", filepath.Join(dir, "sub", "ok.txt"), "./sub/../sub/ok.txt"} {
		f, _, err := m.openUpload(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) != "ok" {
			t.Errorf("%s: read %q", p, b)
		}
	}
	for p, want := range map[string]string{
		"../secret.txt":                   "outside the upload directory",
		filepath.Join(base, "secret.txt"): "outside the upload directory",
		"link.txt":                        "cannot be opened within the upload directory",
		".env":                            "hidden",
		".ssh/id":                         "hidden",
		"sub":                             "not a regular file",
		"missing.txt":                     "does not exist",
	} {
		f, _, err := m.openUpload(p)
		if err == nil {
			f.Close()
			t.Errorf("%s: opened, want %q", p, want)
		} else if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", p, err, want)
		}
	}
	off := &mcpServer{}
	if _, _, err := off.openUpload("x"); err == nil || !strings.Contains(err.Error(), "--upload-dir") {
		t.Errorf("no upload dir: %v", err)
	}
}

// TestSpendCapAdmitSettleRelease: the cap counts admitted calls at their
// estimate, settles them once at what they billed, gives back calls fal
// refused, and refuses an estimate in another currency.
func TestSpendCapAdmitSettleRelease(t *testing.T) {
	b, err := newSpendCap("0.01", 2)
	if err != nil {
		t.Fatal(err)
	}
	est := &callEstimate{amount: big.NewRat(4, 1000), currency: "USD", basis: "test"}
	r1, err := b.admit(est)
	if err != nil {
		t.Fatal(err)
	}
	r1.settle(big.NewRat(1, 1000))
	r1.settle(big.NewRat(9, 1000)) // only the first settle counts
	if v := b.view(); v.Spent != "0.001" || *v.CallsLeft != 1 || v.CostLeft != "0.009" {
		t.Errorf("after a settle: %+v", v)
	}
	r2, err := b.admit(est)
	if err != nil {
		t.Fatal(err)
	}
	r2.release()
	if v := b.view(); v.Spent != "0.001" || *v.CallsLeft != 1 {
		t.Errorf("after a release: %+v", v)
	}
	if _, err := b.admit(&callEstimate{amount: big.NewRat(1, 1000), currency: "EUR"}); err == nil || !strings.Contains(err.Error(), "EUR") {
		t.Errorf("another currency: %v", err)
	}
	if _, err := b.admit(&callEstimate{amount: big.NewRat(2, 100), currency: "USD", basis: "test"}); err == nil || !strings.Contains(err.Error(), "estimated at $0.02") {
		t.Errorf("over the cost cap: %v", err)
	}
	if _, err := b.admit(est); err != nil {
		t.Fatal(err)
	}
	if _, err := b.admit(est); err == nil || !strings.Contains(err.Error(), "--max-calls 2") {
		t.Errorf("over the call cap: %v", err)
	}
}

// TestMCPLevelMapsFalLogLevels: fal's log levels become MCP's.
func TestMCPLevelMapsFalLogLevels(t *testing.T) {
	for in, want := range map[string]string{"ERROR": "error", "STDERR": "error", "WARN": "warning", "debug": "debug", "INFO": "info", "STDOUT": "info"} {
		if got := string(mcpLevel(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// TestMCPSecretsIncludeTheSecretHalf: an id:secret key is scrubbed whole
// and by its secret alone.
func TestMCPSecretsIncludeTheSecretHalf(t *testing.T) {
	isolateCredentials(t)
	t.Setenv("FAL_KEY", "key-id-123:the-secret-part")
	c := &cli{}
	m := &mcpServer{secrets: c.mcpSecrets()}
	got := m.clean("a key-id-123:the-secret-part b the-secret-part c\x1b")
	if want := `a [redacted] b [redacted] c\x1b`; got != want {
		t.Errorf("clean: %q, want %q", got, want)
	}
	c.g.keySet, c.g.key = true, "flag-key-0123456789"
	if s := c.mcpSecrets(); len(s) != 1 || s[0] != c.g.key {
		t.Errorf("--key: %v", s)
	}
}

// TestSpillWriterSpillsAndRemovesPartialFiles: a download moves from
// memory to a file past the inline size, fails past the maximum, and then
// leaves no partial file behind.
func TestSpillWriterSpillsAndRemovesPartialFiles(t *testing.T) {
	dir := t.TempDir()
	open := func() (*os.File, string, error) { return createUnique(dir, "out.png") }
	w := &spillWriter{inline: 4, max: 10, open: open}
	if _, err := w.Write([]byte("abc")); err != nil || w.path != "" {
		t.Fatalf("inline write: %v, path %q", err, w.path)
	}
	if _, err := w.Write([]byte("defg")); err != nil || w.path == "" {
		t.Fatalf("spilling write: %v, path %q", err, w.path)
	}
	_, err := w.Write([]byte("hijk"))
	if err == nil || !w.tooBig {
		t.Fatalf("write past max: %v", err)
	}
	if cerr := w.close(err); cerr != nil {
		t.Fatal(cerr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 || w.path != "" {
		t.Errorf("a partial file is left: %v", ents)
	}
	w = &spillWriter{inline: 4, max: 10, open: open}
	if _, err := w.Write([]byte("abcdefg")); err != nil {
		t.Fatal(err)
	}
	if err := w.close(nil); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(w.path); err != nil || string(b) != "abcdefg" {
		t.Errorf("saved %q: %v", b, err)
	}
	w = &spillWriter{inline: 4, max: 10}
	if _, err := w.Write([]byte("abcde")); err == nil || !w.noRoom {
		t.Errorf("no room to spill: %v", err)
	}
}
