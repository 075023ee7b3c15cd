package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	fal "github.com/falgo/fal"
)

// Exit codes shared by every command. They are documented in exitCodeHelp
// (shown by `falgo --help`) and in main.go's package comment.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitCredentials = 3
	exitTimeout     = 4
	exitUncertain   = 5
	exitInterrupted = 130
)

// exitCodeHelp is the exit code table of the help text.
const exitCodeHelp = `Exit codes:
  0    success
  1    the request or command failed (app error, invalid input, network, I/O)
  2    the command line is wrong (unknown command or flag, bad -i, bad --input)
  3    no usable credentials, or fal rejected them
  4    --timeout ran out (a queued request keeps running; falgo result fetches it)
  5    falgo batch left inputs uncertain: submitted, but whether fal queued
       them is unknown (listed in RESULTS.jsonl.uncertain; see falgo batch --help)
  130  interrupted by Ctrl-C or SIGTERM (queued requests keep running)`

// usageError marks an error in the command line itself (unknown command or
// flag, bad flag value). execute prints it as one line, with a one-line
// hint to the command's --help, and exits with exitUsage; every other
// error is a run-time failure.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf returns a *usageError with a formatted message.
func usageErrorf(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// codedError is a failure whose one-line message and exit code are already
// decided by the command.
type codedError struct {
	code int
	msg  string
}

func (e *codedError) Error() string { return e.msg }

// codedErrorf returns a *codedError with a formatted message.
func codedErrorf(code int, format string, args ...any) error {
	return &codedError{code: code, msg: fmt.Sprintf(format, args...)}
}

// errWaitTimeout is the cause of a wait context cancelled by --timeout.
var errWaitTimeout = errors.New("--timeout ran out")

// waitContext derives the context a command waits under: cancelled when
// --timeout runs out (cause errWaitTimeout) or when parent is (Ctrl-C).
// It is a cancellation rather than a deadline on purpose: the library
// cancels a queued request whose deadline passed, and falgo leaves it
// running so that `falgo result` can still fetch it.
func (c *cli) waitContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	var t *time.Timer
	if c.g.timeout > 0 {
		t = time.AfterFunc(c.g.timeout, func() { cancel(errWaitTimeout) })
	}
	return ctx, func() {
		if t != nil {
			t.Stop()
		}
		cancel(context.Canceled)
	}
}

// timedOut reports whether ctx was ended by --timeout.
func timedOut(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errWaitTimeout)
}

// waitError explains a wait for request id of app that ended with err:
// when --timeout or Ctrl-C ended it, the message says the request keeps
// running and how to get it back; any other error is returned as it is.
func (c *cli) waitError(ctx context.Context, app, id string, err error) error {
	why, timeout := c.waitCutShort(ctx, "interrupted")
	if why == "" {
		return err
	}
	code := exitInterrupted
	if timeout {
		code = exitTimeout
	}
	switch {
	case id == "":
		return codedErrorf(code, "%s before fal confirmed the request (it may or may not have been queued)", why)
	case c.g.local:
		return codedErrorf(code, "%s; request %s ran on the --local server, which stops with this command", why, id)
	}
	return codedErrorf(code, "%s; request %s keeps running on fal: get its output with `falgo result %s %s`, or stop it with `falgo cancel %s %s`", why, id, app, id, app, id)
}

// waitCutShort says why a wait under ctx ended before its answer: "" when
// it has not; the --timeout sentence (and timeout true) when --timeout
// ended it; else interrupted, in the words of the caller's surface.
func (c *cli) waitCutShort(ctx context.Context, interrupted string) (why string, timeout bool) {
	switch {
	case ctx.Err() == nil:
		return "", false
	case timedOut(ctx):
		return fmt.Sprintf("gave up waiting after %v (--timeout)", c.g.timeout), true
	}
	return interrupted, false
}

// describeError turns a command's error into the one line printed on
// stderr and the exit code.
func describeError(err error) (string, int) {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.msg, ce.code
	}
	var mc *fal.MissingCredentialsError
	if errors.As(err, &mc) {
		return credentialsAdvice(mc), exitCredentials
	}
	if errors.Is(err, fal.ErrMissingCredentials) {
		return "no fal credentials found: " + noCredentialsAdvice, exitCredentials
	}
	var he *fal.HTTPError
	var re *fal.RequestError
	hasHTTP := errors.As(err, &he)
	isRequest := errors.As(err, &re)
	if hasHTTP && len(he.FieldErrors) > 0 {
		id := he.RequestID
		if isRequest {
			id = re.RequestID
		}
		return invalidInputMessage(he.FieldErrors, id), exitError
	}
	if isRequest {
		return oneLine(err.Error()), exitError
	}
	if hasHTTP && (he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden) {
		msg := fmt.Sprintf("fal rejected the credentials (%d %s", he.StatusCode, http.StatusText(he.StatusCode))
		if he.Message != "" {
			msg += ": " + he.Message
		}
		return oneLine(msg + "): check the key; `falgo auth` shows which source it came from, `falgo auth --check` tests it"), exitCredentials
	}
	var te *fal.TimeoutError
	if errors.As(err, &te) {
		msg := oneLine(err.Error())
		if te.RequestID != "" {
			msg += fmt.Sprintf("; fetch the output later with `falgo result APP %s`", te.RequestID)
		}
		return msg, exitTimeout
	}
	msg := oneLine(err.Error())
	if isFilesystem(err) {
		// syscall.Errno satisfies net.Error too: a file's error must not
		// send the user to check the network.
		return msg + " (an error of this machine's file system, not of fal)", exitError
	}
	var ne net.Error
	var oe *net.OpError
	if !hasHTTP && (errors.As(err, &oe) || errors.As(err, &ne)) {
		msg += " (check the network connection and any FAL_*_HOST settings; --local runs the demo apps offline)"
	}
	return msg, exitError
}

