package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	fal "github.com/falgo/fal"
)

func TestDescribeError(t *testing.T) {
	fields := []fal.FieldError{
		{Loc: []any{"body", "prompt"}, Msg: "field required", Type: "missing"},
		{Loc: []any{"body", "image_size", "width"}, Msg: "too big", Type: "value_error"},
	}
	tests := []struct {
		name string
		err  error
		code int
		want []string
	}{
		{"422 fields", &fal.HTTPError{StatusCode: 422, FieldErrors: fields, RequestID: "r1"}, exitError,
			[]string{`invalid input: field "prompt": field required; field "image_size.width": too big`, "-i prompt=VALUE", "[request r1]"}},
		{"queued request with a 422 cause", &fal.RequestError{RequestID: "r2", Cause: &fal.HTTPError{StatusCode: 422, FieldErrors: fields[1:]}}, exitError,
			[]string{`field "image_size.width"`, "[request r2]"}},
		{"whole-body validation error", &fal.HTTPError{StatusCode: 422, FieldErrors: []fal.FieldError{{Loc: []any{"body"}, Msg: "the input must be a JSON object"}}}, exitError,
			[]string{"invalid input: the input must be a JSON object"}},
		{"failed request", &fal.RequestError{RequestID: "r3", App: "a/b", Message: "CUDA out of memory", ErrorType: "runner_error"}, exitError,
			[]string{"request r3 (a/b) failed: CUDA out of memory (error type runner_error)"}},
		{"401", &fal.HTTPError{StatusCode: 401, Message: "bad key"}, exitCredentials,
			[]string{"fal rejected the credentials (401 Unauthorized: bad key)", "falgo auth"}},
		{"403", &fal.HTTPError{StatusCode: 403}, exitCredentials, []string{"403 Forbidden"}},
		{"timeout with id", &fal.TimeoutError{Op: "result of x", RequestID: "r4", Limit: time.Minute}, exitTimeout,
			[]string{"timed out after 1m0s", "falgo result APP r4"}},
		{"missing credentials", &fal.MissingCredentialsError{Sources: []fal.CredentialSource{{Name: "FAL_KEY", State: fal.SourceNotSet}}}, exitCredentials,
			[]string{"no fal credentials found", "FAL_KEY", "--local", "falgo auth"}},
		{"missing credentials in Colab", &fal.MissingCredentialsError{Colab: true}, exitCredentials,
			[]string{"Google Colab", "Python cell"}},
		{"forced CLI login", &fal.MissingCredentialsError{ForceAuthByUser: true}, exitCredentials,
			[]string{"FAL_FORCE_AUTH_BY_USER=1", "fal auth login"}},
		{"a broken source", &fal.MissingCredentialsError{Sources: []fal.CredentialSource{{Name: "FAL_KEY_FILE", State: fal.SourceInvalid, Detail: "mode 0644 is too open"}}}, exitCredentials,
			[]string{"FAL_KEY_FILE is set but unusable (mode 0644 is too open)"}},
		{"wrapped sentinel", fmt.Errorf("x: %w", fal.ErrMissingCredentials), exitCredentials, []string{"no fal credentials found"}},
		{"network", fmt.Errorf("fal: submit a/b: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), exitError,
			[]string{"submit a/b: dial tcp: connection refused", "check the network connection", "--local"}},
		{"coded", codedErrorf(exitTimeout, "gave up"), exitTimeout, []string{"gave up"}},
		{"multi-line", errors.New("fal: first\nsecond"), exitError, []string{"first second"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, code := describeError(tt.err)
			if code != tt.code {
				t.Errorf("code %d, want %d (message %q)", code, tt.code, msg)
			}
			if strings.Contains(msg, "\n") || strings.HasPrefix(msg, "fal: ") {
				t.Errorf("message %q should be one line without the fal: prefix", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestWaitError(t *testing.T) {
	c := &cli{g: globals{timeout: 2 * time.Second}}
	base := errors.New("cause")
	if got := c.waitError(context.Background(), "a/b", "id", base); got != base {
		t.Errorf("a live context: got %v, want the error unchanged", got)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errWaitTimeout)
	msg, code := describeError(c.waitError(ctx, "a/b", "id1", base))
	if code != exitTimeout || !strings.Contains(msg, "gave up waiting after 2s (--timeout)") || !strings.Contains(msg, "`falgo result a/b id1`") || !strings.Contains(msg, "`falgo cancel a/b id1`") {
		t.Errorf("timeout: %d %q", code, msg)
	}
	ctx, cancel2 := context.WithCancel(context.Background())
	cancel2()
	msg, code = describeError(c.waitError(ctx, "a/b", "", base))
	if code != exitInterrupted || !strings.Contains(msg, "may or may not have been queued") {
		t.Errorf("interrupted before the id: %d %q", code, msg)
	}
	c.g.local = true
	msg, _ = describeError(c.waitError(ctx, "a/b", "id2", base))
	if !strings.Contains(msg, "--local server") {
		t.Errorf("--local: %q", msg)
	}
}
