package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// The terminal user's first minutes (issue 15): messages in their words,
// checks before billing, and output that tells the truth.

// goIdentifier matches the Go API names a CLI message must never show.
var goIdentifier = regexp.MustCompile(`\bWith[A-Z]\w+|\bErr[A-Z]\w+|Server\.Key|faltest\.|fal\.[A-Z]`)

func TestMessagesHaveNoGoIdentifiers(t *testing.T) {
	startFal(t)
	check := func(what, out string) {
		t.Helper()
		if m := goIdentifier.FindString(out); m != "" {
			t.Errorf("%s: %q shows the Go name %q", what, out, m)
		}
	}
	r := runCLI(t, "run", "https://fal.run/fal-ai/flux", "-i", "a=1")
	check("an app URL", r.stderr)
	if !strings.Contains(r.stderr, "FAL_RUN_HOST") {
		t.Errorf("an app URL: %q should say which setting points falgo elsewhere", r.stderr)
	}
	t.Setenv("FAL_KEY", "wrong-key")
	r = runCLI(t, "run", "--no-validate", "falgo/echo", "-i", "a=1")
	mustExit(t, "a wrong key", r, exitCredentials)
	check("a wrong key", r.stderr)
	os.Unsetenv("FAL_KEY")
	r = runCLI(t, "auth")
	check("falgo auth without credentials", r.stdout)
	for _, err := range []error{
		&fal.HTTPError{StatusCode: http.StatusNotFound, Message: `Application "a/b" not found: no faltest app is registered under it (register one with faltest.WithApp or Server.Register)`},
		errors.New("fal: run a/b: the output is larger than 256 MiB, the body limit (raise it with fal.WithLimits)"),
	} {
		msg, _ := describeError(err)
		check("describeError", msg)
	}
}

func TestFilesystemErrorsAreNotBlamedOnTheNetwork(t *testing.T) {
	err := fmt.Errorf("--save: %w", &fs.PathError{Op: "mkdir", Path: "ro", Err: syscall.ENOTDIR})
	msg, code := describeError(err)
	if code != exitError || strings.Contains(msg, "network") || !strings.Contains(msg, "file system") {
		t.Errorf("describeError(%v) = %q, %d; want a file system error, not the network", err, msg, code)
	}
}

