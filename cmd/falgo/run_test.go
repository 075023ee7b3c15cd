package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"image/png"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
)

// TestMainJobLocal is the README's first command: with no key and no
// network, --local runs flux/schnell in-process, prints the result JSON and
// saves a PNG that decodes.
func TestMainJobLocal(t *testing.T) {
	isolateCredentials(t) // no FAL_KEY, no login, no hosts
	dir := filepath.Join(t.TempDir(), "out")
	r := runCLI(t, "--local", "run", "fal-ai/flux/schnell", "-i", "prompt=a lighthouse at dusk", "--save", dir+"/")
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	var out struct {
		Images []struct {
			URL         string `json:"url"`
			Width       int    `json:"width"`
			Height      int    `json:"height"`
			ContentType string `json:"content_type"`
		} `json:"images"`
		Prompt string `json:"prompt"`
	}
	if strings.Count(r.stdout, "\n") != 1 || json.Unmarshal([]byte(r.stdout), &out) != nil {
		t.Fatalf("stdout is not one line of JSON (stdout is a pipe here): %q", r.stdout)
	}
	if len(out.Images) != 1 || out.Images[0].ContentType != "image/png" || out.Prompt != "a lighthouse at dusk" {
		t.Fatalf("unexpected output: %s", r.stdout)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("out/ holds %v (%v), want one file", entries, err)
	}
	saved := filepath.Join(dir, entries[0].Name())
	if !strings.HasSuffix(saved, ".png") || !strings.Contains(r.stderr, "falgo: saved "+saved) {
		t.Errorf("saved %s; stderr should name it:\n%s", saved, r.stderr)
	}
	f, err := os.Open(saved)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s does not decode as PNG: %v", saved, err)
	}
	if b := img.Bounds(); b.Dx() != out.Images[0].Width || b.Dy() != out.Images[0].Height {
		t.Errorf("PNG is %v, the output says %dx%d", b, out.Images[0].Width, out.Images[0].Height)
	}
	// The in-process server is gone with the command.
	u, err := url.Parse(out.Images[0].URL)
	if err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("image URL %q is not on the local server", out.Images[0].URL)
	}
	if c, err := net.Dial("tcp", u.Host); err == nil {
		c.Close()
		t.Errorf("the --local server at %s still listens after the command", u.Host)
	}
}

func TestRunInputFlags(t *testing.T) {
	startFal(t)
	r := runCLI(t, "run", "falgo/echo",
		"-i", "prompt=a lighthouse at dusk",
		"-i", "num_images=2",
		"-i", "seed=123456789012345678901",
		"-i", `quoted="42"`,
		"-i", "sync_mode=true",
		"-i", `loras=[{"path":"x"}]`,
		"-i", "image_size.width=768",
		"-i", "image_size.height=512",
		"-i", "empty=",
	)
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	want := `{"empty":"","image_size":{"height":512,"width":768},"loras":[{"path":"x"}],"num_images":2,"prompt":"a lighthouse at dusk","quoted":"42","seed":123456789012345678901,"sync_mode":true}` + "\n"
	if r.stdout != want {
		t.Errorf("the app received\n%s\nwant\n%s", r.stdout, want)
	}
}

