package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	fal "github.com/falgo/fal"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// uploadOptions holds the flags of `falgo upload`.
type uploadOptions struct {
	expires time.Duration
}

// newUploadCmd builds `falgo upload`.
func newUploadCmd(c *cli) *cobra.Command {
	var o uploadOptions
	cmd := &cobra.Command{
		Use:   "upload FILE...",
		Short: "Upload files to fal storage and print their URLs",
		Long: `Upload files to fal storage, one after the other, and print each file's URL
on stdout, one per line in the order given (with --json, one
{"file", "url"} object per line). On a terminal each file gets a progress
bar on stderr: bytes sent of the file's size, the rate, the time spent and
the time left ("(3.1/10 MB, 8.7 MB/s) [2s:3s]"). Pass the URLs to apps as inputs; "falgo run -i key=@FILE"
does the upload for you.`,
		Example: `  falgo upload photo.jpg voice.wav
  falgo upload --expires 24h big-video.mp4`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.upload(cmd.Context(), args, o)
		},
	}
	cmd.Flags().DurationVar(&o.expires, "expires", 0, "ask fal storage to delete the files after this long, e.g. 1h (default: never)")
	return cmd
}

// upload is `falgo upload`.
func (c *cli) upload(ctx context.Context, paths []string, o uploadOptions) error {
	if o.expires != 0 && o.expires < time.Second {
		return usageErrorf("--expires %v is too short; use at least 1s", o.expires)
	}
	// Every file must be there before the first byte is sent.
	for _, p := range paths {
		if _, err := localFile(p); err != nil {
			return usageErrorf("%v", err)
		}
	}
	cl, release, err := c.newClient()
	if err != nil {
		return err
	}
	defer release()
	wctx, stop := c.waitContext(ctx)
	defer stop()
	for _, p := range paths {
		u, err := c.uploadOne(wctx, cl, p, o)
		if err != nil {
			switch {
			case timedOut(wctx):
				return codedErrorf(exitTimeout, "gave up uploading %s after %v (--timeout)", p, c.g.timeout)
			case wctx.Err() != nil:
				return codedErrorf(exitInterrupted, "interrupted while uploading %s", p)
			}
			return fmt.Errorf("uploading %s: %w", p, err)
		}
		if c.g.json {
			err = c.con.writeJSONLine(map[string]string{"file": p, "url": u})
		} else {
			err = c.con.printOut(u)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// uploadOne uploads one file, with a progress bar on a terminal.
func (c *cli) uploadOne(ctx context.Context, cl *fal.Client, path string, o uploadOptions) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	var opts []fal.RequestOption
	if name := plainName(filepath.Base(path)); name != "" {
		opts = append(opts, fal.WithFileName(name))
	}
	if o.expires > 0 {
		opts = append(opts, fal.WithExpiration(o.expires))
	}
	if !c.con.stderrTTY || st.Size() == 0 {
		return cl.Upload(ctx, f, opts...)
	}
	bar := progressbar.NewOptions64(st.Size(),
		progressbar.OptionSetWriter(c.con.stderr),
		progressbar.OptionSetDescription(escapeControls(filepath.Base(path), inline)),
		// "(3.1/10 MB, 8.7 MB/s) [2s:3s]": bytes sent of the size, the
		// rate, the time spent and the time left.
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionEnableColorCodes(false),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(c.con.stderr) }),
	)
	r := &countingFile{f: f, size: st.Size(), bar: bar}
	u, err := cl.Upload(ctx, r, opts...)
	if err != nil {
		_ = bar.Exit()
		fmt.Fprintln(c.con.stderr)
		return "", err
	}
	_ = bar.Finish()
	return u, nil
}

// countingFile is a file being uploaded that moves a progress bar as the
// client reads it. It keeps the file's ReadAt and Size, so the client
// still sends it in parallel parts without copying it.
type countingFile struct {
	f    *os.File
	size int64
	read atomic.Int64
	bar  *progressbar.ProgressBar
}

// Read reads from the file.
func (c *countingFile) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.count(n)
	return n, err
}

// ReadAt reads from the file at off.
func (c *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.f.ReadAt(p, off)
	c.count(n)
	return n, err
}

// Size is the file's size.
func (c *countingFile) Size() int64 { return c.size }

// count advances the bar. Retried parts are read twice, so the total is
// capped at the size; the bar is completed when the upload succeeds.
func (c *countingFile) count(n int) {
	if n > 0 {
		_ = c.bar.Set64(min(c.read.Add(int64(n)), c.size))
	}
}