func TestSaveDirIsCheckedBeforeSubmitting(t *testing.T) {
	srv := startFal(t)
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "sub")} {
		r := runCLI(t, "run", "fal-ai/flux/schnell", "-i", "prompt=x", "--save", dir)
		if r.code != exitUsage || !strings.Contains(r.stderr, "is a file") || strings.Contains(r.stderr, "network") {
			t.Errorf("--save %s: exit %d, stderr %q; want exit 2 naming the file in the way", dir, r.code, r.stderr)
		}
	}
	in := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(in, []byte(`{"prompt":"x"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "batch", "fal-ai/flux/schnell", in, "--save", file)
	mustExit(t, "batch --save FILE", r, exitUsage)
	if n := srv.Stats().Requests["submit"]; n != 0 {
		t.Errorf("%d submits with a --save that cannot work; want none", n)
	}
}

func TestBrokenJSONInputIsACommandLineError(t *testing.T) {
	srv := startFal(t)
	r := runCLI(t, "run", "--no-validate", "falgo/echo", "-i", `image_size={"width":512,"height":}`)
	if r.code != exitUsage || !strings.Contains(r.stderr, "at character 23") {
		t.Errorf("exit %d, stderr %q; want exit 2 with the position", r.code, r.stderr)
	}
	if n := srv.Stats().Requests["submit"]; n != 0 {
		t.Errorf("%d submits; want none", n)
	}
}

func TestLocalMisspeltAppSuggestsADemoApp(t *testing.T) {
	isolateCredentials(t)
	r := runCLI(t, "--local", "run", "--no-validate", "fal-ai/flux/schnel", "-i", "prompt=x")
	if r.code != exitError || !strings.Contains(r.stderr, "did you mean fal-ai/flux/schnell?") || !strings.Contains(r.stderr, "falgo local --list") {
		t.Errorf("exit %d, stderr %q; want a did-you-mean from the demo apps and the --list hint", r.code, r.stderr)
	}
}

func TestLocalRunSaysURLsDieWithTheCommand(t *testing.T) {
	isolateCredentials(t)
	r := runCLI(t, "--local", "run", "fal-ai/flux/schnell", "-i", "prompt=x")
	mustExit(t, "--local run", r, exitOK)
	if !strings.Contains(r.stderr, "add --save DIR to keep the files") {
		t.Errorf("stderr %q; want the note that the URLs die with the command", r.stderr)
	}
	r = runCLI(t, "--local", "run", "fal-ai/flux/schnell", "-i", "prompt=x", "--save", t.TempDir())
	if strings.Contains(r.stderr, "add --save DIR") {
		t.Errorf("with --save: stderr %q still suggests --save", r.stderr)
	}
}

func TestStreamOnATerminalPrintsTheText(t *testing.T) {
	isolateCredentials(t)
	r := ttyCLI(t, "--local", "stream", "fal-ai/any-llm", "-i", "prompt=hi")
	mustExit(t, "stream on a terminal", r, exitOK)
	want := `This is google/gemini-flash-1.5, simulated by faltest. You asked: "hi". A real model would answer here; this reply is the same every time for the same prompt.` + "\n"
	if r.stdout != want {
		t.Errorf("stdout %q, want the text once, as written, with a final newline: %q", r.stdout, want)
	}
	r = ttyCLI(t, "--local", "--json", "stream", "fal-ai/any-llm", "-i", "prompt=hi")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("--json on a terminal: %q is not one JSON line", l)
		}
	}
	if len(lines) < 3 {
		t.Errorf("--json: %d lines; want one per event", len(lines))
	}
}

func TestResultOfAFinishedRequestTellsHowLongItTook(t *testing.T) {
	startFal(t)
	sub := runCLI(t, "submit", "falgo/echo", "-i", "a=1")
	mustExit(t, "submit", sub, exitOK)
	id := strings.TrimSpace(sub.stdout)
	mustExit(t, "first result", runCLI(t, "result", "falgo/echo", id), exitOK)
	r := runCLI(t, "result", "falgo/echo", id)
	mustExit(t, "result again", r, exitOK)
	if !strings.Contains(r.stderr, "(it had finished before falgo reattached)") {
		t.Errorf("stderr %q; want the request's own time, said to be from before falgo reattached", r.stderr)
	}
	w := ttyCLI(t, "status", "--watch", "falgo/echo", id)
	mustExit(t, "status --watch", w, exitOK)
	if !strings.Contains(w.stderr, "(it had finished before falgo reattached)") {
		t.Errorf("status --watch on a terminal: stderr %q; want how the request ended", w.stderr)
	}
}

func TestResultOfACancelledRequestIsNotRunning(t *testing.T) {
	g := newGate()
	srv := startFal(t, faltest.WithApp("test/gate", g.app))
	sub := runCLI(t, "submit", "--no-validate", "test/gate", "-i", "a=1")
	mustExit(t, "submit", sub, exitOK)
	id := strings.TrimSpace(sub.stdout)
	receive(t, "the gate to start", g.started)
	mustExit(t, "cancel", runCLI(t, "cancel", "test/gate", id), exitOK)
	receive(t, "the cancellation", g.canceled)
	// The handler seeing its context cancelled and the server marking the
	// request finished are two steps: wait for the second, so that result
	// attaches to a request fal reports as over (while it still reports it
	// running, "running" is the truth).
	waitFor(t, "the request to be reported finished", func() bool {
		st, err := srv.Client().Status(context.Background(), "test/gate", id)
		_, done := st.(fal.Completed)
		return err == nil && done
	})
	r := runCLI(t, "result", "test/gate", id)
	if r.code != exitError || strings.Contains(r.stderr, "falgo: running") || !strings.Contains(r.stderr, "cancel") {
		t.Errorf("exit %d, stderr %q; want the failure without a \"running\" line first", r.code, r.stderr)
	}
}

func TestUploadBarShowsBytesRateAndTimeLeft(t *testing.T) {
	startFal(t)
	p := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(p, make([]byte, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	r := ttyCLI(t, "upload", p)
	mustExit(t, "upload", r, exitOK)
	for _, want := range []string{`\( *[0-9.]+ ?[kMG]?B?/3\.1 MB`, ` [0-9.]+ [kMG]?B/s\)`, `\[[0-9hms]+:[0-9hms]+\]`} {
		if !regexp.MustCompile(want).MatchString(r.stderr) {
			t.Errorf("upload bar %q lacks %s; want bytes done/total, the rate and the time left", r.stderr, want)
		}
	}
}

func TestBatchBarCountersAgreeWithTheCount(t *testing.T) {
	var stderr syncBuffer
	con := &console{stdout: &syncBuffer{}, stderr: &stderr, stderrTTY: true, width: 100}
	b := &batchRun{c: &cli{con: con}, total: 4}
	b.bar = b.newBar()
	frame := regexp.MustCompile(`(\d+) done · (\d+) failed · (\d+) in flight.*\((\d+)/4`)
	steps := []func(){
		func() { b.inFlight = 3 },
		func() { b.inFlight--; b.ok++ },
		func() { b.inFlight--; b.failed++ },
		func() { b.inFlight++ },
		func() { b.inFlight--; b.ok++ },
		func() { b.inFlight--; b.ok++ },
	}
	for i, step := range steps {
		b.update(step)
		out := strings.TrimRight(stderr.String(), "\n ")
		last := out[strings.LastIndex(out, "\r")+1:]
		m := frame.FindStringSubmatch(last)
		if m == nil {
			t.Fatalf("step %d: last frame %q has no counters", i, last)
		}
		if want := fmt.Sprint(b.ok + b.failed); m[4] != want || m[1] != fmt.Sprint(b.ok) || m[2] != fmt.Sprint(b.failed) {
			t.Errorf("step %d: frame %q; want %d done, %d failed, count %s", i, last, b.ok, b.failed, want)
		}
	}
}

func TestBatchLeavesNothingWhenItCannotStart(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, []byte(`{"a":1}`+"\n"+`{"a":2}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	startFal(t)
	os.Unsetenv("FAL_KEY")
	r := runCLI(t, "batch", "--no-validate", "falgo/echo", in, "-o", out)
	mustExit(t, "batch without credentials", r, exitCredentials)
	if strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "no fal credentials") {
		t.Errorf("without credentials: stderr %q; want only the one error line, before any plan", r.stderr)
	}
	t.Setenv("FAL_KEY", "wrong-key")
	r = runCLI(t, "batch", "--no-validate", "falgo/echo", in, "-o", out)
	mustExit(t, "batch with a rejected key", r, exitCredentials)
	for _, p := range []string{out, out + ".journal", out + ".uncertain"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left behind (%v); a batch that never started leaves nothing", p, err)
		}
	}
}

