package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/falgo/fal/faltest"
)

func TestEscapeControls(t *testing.T) {
	tests := []struct {
		in                    string
		inline, block, asJSON string
	}{
		{"plain text, ünïcødé ✓", "plain text, ünïcødé ✓", "plain text, ünïcødé ✓", "plain text, ünïcødé ✓"},
		{"\x1b]0;PWNED\a\x1b[2J", `\x1b]0;PWNED\x07\x1b[2J`, `\x1b]0;PWNED\x07\x1b[2J`, `\u001b]0;PWNED\u0007\u001b[2J`},
		{"\u009b31m red", `\u009b31m red`, `\u009b31m red`, `\u009b31m red`},
		{"a\tb\nc\rd", `a\tb\nc\rd`, "a\tb\nc\\rd", "a\\u0009b\nc\\u000dd"},
		{"nul\x00 del\x7f nel\u0085 apc\u009f", `nul\x00 del\x7f nel\u0085 apc\u009f`, `nul\x00 del\x7f nel\u0085 apc\u009f`, `nul\u0000 del\u007f nel\u0085 apc\u009f`},
		{"bad \xff\xc2 utf8", `bad \xff\xc2 utf8`, `bad \xff\xc2 utf8`, `bad \ufffd\ufffd utf8`},
		{"\u00a0nbsp and \u2028 stay", "\u00a0nbsp and \u2028 stay", "\u00a0nbsp and \u2028 stay", "\u00a0nbsp and \u2028 stay"},
		{`back\slash \x1b stays`, `back\slash \x1b stays`, `back\slash \x1b stays`, `back\slash \x1b stays`},
	}
	for _, tt := range tests {
		for form, want := range map[textForm]string{inline: tt.inline, block: tt.block, jsonText: tt.asJSON} {
			got := escapeControls(tt.in, form)
			if got != want {
				t.Errorf("escapeControls(%q, %d) = %q, want %q", tt.in, form, got, want)
			}
			if bad := rawControls(got, false); len(bad) > 0 && form != block {
				t.Errorf("escapeControls(%q, %d) left %v", tt.in, form, bad)
			}
		}
	}
	// JSON stays valid and means the same once escaped.
	raw := []byte("{\"s\":\"\x7f\u009b\xff\",\"n\":[1, 2]}")
	var v struct{ S string }
	if err := json.Unmarshal(escapeJSON(raw), &v); err != nil || v.S != "\x7f\u009b\ufffd" {
		t.Errorf("escapeJSON(%q) = %q: decodes to %q, %v", raw, escapeJSON(raw), v.S, err)
	}
}

func TestSprintfEscapesArgumentsButNotPaint(t *testing.T) {
	c := &console{color: true}
	got := sprintf("%s %v %q %d %s", "\x1b[2J", fmt.Errorf("e\a"), "\u009b", 7, c.paint(ansiRed, "x\x1b"))
	want := `\x1b[2J e\x07 "\u009b" 7 ` + ansiRed + `x\x1b` + ansiReset
	if string(got) != want {
		t.Errorf("sprintf = %q, want %q", got, want)
	}
}

// hostile is what a hostile server puts in every text it sends: terminal
// title and screen-clearing sequences (OSC, CSI), a C1 CSI, carriage
// return, bell, NUL, DEL, a tab and a newline.
const hostile = "\x1b]0;PWNED\a\x1b[2J \u009b31m red\r over\a\x00 nul\x7f del\t tab\n nl"

// Escaped forms of the hostile text that must show on the terminal.
const (
	escapedOSC     = `\x1b]0;PWNED\x07\x1b[2J` // on stderr
	escapedC1      = `\u009b31m`               // on stderr and in JSON
	escapedJSONOSC = `\u001b]0;PWNED\u0007\u001b[2J`
)

