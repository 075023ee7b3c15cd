// Command quickstart generates an image with fal-ai/flux/schnell and saves
// every file of the output under its own name.
//
// Against `falgo local`, with no key and no network:
//
//	falgo local --addr 127.0.0.1:0 > fal.env &
//	until [ -s fal.env ]; do sleep 0.1; done; . ./fal.env
//	go run ./examples/quickstart
//
// Against fal.ai: set FAL_KEY instead.
package main

import (
	"context"
	"fmt"
	"log"
	"net/url"
	"path"
	"time"

	fal "github.com/falgo/fal"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The key: FAL_KEY, FAL_KEY_ID+FAL_KEY_SECRET, FAL_KEY_FILE or the fal
	// CLI login. FAL_RUN_HOST and the other FAL_*_HOST variables (which
	// fal.env sets) point the client at another server.
	c, err := fal.NewClient()
	if err != nil {
		log.Fatal(err)
	}

	res, err := c.Subscribe(ctx, "fal-ai/flux/schnell",
		map[string]any{"prompt": "a lighthouse at dusk"},
		fal.WithLogs(true),
		fal.OnQueueUpdate(func(s fal.Status) { log.Println(s.State()) }))
	if err != nil {
		log.Fatal(err)
	}

	for i, f := range fal.FindFiles(res.Data) {
		name := fileName(f, i)
		if err := c.DownloadTo(ctx, f, name); err != nil {
			log.Fatal(err)
		}
		fmt.Println("saved", name)
	}
}

// fileName is the file's own name: its file_name, else the last part of
// its URL ("image-0.png"), else output-<i>. Only that last part is kept,
// so a name from the server cannot point outside this directory.
func fileName(f fal.File, i int) string {
	name := f.FileName
	if u, err := url.Parse(f.URL); name == "" && err == nil && u.Scheme != "data" {
		name = u.Path
	}
	name = path.Base(name)
	if name == "." || name == "/" || name == ".." {
		return fmt.Sprintf("output-%d", i)
	}
	return name
}