func TestRunUploadsAtFile(t *testing.T) {
	srv := startFal(t)
	data := make([]byte, 70_000)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "photo.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "run", "falgo/echo", "-i", "image.url=@"+path, "-i", "prompt=x")
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	var got struct {
		Image struct {
			URL string `json:"url"`
		} `json:"image"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Image.URL, srv.URL+"/") {
		t.Fatalf("the app received %q, want a URL on the server", got.Image.URL)
	}
	if body := fetch(t, got.Image.URL); !bytes.Equal(body, data) {
		t.Errorf("the URL serves %d bytes that differ from the file's %d", len(body), len(data))
	}
	if f, ok := srv.File(got.Image.URL); !ok || f.Name != "photo.bin" {
		t.Errorf("stored file %+v, want the name photo.bin", f)
	}
}

func TestRunInputFileAndStdin(t *testing.T) {
	startFal(t)
	path := filepath.Join(t.TempDir(), "in.json")
	if err := os.WriteFile(path, []byte(`{"prompt": "from the file", "seed": 7}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "run", "falgo/echo", "--input", path, "-i", "seed=8")
	if r.code != exitOK || r.stdout != `{"prompt":"from the file","seed":8}`+"\n" {
		t.Errorf("--input file with -i on top: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	r = cliRun{stdin: strings.NewReader(`{"prompt": "from stdin"}`)}.run(t, "run", "falgo/echo", "--input", "-")
	if r.code != exitOK || r.stdout != `{"prompt":"from stdin"}`+"\n" {
		t.Errorf("--input -: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
}

func TestRunSyncUsesTheDirectEndpoint(t *testing.T) {
	srv := startFal(t)
	r := runCLI(t, "run", "--sync", "falgo/echo", "-i", "x=1")
	if r.code != exitOK || r.stdout != `{"x":1}`+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	st := srv.Stats()
	if st.Requests["run"] != 1 || st.Requests["submit"] != 0 {
		t.Errorf("requests per route: %v; want one sync run and no submit", st.Requests)
	}
	r = runCLI(t, "run", "falgo/echo", "-i", "x=1")
	if st := srv.Stats(); r.code != exitOK || st.Requests["submit"] != 1 {
		t.Errorf("without --sync: exit %d, requests %v; want a submit", r.code, st.Requests)
	}
}

func TestRunShowsQueueProgressAndLogs(t *testing.T) {
	startFal(t)
	r := runCLI(t, "run", "falgo/echo", "-i", `_logs=["first line","second line"]`)
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	id := requestIDIn(t, r.stderr)
	for _, want := range []string{"falgo: request " + id + " queued (falgo/echo)", "falgo: running", "[INFO] first line", "[INFO] second line", "falgo: completed in "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if i, j := strings.Index(r.stderr, "first line"), strings.Index(r.stderr, "second line"); i > j {
		t.Errorf("log lines out of order:\n%s", r.stderr)
	}
	q := runCLI(t, "run", "-q", "falgo/echo", "-i", `_logs=["x"]`)
	if q.code != exitOK || q.stderr != "" {
		t.Errorf("-q: exit %d, stderr %q; want nothing on stderr", q.code, q.stderr)
	}
}

// TestPipeOutputIsPlain checks acceptance 5: without a terminal, stdout and
// stderr hold no ANSI codes and no carriage returns. The same command on a
// (pretend) terminal does animate, so the check means something.
func TestPipeOutputIsPlain(t *testing.T) {
	startFal(t)
	args := []string{"run", "falgo/echo", "-i", `_logs=["a log line"]`, "-i", "_sleep_ms=250"}
	r := runCLI(t, args...)
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	for name, s := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		if strings.ContainsAny(s, "\x1b\r") {
			t.Errorf("%s on a pipe holds an escape code or a carriage return: %q", name, s)
		}
	}
	if strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("stdout on a pipe should be one line of JSON: %q", r.stdout)
	}

	tty := cliRun{tty: true}.run(t, args...)
	if tty.code != exitOK {
		t.Fatalf("tty: exit %d; stderr:\n%s", tty.code, tty.stderr)
	}
	if !strings.Contains(tty.stderr, "\r") || !strings.Contains(tty.stderr, "\x1b[") || !strings.Contains(tty.stderr, "running") {
		t.Errorf("on a terminal stderr should animate a coloured status line: %q", tty.stderr)
	}
	if !strings.Contains(tty.stdout, "\n  \"") {
		t.Errorf("on a terminal stdout should be indented JSON: %q", tty.stdout)
	}
	compact := cliRun{tty: true}.run(t, append([]string{"--json", "--no-color"}, args...)...)
	if strings.Count(compact.stdout, "\n") != 1 {
		t.Errorf("--json on a terminal: stdout should be one line: %q", compact.stdout)
	}
	if strings.Contains(compact.stderr, "\x1b") || !strings.Contains(compact.stderr, "\r") {
		t.Errorf("--no-color on a terminal: want the animation without escape codes: %q", compact.stderr)
	}
}

// TestRunInvalidInputNamesTheField: an input the app refuses (422) is
// reported with the field and how to set it (--no-validate: the app, not
// falgo's schema check, refuses it here).
func TestRunInvalidInputNamesTheField(t *testing.T) {
	startFal(t)
	for _, mode := range [][]string{{"run", "--no-validate"}, {"run", "--sync", "--no-validate"}} {
		r := runCLI(t, append(mode, "fal-ai/flux/schnell", "-i", "num_images=1")...)
		if r.code != exitError {
			t.Errorf("%v: exit %d, want %d; stderr:\n%s", mode, r.code, exitError, r.stderr)
		}
		last := lastLine(r.stderr)
		if !strings.HasPrefix(last, "falgo run: invalid input: ") || !strings.Contains(last, `field "prompt"`) || !strings.Contains(last, "-i prompt=") {
			t.Errorf("%v: the error line should name the field and the flag to set it: %q", mode, last)
		}
		if r.stdout != "" {
			t.Errorf("%v: stdout = %q, want nothing", mode, r.stdout)
		}
	}
	// A value out of range names its field too.
	r := runCLI(t, "run", "--no-validate", "fal-ai/flux/schnell", "-i", "prompt=x", "-i", "image_size.width=99999", "-i", "image_size.height=1")
	if last := lastLine(r.stderr); r.code != exitError || !strings.Contains(last, `field "image_size.width"`) {
		t.Errorf("exit %d, last stderr line %q; want the image_size.width field", r.code, last)
	}
}

func TestRunMissingCredentials(t *testing.T) {
	isolateCredentials(t)
	r := runCLI(t, "run", "fal-ai/flux/schnell", "-i", "prompt=x")
	if r.code != exitCredentials {
		t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, exitCredentials, r.stderr)
	}
	if strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("want exactly one line on stderr, got:\n%s", r.stderr)
	}
	for _, want := range []string{"falgo run: no fal credentials found", "FAL_KEY", "--local", "falgo auth"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q: %s", want, r.stderr)
		}
	}
	// A key source that is set but broken is named.
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("id:secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAL_KEY_FILE", keyFile)
	r = runCLI(t, "run", "fal-ai/flux/schnell", "-i", "prompt=x")
	if r.code != exitCredentials || !strings.Contains(r.stderr, "FAL_KEY_FILE is set but unusable") {
		t.Errorf("too-open key file: exit %d, stderr %s", r.code, r.stderr)
	}
}

