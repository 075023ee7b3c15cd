//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/draw"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/falgo/fal/faltest"
)

// requireBrowserEnv, set to 1 (as .ci/run does), turns the browser test's
// skips (no Chromium, no Node.js, no node_modules) into failures.
const requireBrowserEnv = "FALGO_REQUIRE_BROWSER"

// browserTimeout bounds the whole browser run, servers included.
const browserTimeout = 3 * time.Minute

// screenshotPath is where TestBrowser leaves its screenshot (gitignored).
const screenshotPath = "artifacts/screenshot.png"

// needTools skips (or, under FALGO_REQUIRE_BROWSER=1, fails) the test unless
// Node.js and the example's npm dependencies are installed, and, with
// chromium, Debian's Chromium too. It returns the Chromium path.
func needTools(t *testing.T, chromium bool) string {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv(requireBrowserEnv) == "1" {
			t.Fatalf("%s (%s=1 makes this a failure)", what, requireBrowserEnv)
		}
		t.Skip(what)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node is not installed: apt-get install nodejs npm")
	}
	if _, err := os.Stat("node_modules/puppeteer-core/package.json"); err != nil {
		missing("the example's npm dependencies are not installed: run `npm ci` in examples/webapp")
	}
	if !chromium {
		return ""
	}
	path := os.Getenv("WEBAPP_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		missing(path + " is missing: apt-get install chromium (Debian's package) to run the browser test")
	}
	return path
}

// TestBundleUpToDate checks that the committed static/app.js is what
// build.mjs makes from src/ and the locked dependencies.
func TestBundleUpToDate(t *testing.T) {
	needTools(t, false)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "node", "build.mjs", "--check").CombinedOutput()
	if err != nil {
		t.Fatalf("node build.mjs --check: %v\n%s", err, out)
	}
}

