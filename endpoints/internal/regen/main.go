// Command regen regenerates the packages falgo ships under endpoints/
// from the documents listed in package shipped. It runs from
// endpoints/generate.go:
//
//	go generate ./endpoints/...
//
// With -faltest it first saves the OpenAPI documents faltest serves for
// its demo apps into endpoints/testdata (after a change to faltest's demo
// schemas).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/falgo/fal/endpoints/internal/shipped"
	"github.com/falgo/fal/internal/gen"
)

func main() {
	root := flag.String("root", "..", "the module root")
	saveFaltest := flag.Bool("faltest", false, "first save faltest's demo documents into endpoints/testdata")
	flag.Parse()
	if err := run(*root, *saveFaltest); err != nil {
		fmt.Fprintln(os.Stderr, "regen:", err)
		os.Exit(1)
	}
}

func run(root string, saveFaltest bool) error {
	if saveFaltest {
		docs, err := shipped.FaltestDocs(context.Background())
		if err != nil {
			return err
		}
		for _, app := range shipped.FaltestApps {
			p := filepath.Join(root, filepath.FromSlash(shipped.FaltestDocPath(app)))
			if err := os.WriteFile(p, docs[app], 0o644); err != nil {
				return err
			}
		}
	}
	files, err := shipped.Generate(root)
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "endpoints")
	keep := make(map[string]bool)
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Dir), gen.FileName)
		keep[p] = true
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, f.Code) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Code, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", p)
	}
	// Packages no longer shipped: remove their generated file (only it).
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != gen.FileName || keep[p] {
			return err
		}
		if b, err := os.ReadFile(p); err == nil && gen.IsGenerated(b) {
			fmt.Println("removed", p)
			return os.Remove(p)
		}
		return nil
	})
}