func TestRunRejectedKey(t *testing.T) {
	startFal(t)
	t.Setenv("FAL_KEY", "not-the-server-key")
	r := runCLI(t, "run", "falgo/echo", "-i", "x=1")
	if r.code != exitCredentials || !strings.Contains(r.stderr, "fal rejected the credentials (401") {
		t.Errorf("exit %d, stderr %s; want code %d and a rejection", r.code, r.stderr, exitCredentials)
	}
}

// TestVerboseLogNeverShowsTheKey runs -v with a recognisable key (from the
// environment and from --key) and searches everything printed.
func TestVerboseLogNeverShowsTheKey(t *testing.T) {
	const key = "sk-RECOGNISABLE-0123456789abcdef"
	startFal(t, faltest.WithKey(key))
	t.Setenv("FAL_KEY", key)
	r := runCLI(t, "-v", "run", "falgo/echo", "-i", "x=1")
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "fal: http") || !strings.Contains(r.stderr, "method=POST") {
		t.Fatalf("-v printed no HTTP log; the check below would prove nothing:\n%s", r.stderr)
	}
	t.Setenv("FAL_KEY", "")
	r2 := runCLI(t, "-v", "--key", key, "run", "falgo/echo", "-i", "x=2")
	if r2.code != exitOK {
		t.Fatalf("--key: exit %d; stderr:\n%s", r2.code, r2.stderr)
	}
	for _, out := range []string{r.stdout, r.stderr, r2.stdout, r2.stderr} {
		if strings.Contains(out, key) || strings.Contains(out, "0123456789abcdef") {
			t.Errorf("the key appears in the output:\n%s", out)
		}
	}
}