// browserReport is what browser.mjs writes.
type browserReport struct {
	State      string `json:"state"`
	StatusText string `json:"statusText"`
	Timeline   []struct {
		Status string `json:"status"`
		Text   string `json:"text"`
	} `json:"timeline"`
	Logs      string `json:"logs"`
	Error     string `json:"error"`
	RequestID string `json:"requestId"`
	Image     struct {
		Src           string `json:"src"`
		Complete      bool   `json:"complete"`
		NaturalWidth  int    `json:"naturalWidth"`
		NaturalHeight int    `json:"naturalHeight"`
		Visible       bool   `json:"visible"`
		BytesBase64   string `json:"bytesBase64"`
		Decoded       struct {
			Width      int    `json:"width"`
			Height     int    `json:"height"`
			RGBASHA256 string `json:"rgbaSHA256"`
		} `json:"decoded"`
	} `json:"image"`
	Requests []struct {
		URL          string            `json:"url"`
		Method       string            `json:"method"`
		ResourceType string            `json:"resourceType"`
		Headers      map[string]string `json:"headers"`
		PostData     *string           `json:"postData"`
	} `json:"requests"`
	Wire []struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	} `json:"wire"`
	Resources []struct {
		URL  string  `json:"url"`
		Type string  `json:"type"`
		Body *string `json:"body"`
	} `json:"resources"`
	HTML    string `json:"html"`
	Storage struct {
		Local   map[string]string `json:"local"`
		Session map[string]string `json:"session"`
	} `json:"storage"`
	Cookies []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"cookies"`
	Console    []string `json:"console"`
	PageErrors []string `json:"pageErrors"`
}

// TestBrowser runs the page in headless Chromium against a faltest server:
// it generates an image through the proxy, and the test checks that the
// browser got and decoded the PNG faltest stored, showed the queue status and
// the logs, and never saw the fal key.
func TestBrowser(t *testing.T) {
	chromium := needTools(t, true)
	ctx, cancel := context.WithTimeout(t.Context(), browserTimeout)
	defer cancel()

	key := "browser-test-" + rand.Text() // unique, so any sighting is a leak
	fal := faltest.NewServer(faltest.WithKey(key))
	defer fal.Close()
	web := startWebApp(t, fal)

	dir := t.TempDir()
	reportPath := filepath.Join(dir, "report.json")
	if err := os.MkdirAll(filepath.Dir(screenshotPath), 0o755); err != nil {
		t.Fatal(err)
	}
	runBrowser(ctx, t, chromium, dir, "--url", web.URL+"/", "--report", reportPath, "--screenshot", screenshotPath,
		"--timeout-ms", "120000")

	raw, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep browserReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	t.Logf("page: state %q, timeline %v, %d requests, console %q, errors %q", rep.State, rep.Timeline, len(rep.Requests), rep.Console, rep.PageErrors)
	if rep.State != "done" {
		t.Fatalf("the page ended in state %q (%q): %s", rep.State, rep.StatusText, rep.Error)
	}
	checkProgress(t, &rep)
	checkImage(t, fal, &rep)
	checkNoKey(t, key, raw, &rep)
	checkOnlyProxy(t, web.URL, fal.URL, &rep)
	checkScreenshot(t)
}

// runBrowser runs browser.mjs in a process group of its own, so that the
// browser it starts dies with it: on timeout, on failure and at the end.
func runBrowser(ctx context.Context, t *testing.T, chromium, home string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "node", append([]string{"browser.mjs", "--chromium", chromium}, args...)...)
	// A minimal environment: no fal credentials of this machine reach the
	// browser side, and Chromium keeps its caches under the temporary home.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + home}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	killGroup := func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.Cancel = killGroup
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	_ = killGroup() // anything the script left behind
	if err != nil {
		t.Fatalf("node browser.mjs: %v\n%s", err, out.Bytes())
	}
	if out.Len() > 0 {
		t.Logf("browser.mjs: %s", out.Bytes())
	}
}

// checkProgress checks the page showed the queue position from the submit
// answer, then the run and its completion, and the app's logs.
func checkProgress(t *testing.T, rep *browserReport) {
	t.Helper()
	if len(rep.Timeline) < 2 || rep.Timeline[0].Status != "IN_QUEUE" || !strings.Contains(rep.Timeline[0].Text, "position 0") {
		t.Errorf("timeline %v: want it to start with the queue position (IN_QUEUE, position 0)", rep.Timeline)
	}
	if n := len(rep.Timeline); n == 0 || rep.Timeline[n-1].Status != "COMPLETED" {
		t.Errorf("timeline %v: want it to end with COMPLETED", rep.Timeline)
	}
	for _, want := range []string{"Loading fal-ai/flux/schnell", "Step 4/4", "Generated 1 image(s)"} {
		if !strings.Contains(rep.Logs, want) {
			t.Errorf("logs %q lack %q", rep.Logs, want)
		}
	}
}

// checkImage checks the browser received the bytes faltest stored for the
// output, showed the image, and decoded the same pixels Go decodes.
func checkImage(t *testing.T, fal *faltest.Server, rep *browserReport) {
	t.Helper()
	stored, ok := fal.File(rep.Image.Src)
	if !ok {
		t.Fatalf("image %q is not a file faltest stored", rep.Image.Src)
	}
	got, err := base64.StdEncoding.DecodeString(rep.Image.BytesBase64)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, stored.Data) {
		t.Fatalf("the browser received %d bytes (sha256 %x), faltest stored %d (sha256 %x)", len(got), sha256.Sum256(got), len(stored.Data), sha256.Sum256(stored.Data))
	}
	img, err := png.Decode(bytes.NewReader(stored.Data))
	if err != nil {
		t.Fatalf("the stored image is not a PNG: %v", err)
	}
	b := img.Bounds()
	if !rep.Image.Complete || !rep.Image.Visible || rep.Image.NaturalWidth != b.Dx() || rep.Image.NaturalHeight != b.Dy() {
		t.Errorf("the page's image: complete %v, visible %v, %dx%d; the PNG is %dx%d", rep.Image.Complete, rep.Image.Visible,
			rep.Image.NaturalWidth, rep.Image.NaturalHeight, b.Dx(), b.Dy())
	}
	rgba := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	sum := sha256.Sum256(rgba.Pix)
	if d := rep.Image.Decoded; d.Width != b.Dx() || d.Height != b.Dy() || d.RGBASHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("Chromium decoded %dx%d pixels with sha256 %s; Go decodes %dx%d with %x", d.Width, d.Height, d.RGBASHA256, b.Dx(), b.Dy(), sum)
	}
}

// checkNoKey checks the fal key appears nowhere the browser could see it: the
// page's HTML and the bodies of its documents, scripts and style sheets, any
// request's URL, headers (as recorded by puppeteer and as sent on the wire)
// or body, the storages and the cookies. It also searches the whole report,
// so nothing recorded escapes the check.
func checkNoKey(t *testing.T, key string, raw []byte, rep *browserReport) {
	t.Helper()
	var bodies int
	for _, r := range rep.Resources {
		if r.Body != nil {
			bodies++
		}
	}
	var proxied int
	for _, r := range rep.Requests {
		if strings.HasSuffix(r.URL, "/api/fal/proxy") && r.Headers["x-fal-target-url"] != "" {
			proxied++
		}
	}
	// Guard against a vacuous check: the recording must hold what it claims.
	if rep.HTML == "" || bodies < 3 || proxied < 3 || len(rep.Wire) == 0 || len(rep.Cookies) == 0 {
		t.Fatalf("the report is incomplete: html %d bytes, %d bodies, %d proxied requests, %d wire header sets, %d cookies",
			len(rep.HTML), bodies, proxied, len(rep.Wire), len(rep.Cookies))
	}
	if bytes.Contains(raw, []byte(key)) {
		for _, where := range keySightings(key, rep) {
			t.Errorf("the fal key is in %s", where)
		}
		t.Fatal("the fal key reached the browser")
	}
}

// keySightings lists where in the report the key appears, for the failure
// message.
func keySightings(key string, rep *browserReport) []string {
	var at []string
	if strings.Contains(rep.HTML, key) {
		at = append(at, "the page's HTML")
	}
	for _, r := range rep.Resources {
		if r.Body != nil && strings.Contains(*r.Body, key) {
			at = append(at, "the body of "+r.URL)
		}
	}
	for _, r := range rep.Requests {
		blob, _ := json.Marshal(r)
		if strings.Contains(string(blob), key) {
			at = append(at, "the request "+r.Method+" "+r.URL)
		}
	}
	for _, r := range rep.Wire {
		blob, _ := json.Marshal(r.Headers)
		if strings.Contains(string(blob), key) {
			at = append(at, "the headers sent to "+r.URL)
		}
	}
	blob, _ := json.Marshal(rep.Storage)
	if strings.Contains(string(blob), key) {
		at = append(at, "localStorage or sessionStorage")
	}
	blob, _ = json.Marshal(rep.Cookies)
	if strings.Contains(string(blob), key) {
		at = append(at, "the cookies")
	}
	if len(at) == 0 {
		at = append(at, "the report (elsewhere)")
	}
	return at
}

// checkOnlyProxy checks the browser talked to fal only through the proxy:
// its only requests to the fal server are GETs of stored files.
func checkOnlyProxy(t *testing.T, webURL, falURL string, rep *browserReport) {
	t.Helper()
	for _, r := range rep.Requests {
		u, err := url.Parse(r.URL)
		if err != nil {
			t.Errorf("request URL %q: %v", r.URL, err)
			continue
		}
		origin := u.Scheme + "://" + u.Host
		switch {
		case origin == webURL:
		case origin == falURL && r.Method == "GET" && strings.HasPrefix(u.Path, "/cdn/"):
		case u.Scheme == "data":
		default:
			t.Errorf("the browser sent %s %s, neither to the web app nor a CDN file", r.Method, r.URL)
		}
	}
}

// checkScreenshot checks the screenshot is a PNG of a page.
func checkScreenshot(t *testing.T) {
	t.Helper()
	f, err := os.Open(screenshotPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", screenshotPath, err)
	}
	if cfg.Width < 600 || cfg.Height < 600 {
		t.Errorf("%s is %dx%d, too small to show the page", screenshotPath, cfg.Width, cfg.Height)
	}
	t.Logf("screenshot: %s (%dx%d)", screenshotPath, cfg.Width, cfg.Height)
}