// isFilesystem reports an error of a file operation on this machine.
func isFilesystem(err error) bool {
	var pe *fs.PathError
	var le *os.LinkError
	return errors.As(err, &pe) || errors.As(err, &le)
}

// noCredentialsAdvice says how to give falgo credentials.
const noCredentialsAdvice = "set FAL_KEY to a key from https://fal.ai/dashboard/keys (or log in with `fal auth login`, or pass --key), or try the demo apps offline with --local; `falgo auth` shows every source looked at"

// credentialsAdvice is the one-line message for missing credentials.
func credentialsAdvice(e *fal.MissingCredentialsError) string {
	for _, s := range e.Sources {
		if s.State == fal.SourceInvalid {
			msg := s.Name + " is set but unusable"
			if s.Detail != "" {
				msg += " (" + s.Detail + ")"
			}
			return oneLine(msg + ": fix it or unset it; `falgo auth` shows every source looked at")
		}
	}
	if e.ForceAuthByUser {
		return "no fal credentials found: FAL_FORCE_AUTH_BY_USER=1 allows only the fal CLI login, and there is none: run `fal auth login`, or unset FAL_FORCE_AUTH_BY_USER"
	}
	msg := "no fal credentials found: " + noCredentialsAdvice
	if e.Colab {
		msg += "; in Google Colab, copy the secret into FAL_KEY from a Python cell first (`falgo auth` shows how)"
	}
	return msg
}

// invalidInputMessage names the input fields an app rejected and how to
// set them.
func invalidInputMessage(fields []fal.FieldError, requestID string) string {
	msg, first := fieldSummary(fields)
	if first != "" {
		msg += fmt.Sprintf(" (set it with -i %s=VALUE)", first)
	}
	if requestID != "" {
		msg += " [request " + requestID + "]"
	}
	return msg
}

// fieldSummary is "invalid input: field "x": why; ..." for the validation
// errors of a 422, and the first field named.
func fieldSummary(fields []fal.FieldError) (msg, first string) {
	var parts []string
	for _, f := range fields {
		name := f.Field()
		if name == "" || name == "body" {
			parts = append(parts, f.Msg)
			continue
		}
		if first == "" {
			first = name
		}
		parts = append(parts, fmt.Sprintf("field %q: %s", name, f.Msg))
	}
	return oneLine("invalid input: " + strings.Join(parts, "; ")), first
}

// oneLine flattens a message onto one line, drops the library's "fal: "
// prefix, which the "falgo <command>:" prefix makes redundant, and puts
// the library's advice to Go programmers in a terminal user's words.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return userWords(strings.TrimPrefix(s, "fal: "))
}

// goWords maps the phrases of the library's and faltest's messages that
// speak to a Go program (option and error names) to what a user of falgo
// does instead. The library's messages stay as they are for Go callers.
var goWords = strings.NewReplacer(
	"set hosts with WithRunHost/WithQueueHost", "to use another server, set FAL_RUN_HOST and FAL_QUEUE_RUN_HOST",
	"requests fail with ErrMissingCredentials", "commands that call fal fail with exit code 3",
	"no faltest app is registered under it (register one with faltest.WithApp or Server.Register)", "the local server has no such app (`falgo local --list` lists the apps it serves)",
	"(faltest's key is in Server.Key)", "(use the FAL_KEY that `falgo local` printed)",
	"(faltest's admin key is Server.Key, the one falgo local exports as FAL_KEY)", "(use the FAL_KEY that `falgo local` printed)",
	"(Server.Key, a WithAPIKey key or one made with POST /v1/keys and not revoked)", "(the FAL_KEY that `falgo local` printed, or a key made on that server and not revoked)",
	"(Server.Key, the one falgo local exports)", "(the FAL_KEY that `falgo local` printed)",
	" (raise it with fal.WithLimits)", "",
	"WithRunHost", "FAL_RUN_HOST",
	"WithQueueHost", "FAL_QUEUE_RUN_HOST",
	"WithRestHost", "FAL_REST_HOST",
	"WithCDNHost", "FAL_CDN_HOST",
	"WithAPIHost", "FAL_API_HOST",
	"WithKey: ", "the key: ",
)

// userWords rewrites s with goWords.
func userWords(s string) string { return goWords.Replace(s) }