// TestRunTimeoutLeavesTheRequestRunning checks that --timeout gives up
// waiting without cancelling: the error names the request, and `falgo
// result` fetches it afterwards.
func TestRunTimeoutLeavesTheRequestRunning(t *testing.T) {
	g := newGate()
	srv := startFal(t, faltest.WithApp("test/gate", g.app))
	r := runCLI(t, "--timeout", "1s", "run", "test/gate", "-i", "n=1")
	if r.code != exitTimeout {
		t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, exitTimeout, r.stderr)
	}
	last := lastLine(r.stderr)
	id := requestIDIn(t, last)
	if !strings.Contains(last, "--timeout") || !strings.Contains(last, "falgo result test/gate "+id) {
		t.Errorf("the error line should say how to reattach: %q", last)
	}
	close(g.release)
	res := runCLI(t, "result", "test/gate", id)
	if res.code != exitOK || res.stdout != `{"n":1}`+"\n" {
		t.Errorf("falgo result after the timeout: exit %d, stdout %q, stderr %s", res.code, res.stdout, res.stderr)
	}
	if len(g.canceled) != 0 || srv.Executions("test/gate") != 1 {
		t.Errorf("the request was cancelled or rerun: %d cancelled, %d executions", len(g.canceled), srv.Executions("test/gate"))
	}
}

// TestRunInterruptLeavesTheRequestRunning is Ctrl-C during a wait: exit
// 130, and the request is still there to fetch.
func TestRunInterruptLeavesTheRequestRunning(t *testing.T) {
	g := newGate()
	startFal(t, faltest.WithApp("test/gate", g.app))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan cliResult, 1)
	go func() { done <- cliRun{ctx: ctx}.run(t, "run", "test/gate", "-i", "n=2") }()
	id := receive(t, "the app to start", g.started)
	cancel()
	var r cliResult
	select {
	case r = <-done:
	case <-time.After(waitLimit):
		t.Fatal("falgo run did not stop after its context was cancelled")
	}
	last := lastLine(r.stderr)
	if r.code != exitInterrupted || !strings.Contains(last, "interrupted") || !strings.Contains(last, "falgo result test/gate "+id) {
		t.Fatalf("exit %d, last line %q; want %d and how to reattach", r.code, last, exitInterrupted)
	}
	close(g.release)
	res := runCLI(t, "result", "test/gate", id)
	if res.code != exitOK || res.stdout != `{"n":2}`+"\n" {
		t.Errorf("falgo result after Ctrl-C: exit %d, stdout %q, stderr %s", res.code, res.stdout, res.stderr)
	}
}

