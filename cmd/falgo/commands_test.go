package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falgo/fal/faltest"
)

// TestSubmitStatusResultCancel drives the queue commands on one app whose
// requests wait at a gate: submit, status (with and without logs), cancel,
// then a second request followed with status --watch and fetched with
// result, and a cancel that comes too late.
func TestSubmitStatusResultCancel(t *testing.T) {
	g := newGate()
	srv := startFal(t, faltest.WithApp("test/gate", g.app))

	// submit prints the id alone, and how to follow it on stderr.
	sub := runCLI(t, "submit", "test/gate", "-i", "n=1")
	if sub.code != exitOK {
		t.Fatalf("submit: exit %d; stderr:\n%s", sub.code, sub.stderr)
	}
	id := strings.TrimSpace(sub.stdout)
	if requestIDPattern.FindString("request "+id) == "" || strings.Count(sub.stdout, "\n") != 1 {
		t.Fatalf("submit stdout = %q, want one request id", sub.stdout)
	}
	if !strings.Contains(sub.stderr, "falgo status test/gate "+id+" --watch") {
		t.Errorf("submit should say how to follow the request: %s", sub.stderr)
	}
	if got := receive(t, "the app to start", g.started); got != id {
		t.Fatalf("the app started %s, submit printed %s", got, id)
	}

	st := runCLI(t, "status", "test/gate", id, "--logs")
	var view statusView
	if st.code != exitOK || json.Unmarshal([]byte(st.stdout), &view) != nil {
		t.Fatalf("status: exit %d, stdout %q, stderr %s", st.code, st.stdout, st.stderr)
	}
	if view.Status != "IN_PROGRESS" || view.RequestID != id || len(view.Logs) != 1 || view.Logs[0].Message != "waiting at the gate" {
		t.Errorf("status --logs = %+v", view)
	}
	if st := runCLI(t, "status", "test/gate", id); strings.Contains(st.stdout, "logs") {
		t.Errorf("status without --logs printed logs: %s", st.stdout)
	}

	cancel := runCLI(t, "cancel", "test/gate", id)
	if cancel.code != exitOK || !strings.Contains(cancel.stderr, "cancellation of request "+id+" requested") {
		t.Fatalf("cancel: exit %d, stderr %s", cancel.code, cancel.stderr)
	}
	if got := receive(t, "the app to see the cancellation", g.canceled); got != id {
		t.Errorf("cancelled %s, want %s", got, id)
	}
	res := runCLI(t, "result", "test/gate", id)
	if res.code != exitError || !strings.Contains(lastLine(res.stderr), "cancel") {
		t.Errorf("result of a cancelled request: exit %d, stderr %s", res.code, res.stderr)
	}

	// A second request: --json submit, watch it complete, fetch it.
	sub2 := runCLI(t, "--json", "submit", "test/gate", "-i", "n=2")
	var handle map[string]string
	if sub2.code != exitOK || json.Unmarshal([]byte(sub2.stdout), &handle) != nil || handle["request_id"] == "" || handle["app"] != "test/gate" {
		t.Fatalf("--json submit: exit %d, stdout %q", sub2.code, sub2.stdout)
	}
	id2 := handle["request_id"]
	receive(t, "the second request to start", g.started)
	close(g.release)
	watch := runCLI(t, "status", "test/gate", id2, "--watch", "--logs")
	if watch.code != exitOK {
		t.Fatalf("status --watch: exit %d; stderr %s", watch.code, watch.stderr)
	}
	lines := strings.Split(strings.TrimSpace(watch.stdout), "\n")
	var last statusView
	for _, l := range lines {
		if err := json.Unmarshal([]byte(l), &last); err != nil {
			t.Fatalf("status --watch line %q is not JSON", l)
		}
	}
	if last.Status != "COMPLETED" || last.Error != "" {
		t.Errorf("the last --watch line is %+v, want COMPLETED", last)
	}
	if n := strings.Count(watch.stdout, "waiting at the gate"); n != 1 {
		t.Errorf("--watch --logs printed the log line %d times, want once:\n%s", n, watch.stdout)
	}
	out := runCLI(t, "result", "test/gate", id2)
	if out.code != exitOK || out.stdout != `{"n":2}`+"\n" {
		t.Errorf("result: exit %d, stdout %q, stderr %s", out.code, out.stdout, out.stderr)
	}
	late := runCLI(t, "cancel", "test/gate", id2)
	if late.code != exitError || !strings.Contains(late.stderr, "already completed") {
		t.Errorf("cancel after completion: exit %d, stderr %s", late.code, late.stderr)
	}
	if n := srv.Executions("test/gate"); n != 2 {
		t.Errorf("the app ran %d times, want 2", n)
	}
}

