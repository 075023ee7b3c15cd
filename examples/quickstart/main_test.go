package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/falgo/fal/faltest"
)

// TestREADMEQuotesThisProgram fails when README.md's Quick start and this
// file differ: the README shows the program that is compiled and run here.
func TestREADMEQuotesThisProgram(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Quick start\n")
	if !ok {
		t.Fatal("README.md has no \"## Quick start\" section")
	}
	_, block, ok := strings.Cut(section, "```go\n")
	if !ok {
		t.Fatal("the Quick start has no ```go block")
	}
	block, _, ok = strings.Cut(block, "```\n")
	if !ok {
		t.Fatal("the Quick start's ```go block is not closed")
	}
	if block != string(src) {
		t.Errorf("README.md's Quick start differs from examples/quickstart/main.go; copy main.go into the README's ```go block")
	}
}

// TestQuickstartRunsAgainstALocalServer runs the program as the README
// says, against a fal-compatible server with no real key, and finds the
// image saved under its own name.
func TestQuickstartRunsAgainstALocalServer(t *testing.T) {
	srv, err := faltest.Start(faltest.WithDemoDelay(0))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Chdir(t.TempDir())
	main()
	png, err := os.ReadFile("image-0.png")
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("image-0.png: %v; want the PNG saved under its own name", err)
	}
}