func TestBatchSavesFilesAsResultsArrive(t *testing.T) {
	startFal(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, []byte(`{"prompt":"a"}`+"\n"+`{"prompt":"b","num_images":2}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	save := filepath.Join(dir, "files")
	r := runCLI(t, "batch", "fal-ai/flux/schnell", in, "--save", save)
	mustExit(t, "batch --save", r, exitOK)
	for _, name := range []string{"line1-0.png", "line2-0.png", "line2-1.png"} {
		b, err := os.ReadFile(filepath.Join(save, name))
		if err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
			t.Errorf("%s: %v; want the PNG of that line's output", name, err)
		}
	}
}

func TestLocalBatchRerunSubmitsWhatDiedWithTheEarlierServer(t *testing.T) {
	isolateCredentials(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, []byte(`{"a":1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	inputs, err := readBatchInputs(in)
	if err != nil {
		t.Fatal(err)
	}
	// What kill -9 leaves of an earlier --local run: a request id, on a
	// server that died with that process.
	var journal []byte
	for _, e := range []journalRecord{
		{Version: journalVersion, App: "falgo/echo"},
		{Line: 1, Event: evSubmitting, InputSum: inputs[0].sum, JSONSum: inputs[0].jsonSum, At: now()},
		{Line: 1, Event: evAccepted, InputSum: inputs[0].sum, RequestID: "0f6d7a52-1111-4222-8333-944455556666", At: now()},
	} {
		l, err := marshalJSON(e)
		if err != nil {
			t.Fatal(err)
		}
		journal = append(append(journal, l...), '\n')
	}
	if err := os.WriteFile(out+".journal", journal, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "--local", "batch", "--no-validate", "falgo/echo", in, "-o", out)
	mustExit(t, "--local rerun", r, exitOK)
	if !strings.Contains(r.stderr, "stopped with its falgo process") {
		t.Errorf("stderr %q; want it to say why the earlier request is gone", r.stderr)
	}
	if res := readResults(t, out); res[1].Error != nil || len(res[1].Output) == 0 {
		t.Errorf("line 1: %+v; want its output from this run", res[1])
	}
}
