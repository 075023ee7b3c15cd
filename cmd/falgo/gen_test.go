package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	falgen "github.com/falgo/fal/internal/gen"
)

// genRun runs `falgo gen args` (with --local when local) on its own
// command, and returns stdout, stderr and the error.
func genRun(t *testing.T, local bool, stdin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	c := &cli{con: &console{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr}}
	c.g.local = local
	c.g.json = containsArg(args, "--json")
	cmd := newGenCmd(c)
	cmd.SetArgs(removeArg(args, "--json"))
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(ctx)
	return stdout.String(), stderr.String(), err
}

func containsArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}

func removeArg(args []string, a string) []string {
	var out []string
	for _, x := range args {
		if x != a {
			out = append(out, x)
		}
	}
	return out
}

func readGenerated(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !falgen.IsGenerated(b) {
		t.Fatalf("%s has no generated-code header", path)
	}
	return string(b)
}

// TestGenLocalIsOffline generates from --local's Platform API: the
// document is faltest's, the same as endpoints/testdata holds, and the
// streaming app gets Stream from its metadata.
func TestGenLocalIsOffline(t *testing.T) {
	isolateCredentials(t)
	t.Setenv("FAL_API_HOST", "http://127.0.0.1:9") // never used by --local
	dir := t.TempDir()
	// The whole command line, as a user types it.
	r := runCLI(t, "--local", "gen", "fal-ai/flux/schnell", "fal-ai/any-llm", "-o", dir)
	if r.code != exitOK {
		t.Fatalf("falgo --local gen: exit %d\n%s", r.code, r.stderr)
	}
	stdout := r.stdout
	schnell := filepath.Join(dir, "fal-ai", "flux", "schnell", "endpoint.go")
	anyllm := filepath.Join(dir, "fal-ai", "any-llm", "endpoint.go")
	if stdout != schnell+"\n"+anyllm+"\n" {
		t.Fatalf("stdout = %q", stdout)
	}
	code := readGenerated(t, schnell)
	doc, err := os.ReadFile(filepath.Join("..", "..", "endpoints", "testdata", "faltest_fal-ai_flux_schnell.json"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := falgen.Generate(falgen.Spec{Doc: doc, Source: "falgo --local (faltest's Platform API)", EndpointID: "fal-ai/flux/schnell"})
	if err != nil {
		t.Fatal(err)
	}
	if code != string(want.Code) {
		t.Fatal("falgo --local gen wrote other code than the generator does from faltest's saved document")
	}
	if strings.Contains(code, "func Stream(") || !strings.Contains(readGenerated(t, anyllm), "func Stream(") {
		t.Fatal("Stream: want it for fal-ai/any-llm (stream_url in its metadata) only")
	}

	_, _, err = genRun(t, true, "", "someone/not-an-app", "-o", dir)
	if err == nil || !strings.Contains(err.Error(), "not in fal's catalogue") {
		t.Fatalf("unknown app: err = %v", err)
	}
}

func TestGenFromFiles(t *testing.T) {
	testdata := filepath.Join("..", "..", "endpoints", "testdata")
	dir := t.TempDir()

	// A directory: every document in it.
	stdout, _, err := genRun(t, false, "", "--openapi", testdata, "-o", dir)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join(testdata, "*.json"))
	if err != nil || len(docs) < 6 {
		t.Fatalf("endpoints/testdata: %v, %d documents", err, len(docs))
	}
	if n := strings.Count(stdout, "\n"); n != len(docs) {
		t.Fatalf("%d files written, want one per document (%d):\n%s", n, len(docs), stdout)
	}
	if code := readGenerated(t, filepath.Join(dir, "falgo", "echo", "endpoint.go")); !strings.Contains(code, "package echo\n") || strings.Contains(code, "func Stream(") {
		t.Fatal("falgo/echo: want package echo, no Stream without --stream")
	}

	// One document as a package of its own name, with Stream.
	doc := filepath.Join(testdata, "faltest_fal-ai_flux_dev.json")
	pkgDir := filepath.Join(dir, "flux")
	if _, _, err := genRun(t, false, "", "--openapi", doc, "-o", pkgDir, "--package", "flux", "--stream"); err != nil {
		t.Fatal(err)
	}
	code := readGenerated(t, filepath.Join(pkgDir, "endpoint.go"))
	if !strings.Contains(code, "package flux\n") || !strings.Contains(code, "func Stream(") || !strings.Contains(code, `const EndpointID = "fal-ai/flux/dev"`) {
		t.Fatal("--package flux --stream: not in the code")
	}

	// --package takes one endpoint.
	var ue *usageError
	if _, _, err := genRun(t, false, "", "--openapi", testdata, "-o", dir, "--package", "x"); !errors.As(err, &ue) {
		t.Fatalf("--package with several: err = %v, want a usage error", err)
	}
	if _, _, err := genRun(t, false, "", "--openapi", doc); !errors.As(err, &ue) {
		t.Fatalf("no -o: err = %v, want a usage error", err)
	}

	// A file falgo gen did not write is never replaced.
	mine := filepath.Join(dir, "mine")
	if err := os.MkdirAll(mine, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mine, "endpoint.go"), []byte("package mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := genRun(t, false, "", "--openapi", doc, "-o", mine, "--package", "mine"); err == nil || !strings.Contains(err.Error(), "not written by falgo gen") {
		t.Fatalf("overwriting a user's file: err = %v", err)
	}

	// A document that names no endpoint needs --id.
	noID := filepath.Join(t.TempDir(), "noid.json")
	if err := os.WriteFile(noID, []byte(`{"openapi":"3.0.0","components":{"schemas":{"XInput":{"type":"object","properties":{"a":{"type":"string"}}}}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := genRun(t, false, "", "--openapi", noID, "-o", dir); !errors.As(err, &ue) || !strings.Contains(err.Error(), "--id") {
		t.Fatalf("no endpoint id: err = %v", err)
	}
	if _, _, err := genRun(t, false, "", "--openapi", noID, "-o", dir, "--id", "me/x"); err != nil {
		t.Fatal(err)
	}
	readGenerated(t, filepath.Join(dir, "me", "x", "endpoint.go"))
}

// TestGenFromPlatformAnswer reads a Platform API answer on stdin: the
// endpoint id and streaming come from it.
func TestGenFromPlatformAnswer(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "endpoints", "testdata", "faltest_fal-ai_any-llm.json"))
	if err != nil {
		t.Fatal(err)
	}
	answer, err := json.Marshal(map[string]any{"models": []any{map[string]any{
		"endpoint_id": "fal-ai/any-llm",
		"metadata":    map[string]any{"display_name": "Any LLM", "stream_url": "https://fal.run/fal-ai/any-llm/stream"},
		"openapi":     json.RawMessage(doc),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stdout, stderr, err := genRun(t, false, string(answer), "--openapi", "-", "-o", dir, "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var line struct {
		EndpointID string   `json:"endpoint_id"`
		Package    string   `json:"package"`
		File       string   `json:"file"`
		Warnings   []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(stdout), &line); err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	if line.EndpointID != "fal-ai/any-llm" || line.Package != "anyllm" || line.Warnings == nil {
		t.Fatalf("--json line = %+v", line)
	}
	code := readGenerated(t, line.File)
	if !strings.Contains(code, "func Stream(") || !strings.Contains(code, "// Source: stdin\n") {
		t.Fatal("want Stream (stream_url) and Source: stdin")
	}
}