func TestStatusWatchOfAFailedRequestExits1(t *testing.T) {
	startFal(t)
	sub := runCLI(t, "submit", "falgo/echo", "-i", `_error={"status":500,"detail":"boom","error_type":"app_error"}`)
	if sub.code != exitOK {
		t.Fatalf("submit: exit %d, stderr %s", sub.code, sub.stderr)
	}
	id := strings.TrimSpace(sub.stdout)
	w := runCLI(t, "status", "falgo/echo", id, "--watch")
	if w.code != exitError || !strings.Contains(lastLine(w.stderr), "request "+id+" failed") {
		t.Errorf("exit %d, stderr %s; want 1 and the failure", w.code, w.stderr)
	}
	if !strings.Contains(w.stdout, `"status":"COMPLETED"`) {
		t.Errorf("the COMPLETED status should still be printed: %s", w.stdout)
	}
}

func TestUnknownRequest(t *testing.T) {
	startFal(t)
	const id = "00000000-0000-4000-8000-00000000dead"
	for _, cmd := range []string{"status", "result", "cancel"} {
		r := runCLI(t, cmd, "falgo/echo", id)
		if r.code != exitError || !strings.Contains(r.stderr, "fal knows no request "+id+" for falgo/echo") {
			t.Errorf("%s of an unknown id: exit %d, stderr %s", cmd, r.code, r.stderr)
		}
	}
	// With --local the advice explains why ids do not outlive a command.
	r := runCLI(t, "--local", "result", "falgo/echo", id)
	if r.code != exitError || !strings.Contains(r.stderr, "falgo local") {
		t.Errorf("--local result: exit %d, stderr %s", r.code, r.stderr)
	}
}

func TestStreamPrintsOneJSONPerLine(t *testing.T) {
	startFal(t)
	r := runCLI(t, "stream", "fal-ai/any-llm", "-i", "prompt=why is the sky blue?")
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("want several events, got %q", r.stdout)
	}
	var ev struct {
		Output  string `json:"output"`
		Partial bool   `json:"partial"`
	}
	prev := ""
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %d is not JSON: %q", i+1, l)
		}
		if !strings.HasPrefix(ev.Output, prev) || ev.Partial != (i < len(lines)-1) {
			t.Errorf("event %d out of order: %q", i+1, l)
		}
		prev = ev.Output
	}
	if !strings.Contains(prev, "why is the sky blue?") {
		t.Errorf("the last event lacks the prompt: %q", prev)
	}
	// An app error mid-stream is a one-line error.
	e := runCLI(t, "stream", "falgo/echo", "-i", `_events=[{"a":1}]`, "-i", `_error={"status":500,"detail":"kaput"}`)
	if e.code != exitError || e.stdout != `{"a":1}`+"\n" || !strings.Contains(e.stderr, "kaput") {
		t.Errorf("stream error: exit %d, stdout %q, stderr %s", e.code, e.stdout, e.stderr)
	}
}

func TestUploadPrintsURLs(t *testing.T) {
	srv := startFal(t)
	dir := t.TempDir()
	a := filepath.Join(dir, "a.txt")
	b := filepath.Join(dir, "b.png")
	big := bytes.Repeat([]byte("0123456789"), 30_000)
	if err := os.WriteFile(a, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, big, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "upload", a, b)
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr %s", r.code, r.stderr)
	}
	urls := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(urls) != 2 {
		t.Fatalf("want two URLs, got %q", r.stdout)
	}
	if got := fetch(t, urls[0]); string(got) != "hello" {
		t.Errorf("first URL serves %q", got)
	}
	if got := fetch(t, urls[1]); !bytes.Equal(got, big) {
		t.Errorf("second URL serves %d bytes, want %d", len(got), len(big))
	}
	if f, ok := srv.File(urls[1]); !ok || f.Name != "b.png" || f.ContentType != "image/png" {
		t.Errorf("stored %+v, want b.png as image/png", f)
	}
	if r.stderr != "" {
		t.Errorf("no progress on a pipe, got %q", r.stderr)
	}

	j := runCLI(t, "--json", "upload", a)
	var line map[string]string
	if j.code != exitOK || json.Unmarshal([]byte(j.stdout), &line) != nil || line["file"] != a || !strings.HasPrefix(line["url"], srv.URL) {
		t.Errorf("--json upload: exit %d, stdout %q", j.code, j.stdout)
	}

	tty := cliRun{tty: true}.run(t, "upload", b)
	if tty.code != exitOK || !strings.Contains(tty.stderr, "b.png") || !strings.Contains(tty.stderr, "100%") {
		t.Errorf("on a terminal: exit %d, want a progress bar for b.png reaching 100%%: %q", tty.code, tty.stderr)
	}

	missing := runCLI(t, "upload", a, filepath.Join(dir, "nope"))
	if missing.code != exitUsage || missing.stdout != "" || srv.Stats().Requests["upload"] != 4 {
		t.Errorf("a missing file: exit %d, stdout %q, uploads %d; want a usage error before any upload", missing.code, missing.stdout, srv.Stats().Requests["upload"])
	}
}