func TestRunSaveNamesAndNeverOverwrites(t *testing.T) {
	startFal(t)
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		r := runCLI(t, "run", "fal-ai/flux/schnell", "-i", "prompt=x", "-i", "num_images=2", "-i", "image_size=square", "-i", "seed=5", "--save", dir)
		if r.code != exitOK {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
		if strings.Count(r.stderr, "falgo: saved ") != 2 {
			t.Errorf("want two saved lines:\n%s", r.stderr)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Fatalf("want 4 files after two runs of two images, got %d", len(entries))
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "schnell-") || !strings.HasSuffix(e.Name(), ".png") {
			t.Errorf("unexpected name %s", e.Name())
		}
	}
	// The sync mode's data URIs are saved too.
	sdir := t.TempDir()
	r := runCLI(t, "run", "--sync", "fal-ai/flux/schnell", "-i", "prompt=x", "-i", "sync_mode=true", "-i", "image_size=square", "--save", sdir)
	if r.code != exitOK {
		t.Fatalf("sync_mode: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(sdir, "*.png"))
	if len(files) != 1 {
		t.Fatalf("sync_mode: saved %v", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("the data URI image does not decode: %v", err)
	}
}

func TestRunCommandLineErrors(t *testing.T) {
	isolateCredentials(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "accepts 1 arg"},
		{[]string{"run", "fal-ai/flux/schnell", "-i", "prompt"}, "-i prompt: expected key=value"},
		{[]string{"run", "fal-ai/flux/schnell", "-i", "image_url=@/does/not/exist.png"}, "does not exist"},
		{[]string{"run", "https://fal.run/fal-ai/flux", "-i", "a=1"}, "not a URL"},
		{[]string{"run", "fal-ai/flux/schnell", "--input", "/does/not/exist.json"}, "--input"},
		{[]string{"--key", "", "run", "fal-ai/flux/schnell"}, "--key is empty"},
		{[]string{"--local", "--key", "k", "run", "fal-ai/flux/schnell"}, "cannot be combined"},
		{[]string{"--timeout", "-1s", "run", "fal-ai/flux/schnell"}, "--timeout"},
		{[]string{"status", "falgo/echo", "a/b"}, "not a request id"},
		{[]string{"submit", "falgo/echo", "--priority", "urgent"}, "--priority"},
		{[]string{"submit", "falgo/echo", "--webhook", "ftp://x"}, "--webhook"},
		{[]string{"batch", "falgo/echo", "in.jsonl", "-c", "0"}, "concurrency"},
		{[]string{"upload"}, "requires at least 1 arg"},
	}
	for _, tt := range tests {
		r := runCLI(t, tt.args...)
		first, rest, _ := strings.Cut(r.stderr, "\n")
		if r.code != exitUsage || !strings.Contains(first, tt.want) || !regexp.MustCompile("^see `falgo( [a-z]+)? --help`\n$").MatchString(rest) {
			t.Errorf("%q: exit %d, stderr %q; want %d, %q and one line of hint (never the usage)", tt.args, r.code, r.stderr, exitUsage, tt.want)
		}
		if r.stdout != "" {
			t.Errorf("%q: stdout = %q", tt.args, r.stdout)
		}
	}
}

// TestRunReportsTheQueuePosition runs a request behind another on an app
// with one runner: stderr shows its place in the queue before it runs.
func TestRunReportsTheQueuePosition(t *testing.T) {
	g := newGate()
	startFal(t, faltest.WithApp("test/gate", g.app, faltest.Concurrency(1)))
	if r := runCLI(t, "submit", "test/gate", "-i", "n=1"); r.code != exitOK {
		t.Fatalf("submit: exit %d, stderr %s", r.code, r.stderr)
	}
	receive(t, "the first request to start", g.started)
	var stderr syncBuffer
	done := make(chan cliResult, 1)
	go func() { done <- cliRun{stderr: &stderr}.run(t, "run", "test/gate", "-i", "n=2") }()
	waitFor(t, "the queue position", func() bool { return strings.Contains(stderr.String(), "falgo: in queue at position 0") })
	close(g.release)
	r := receive(t, "falgo run", (<-chan cliResult)(done))
	if r.code != exitOK || r.stdout != `{"n":2}`+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	if i, j := strings.Index(r.stderr, "in queue at position 0"), strings.Index(r.stderr, "falgo: running"); i < 0 || j < i {
		t.Errorf("want the queue position, then running:\n%s", r.stderr)
	}
}
