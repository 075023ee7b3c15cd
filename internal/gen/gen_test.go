package gen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// A goldenCase is a document whose generated code is kept in
// testdata/golden. The shipped packages under endpoints/ are the golden
// files of the other corpus documents (see endpoints/internal/shipped and
// its up-to-date test).
type goldenCase struct {
	name string // golden file name, without .go.golden
	doc  string // from the module root
	id   string
}

var goldenCases = []goldenCase{
	{name: "edge", doc: "internal/gen/testdata/edge.json"},
	{name: "imgly_recraft-v3", doc: "internal/openapi/testdata/imgly_recraft-v3.json"},
	{name: "faltest_flux_schnell", doc: "endpoints/testdata/faltest_fal-ai_flux_schnell.json"},
	{name: "faltest_flux_dev", doc: "endpoints/testdata/faltest_fal-ai_flux_dev.json"},
}

// moduleRoot is the module's directory, from this package's.
const moduleRoot = "../.."

func readDoc(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			f, err := Generate(Spec{Doc: readDoc(t, gc.doc), Source: gc.doc, EndpointID: gc.id})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", gc.name+".go.golden")
			if *update {
				if err := os.WriteFile(path, f.Code, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/gen -run TestGolden -update)", err)
			}
			if !bytes.Equal(f.Code, want) {
				t.Errorf("generated code differs from %s (run with -update after checking the change):\n%s", path, firstDiff(string(want), string(f.Code)))
			}
		})
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "(no difference)"
}

// allDocs lists every document the tests generate from, with the
// directory of its package in the temporary module.
func allDocs(t testing.TB) map[string]Spec {
	t.Helper()
	specs := map[string]Spec{
		"edge": {Doc: readDoc(t, "internal/gen/testdata/edge.json"), Package: "edge"},
	}
	corpus, err := filepath.Glob(filepath.Join(moduleRoot, "internal", "openapi", "testdata", "*.json"))
	if err != nil || len(corpus) < 20 {
		t.Fatalf("the corpus: %v, %d documents", err, len(corpus))
	}
	for _, p := range corpus {
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		s := Spec{Doc: readDoc(t, "internal/openapi/testdata/"+filepath.Base(p)), Stream: true}
		if name == "imgly_IdeogramV3" {
			s.EndpointID = "fal-ai/ideogram/v3"
		}
		specs["corpus/"+strings.NewReplacer(".", "_", "-", "_").Replace(name)] = s
	}
	faltestDocs, err := filepath.Glob(filepath.Join(moduleRoot, "endpoints", "testdata", "faltest_*.json"))
	if err != nil || len(faltestDocs) != 9 {
		t.Fatalf("faltest's documents: %v, %d documents", err, len(faltestDocs))
	}
	for _, p := range faltestDocs {
		doc := readDoc(t, "endpoints/testdata/"+filepath.Base(p))
		f, err := Generate(Spec{Doc: doc})
		if err != nil {
			t.Fatal(err)
		}
		specs["faltest/"+f.Dir] = Spec{Doc: doc, Stream: true}
	}
	return specs
}

func TestDeterministic(t *testing.T) {
	for dir, s := range allDocs(t) {
		a, err := Generate(s)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for i := 0; i < 3; i++ {
			b, err := Generate(s)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Code, b.Code) || strings.Join(a.Warnings, "\n") != strings.Join(b.Warnings, "\n") {
				t.Fatalf("%s: two runs gave different code", dir)
			}
		}
	}
}

// goCommand finds the go command that runs these tests.
func goCommand(t *testing.T) string {
	t.Helper()
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the generated code with")
	}
	return p
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestGeneratedCodeBuilds generates a package from every document into one
// temporary module that uses this module (a replace directive), builds and
// vets them, and runs a program that calls faltest's demo apps through the
// packages generated from faltest's documents, checking that each typed
// output is the raw output.
func TestGeneratedCodeBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short mode")
	}
	goCmd := goCommand(t)
	root, err := filepath.Abs(moduleRoot)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for pkgDir, s := range allDocs(t) {
		f, err := Generate(s)
		if err != nil {
			t.Fatalf("%s: %v", pkgDir, err)
		}
		p := filepath.Join(dir, filepath.FromSlash(pkgDir), FileName)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Code, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prog, err := os.ReadFile(filepath.Join("testdata", "roundtrip", "main.go.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "roundtrip"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "roundtrip", "main.go"), prog, 0o644); err != nil {
		t.Fatal(err)
	}
	writeModule(t, dir, root)

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goCmd, args...)
		cmd.Dir = dir
		// Offline: everything comes from this module and the module cache.
		cmd.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("go %s: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
		return string(out)
	}
	run("build", "./...")
	run("vet", "./...")
	if out := run("run", "./roundtrip"); !strings.Contains(out, "roundtrip: ok") {
		t.Fatalf("roundtrip printed %q", out)
	}
}

// writeModule writes go.mod and go.sum of the temporary module: this
// module replaced by root, and its requirements, so that nothing needs
// downloading.
func writeModule(t *testing.T, dir, root string) {
	t.Helper()
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("module gentest\n\ngo 1.26\n\nrequire github.com/falgo/fal v0.0.0\n\nreplace github.com/falgo/fal => " + filepath.ToSlash(root) + "\n\n")
	// The require blocks of this module, as indirect requirements.
	in := false
	for _, line := range strings.Split(string(mod), "\n") {
		switch {
		case strings.HasPrefix(line, "require ("):
			in = true
			b.WriteString(line + "\n")
		case in && strings.HasPrefix(line, ")"):
			in = false
			b.WriteString(line + "\n")
		case in, strings.HasPrefix(line, "require "):
			b.WriteString(line + "\n")
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHeader checks the first lines of a generated file: the marker Go
// tools recognise, the endpoint, the source and the sha256 of the
// document's bytes.
func TestHeader(t *testing.T) {
	doc := readDoc(t, "internal/openapi/testdata/fal-ai_flux_schnell.json")
	f, err := Generate(Spec{Doc: doc, Source: "schnell.json"})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(doc)
	want := Marker + "\n//\n// Endpoint: fal-ai/flux/schnell\n// Source: schnell.json\n// Schema sha256: " + hex.EncodeToString(sum[:]) + "\n\n// Package schnell "
	if !strings.HasPrefix(string(f.Code), want) {
		t.Fatalf("the file starts\n%s\nwant\n%s", f.Code[:len(want)], want)
	}
	if !regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`).Match(f.Code) || !IsGenerated(f.Code) {
		t.Fatal("no generated-code marker")
	}
	if f.Dir != "fal-ai/flux/schnell" || f.Package != "schnell" || f.EndpointID != "fal-ai/flux/schnell" {
		t.Fatalf("File = %+v", f)
	}
}