// TestAuthNeverPrintsTheKey checks acceptance 4 with a recognisable key in
// every place a key can come from.
func TestAuthNeverPrintsTheKey(t *testing.T) {
	const key = "sk-RECOGNISABLE-auth-0123456789abcdef"
	startFal(t, faltest.WithKey(key))
	t.Setenv("FAL_KEY", key)
	var outputs []string
	r := runCLI(t, "auth")
	outputs = append(outputs, r.stdout, r.stderr)
	if r.code != exitOK || !strings.Contains(r.stdout, fmt.Sprintf("* FAL_KEY: found (set, %d chars)", len(key))) || !strings.Contains(r.stdout, "Colab: not detected") {
		t.Errorf("auth: exit %d, stdout:\n%s", r.code, r.stdout)
	}
	c := runCLI(t, "-v", "auth", "--check")
	outputs = append(outputs, c.stdout, c.stderr)
	if c.code != exitOK || !strings.Contains(c.stdout, "Check: OK") || !strings.Contains(c.stderr, "status=404") {
		t.Errorf("auth --check: exit %d, stdout %s, stderr %s", c.code, c.stdout, c.stderr)
	}
	k := runCLI(t, "--key", key, "auth", "--check")
	outputs = append(outputs, k.stdout, k.stderr)
	if k.code != exitOK || !strings.Contains(k.stdout, fmt.Sprintf("Using: --key (%d chars)", len(key))) || strings.Contains(k.stdout, "* ") {
		t.Errorf("--key auth: exit %d, stdout %s", k.code, k.stdout)
	}
	for _, o := range outputs {
		if strings.Contains(o, key) || strings.Contains(o, "0123456789abcdef") {
			t.Errorf("the key appears in the output:\n%s", o)
		}
	}

	t.Setenv("FAL_KEY", "wrong-key")
	w := runCLI(t, "auth", "--check")
	if w.code != exitCredentials || !strings.Contains(w.stdout, "Check: REJECTED: fal answered 401") {
		t.Errorf("a wrong key: exit %d, stdout %s, stderr %s", w.code, w.stdout, w.stderr)
	}
}

func TestAuthInColabWithoutKey(t *testing.T) {
	isolateCredentials(t)
	t.Setenv("COLAB_RELEASE_TAG", "release-colab_20250101")
	r := runCLI(t, "auth")
	if r.code != exitOK || !strings.Contains(r.stdout, "Colab: Google Colab runtime detected") || !strings.Contains(r.stdout, `userdata.get("FAL_KEY")`) {
		t.Errorf("exit %d, stdout:\n%s", r.code, r.stdout)
	}
	c := runCLI(t, "auth", "--check")
	if c.code != exitCredentials || !strings.Contains(c.stderr, "Colab") {
		t.Errorf("--check without a key: exit %d, stderr %s", c.code, c.stderr)
	}
	l := runCLI(t, "--local", "auth", "--check")
	if l.code != exitOK || !strings.Contains(l.stdout, "--local:") || !strings.Contains(l.stdout, "Check: OK") {
		t.Errorf("--local auth --check: exit %d, stdout %s, stderr %s", l.code, l.stdout, l.stderr)
	}
}

func TestCompletionAndHelp(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := runCLI(t, "completion", shell)
		if r.code != exitOK || !strings.Contains(r.stdout, "falgo") {
			t.Errorf("completion %s: exit %d, %d bytes", shell, r.code, len(r.stdout))
		}
	}
	r := runCLI(t, "__complete", "run", "")
	if r.code != exitOK || !strings.Contains(r.stdout, "fal-ai/flux/schnell") {
		t.Errorf("completing an app id: exit %d, stdout %q", r.code, r.stdout)
	}
	h := runCLI(t, "--help")
	for _, want := range []string{"--local", "--key", "--timeout", "--verbose", "--no-color", "--json", "Exit codes", "130", "batch", "upload", "auth", "stream", "submit", "status", "result", "cancel", "local"} {
		if !strings.Contains(h.stdout, want) {
			t.Errorf("falgo --help does not mention %q", want)
		}
	}
	for _, cmd := range []string{"run", "submit", "stream"} {
		if h := runCLI(t, cmd, "--help"); !strings.Contains(h.stdout, "key=@path") || !strings.Contains(h.stdout, "Dotted keys") {
			t.Errorf("falgo %s --help does not explain -i", cmd)
		}
	}
}