// hostileApp puts the hostile text into everything it sends: its log
// lines (level and message), its output (text and file names), its stream
// events and, by input "mode", its failure (an app error or a 422 naming a
// hostile field).
func hostileApp(_ context.Context, req *faltest.Request) (any, error) {
	var in struct {
		Mode string `json:"mode"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	req.Log("INFO"+hostile, "log "+hostile)
	req.Log("ERROR", "error "+hostile)
	switch in.Mode {
	case "fail":
		return nil, &faltest.AppError{Status: 500, Detail: "app failed: " + hostile}
	case "http":
		return nil, &faltest.AppError{Status: 400, Detail: "bad request: " + hostile}
	case "invalid":
		return nil, faltest.ValidationError("field"+hostile, "msg "+hostile)
	}
	if err := req.Emit(map[string]string{"text": hostile}); err != nil {
		return nil, err
	}
	u := req.Upload("image/png", "x.png", []byte("\x89PNG\r\n\x1a\n"))
	file := func(name string) map[string]string {
		return map[string]string{"url": u, "content_type": "image/png", "file_name": name}
	}
	return map[string]any{"text": hostile, "images": []any{
		file(hostile + ".png"), file("cat\u009b.png"), file("-rf.png"), file("NUL.png"), file("ok.png"),
	}}, nil
}

// rawControls lists the control characters in out that the CLI may not
// print: every C0 and C1 character, DEL and invalid UTF-8 except newlines
// and tabs, and, when tty is set, the CLI's own colour codes and the
// carriage returns that redraw its status line and progress bars.
func rawControls(out string, tty bool) []string {
	if tty {
		out = strings.NewReplacer(ansiReset, "", ansiDim, "", ansiRed, "", ansiGreen, "", ansiYellow, "", ansiCyan, "", "\r", "").Replace(out)
	}
	var bad []string
	for i := 0; i < len(out); {
		r, size := utf8.DecodeRuneInString(out[i:])
		switch {
		case r == utf8.RuneError && size == 1,
			r < 0x20 && r != '\n' && r != '\t',
			r >= 0x7f && r <= 0x9f:
			lo, hi := max(0, i-20), min(len(out), i+20)
			bad = append(bad, fmt.Sprintf("%q at %d in …%q…", out[i:i+size], i, out[lo:hi]))
		}
		i += size
	}
	return bad
}

// checkSafe fails the test if a command printed a raw control character,
// and checks that each of the wanted escaped texts is shown.
func checkSafe(t *testing.T, what string, r cliResult, tty bool, wantOut, wantErr []string) {
	t.Helper()
	for stream, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		if bad := rawControls(out, tty); len(bad) > 0 {
			t.Errorf("%s (tty %v): %s holds raw control characters: %s\n%s:\n%q", what, tty, stream, strings.Join(bad, "; "), stream, out)
		}
	}
	for _, w := range wantOut {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("%s (tty %v): stdout should show %q, escaped:\n%q", what, tty, w, r.stdout)
		}
	}
	for _, w := range wantErr {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("%s (tty %v): stderr should show %q, escaped:\n%q", what, tty, w, r.stderr)
		}
	}
}

// TestHostileServerTextIsEscaped drives the commands against a server and
// an app that put terminal escape sequences and other control characters
// into everything they send: errors (app errors, 422 fields, HTTP errors
// with a text body), log lines, status, outputs, file names, stream
// events, upload URLs and the auth check. Nothing raw may reach stdout or
// stderr, with colours off or on, and the text must still be shown,
// escaped.
func TestHostileServerTextIsEscaped(t *testing.T) {
	srv := startFal(t, faltest.WithApp("test/hostile", hostileApp))
	frontProxy{
		answer: func(w http.ResponseWriter, r *http.Request) bool {
			switch {
			case strings.Contains(r.URL.Path, "/test/raw"):
				// An error answer that is not JSON, raw bytes and all.
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, "raw "+hostile+" \xff\xfe")
				return true
			case strings.HasSuffix(r.URL.Path, "/requests/"+authCheckID+"/status"):
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				json.NewEncoder(w).Encode(map[string]string{"detail": "no such request " + hostile})
				return true
			}
			return false
		},
		edit: func(resp *http.Response) error {
			if !strings.HasSuffix(resp.Request.URL.Path, "/files/upload") || resp.StatusCode != http.StatusOK {
				return nil
			}
			var m map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
				return err
			}
			m["access_url"] = fmt.Sprint(m["access_url"], "?", hostile)
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			replaceBody(resp, b)
			return nil
		},
	}.start(t, srv)
	dir := t.TempDir()
	upload := filepath.Join(dir, "up.txt")
	if err := os.WriteFile(upload, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	batchIn := filepath.Join(dir, "batch.jsonl")
	if err := os.WriteFile(batchIn, []byte("{\"mode\":\"fail\"}\n{\"mode\":\"invalid\"}\n{\"mode\":\"ok\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	logLines := []string{"[INFO" + escapedOSC, "log " + escapedOSC, escapedC1, `\r over\x07\x00 nul\x7f del\t tab\n nl`}
	cases := []struct {
		name             string
		args             []string
		code             int
		wantOut, wantErr []string
	}{
		{"run", []string{"run", "test/hostile", "-i", "mode=ok"}, exitOK,
			[]string{escapedJSONOSC, escapedC1}, logLines},
		{"run -v", []string{"-v", "run", "test/hostile", "-i", "mode=ok"}, exitOK, nil, logLines},
		{"run, app error", []string{"run", "test/hostile", "-i", "mode=fail"}, exitError,
			nil, append([]string{"app failed: " + escapedOSC}, logLines...)},
		{"run, invalid field", []string{"run", "test/hostile", "-i", "mode=invalid"}, exitError,
			nil, []string{"field" + escapedOSC, "msg " + escapedOSC}},
		{"run --sync, HTTP error", []string{"run", "--sync", "test/hostile", "-i", "mode=http"}, exitError,
			nil, []string{"bad request: " + escapedOSC}},
		{"run, text error body", []string{"run", "test/raw"}, exitError,
			nil, []string{"raw " + escapedOSC, `\xff\xfe`}},
		{"stream", []string{"stream", "test/hostile", "-i", "mode=ok"}, exitOK,
			[]string{escapedJSONOSC, escapedC1}, nil},
		{"stream, app error", []string{"stream", "test/hostile", "-i", "mode=fail"}, exitError,
			nil, []string{escapedOSC}},
		{"upload", []string{"upload", upload}, exitOK, []string{"?" + escapedOSC}, nil},
		{"upload --json", []string{"--json", "upload", upload}, exitOK, []string{"?" + escapedJSONOSC}, nil},
		{"auth --check", []string{"auth", "--check"}, exitOK, []string{"Check: OK"}, nil},
		{"batch", []string{"batch", "test/hostile", batchIn, "-o", filepath.Join(dir, "results-%s.jsonl")}, exitError, nil, nil},
	}
	for _, tty := range []bool{false, true} {
		for _, tc := range cases {
			args := append([]string(nil), tc.args...)
			for i, a := range args {
				args[i] = strings.ReplaceAll(a, "%s", fmt.Sprint(tty))
			}
			r := cliRun{tty: tty}.run(t, args...)
			if r.code != tc.code {
				t.Errorf("%s (tty %v): exit %d, want %d; stderr:\n%q", tc.name, tty, r.code, tc.code, r.stderr)
			}
			checkSafe(t, tc.name, r, tty, tc.wantOut, tc.wantErr)
			if tc.name == "batch" {
				if !tty {
					// Without a terminal each failure gets a line.
					checkSafe(t, tc.name, r, tty, nil, []string{"app failed: " + escapedOSC, `field "field\x1b]0;PWNED\a\x1b[2J`})
				}
				// The results file quotes the errors: as JSON, escaped.
				res, err := os.ReadFile(args[len(args)-1])
				if err != nil {
					t.Fatal(err)
				}
				if bad := rawControls(string(res), false); len(bad) > 0 || !strings.Contains(string(res), escapedJSONOSC) {
					t.Errorf("the results file holds raw control characters %v, or not the escaped error:\n%q", bad, res)
				}
			}
		}
	}

	// The queue commands one by one, on a terminal and not.
	for _, tty := range []bool{false, true} {
		sub := cliRun{tty: tty}.run(t, "submit", "test/hostile", "-i", "mode=fail")
		checkSafe(t, "submit", sub, tty, nil, nil)
		id := strings.TrimSpace(sub.stdout)
		watch := cliRun{tty: tty}.run(t, "status", "test/hostile", id, "--watch", "--logs")
		checkSafe(t, "status --watch", watch, tty, []string{escapedJSONOSC, escapedC1}, []string{"app failed: " + escapedOSC})
		st := cliRun{tty: tty}.run(t, "status", "test/hostile", id, "--logs")
		checkSafe(t, "status", st, tty, []string{escapedJSONOSC, escapedC1}, nil)
		res := cliRun{tty: tty}.run(t, "result", "test/hostile", id)
		checkSafe(t, "result", res, tty, nil, []string{"app failed: " + escapedOSC})
	}

	// --save takes no file name that would need escaping, or that is not a
	// plain file name everywhere; it keeps the plain one.
	save := filepath.Join(dir, "saved")
	r := runCLI(t, "run", "test/hostile", "-i", "mode=ok", "--save", save)
	checkSafe(t, "run --save", r, false, nil, []string{"saved " + save})
	entries, err := os.ReadDir(save)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if plainName(e.Name()) != e.Name() {
			t.Errorf("--save wrote %q, which is not a plain file name", e.Name())
		}
	}
	if len(names) != 5 || !strings.Contains(strings.Join(names, " "), "ok.png") {
		t.Errorf("--save wrote %q; want five files, ok.png among them", names)
	}
}

// TestLocalTextIsEscapedToo: text from the environment and local files (a
// credential file's path in the auth report) and whatever a logger writes
// through the console are escaped as well.
func TestLocalTextIsEscapedToo(t *testing.T) {
	isolateCredentials(t)
	t.Setenv("FAL_KEY_FILE", "/nowhere/key"+strings.ReplaceAll(hostile, "\x00", "")) // no NUL in the environment
	r := runCLI(t, "auth")
	checkSafe(t, "auth", r, false, []string{"/nowhere/key" + escapedOSC, escapedC1}, nil)

	var buf syncBuffer
	c := &console{stderr: &buf}
	fmt.Fprintf(c, "level=DEBUG msg=%s\n", hostile)
	if bad := rawControls(buf.String(), false); len(bad) > 0 || !strings.Contains(buf.String(), escapedOSC) {
		t.Errorf("a logger's line through the console: %q (raw: %v)", buf.String(), bad)
	}
}
