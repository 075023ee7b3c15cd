package fal_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

func TestHTTPErrorMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		reply   http.HandlerFunc
		status  int
		message string
		errType string
		rid     string
	}{
		{"string detail", jsonReply(404, `{"detail":"not found","error_type":"bad_request"}`, "X-Fal-Request-Id", "r1"), 404, "not found", "bad_request", "r1"},
		{"header error type", jsonReply(504, `{"detail":"Request timed out"}`, "X-Fal-Error-Type", "request_timeout", "X-Fal-Request-Id", "r2"), 504, "Request timed out", "request_timeout", "r2"},
		{"body type wins", jsonReply(400, `{"detail":"Runner disconnected","error_type":"runner_disconnected"}`, "X-Fal-Error-Type", "internal_error"), 400, "Runner disconnected", "runner_disconnected", ""},
		{"validation list", jsonReply(422, `{"detail":[{"loc":["body","prompt"],"msg":"field required","type":"missing"},{"loc":["body","loras",0,"scale"],"msg":"must be <= 4","type":"value_error"}]}`),
			422, "prompt: field required; loras[0].scale: must be <= 4", "", ""},
		{"object detail", jsonReply(400, `{"detail":{"message":"bad image","code":7}}`), 400, "bad image", "", ""},
		{"plain text", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			_, _ = w.Write([]byte("Internal Server Error"))
		}, 500, "Internal Server Error", "", ""},
		{"empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, 500, "empty response body", "", ""},
		{"html", htmlReply(401), 401, "HTML error page: 503 Service Temporarily Unavailable", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, tc.reply)
			_, err := srv.client(t, fal.WithMaxRetries(0)).Run(context.Background(), "fal-ai/x", nil)
			var he *fal.HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("err = %v (%T), want *fal.HTTPError", err, err)
			}
			if he.StatusCode != tc.status || he.Message != tc.message || he.ErrorType != tc.errType || he.RequestID != tc.rid {
				t.Errorf("got status %d message %q type %q rid %q", he.StatusCode, he.Message, he.ErrorType, he.RequestID)
			}
			if !strings.Contains(err.Error(), tc.message) || !strings.Contains(err.Error(), "/run/fal-ai/x") {
				t.Errorf("Error() = %q should name the URL and the message", err)
			}
			checkErrorText(t, tc.name, err)
		})
	}
	t.Run("field errors", func(t *testing.T) {
		t.Parallel()
		srv := newScripted(t, jsonReply(422, `{"detail":[{"loc":["body","image_size","width"],"msg":"too big","type":"value_error"},{"loc":["body","loras",0,"scale"],"msg":"x","type":"value_error"},{"loc":["body"],"msg":"whole body","type":"t"}]}`))
		_, err := srv.client(t).Run(context.Background(), "fal-ai/x", nil)
		he := asHTTPError(t, err)
		var got []string
		for _, f := range he.FieldErrors {
			got = append(got, f.Field()+"="+f.Msg+"/"+f.Type)
		}
		if want := "image_size.width=too big/value_error loras[0].scale=x/value_error body=whole body/t"; strings.Join(got, " ") != want {
			t.Errorf("field errors %q, want %q", strings.Join(got, " "), want)
		}
	})
}

// TestErrorTextHasOnePrefix: however deep the chain of wrapped errors, an
// error of package fal reads as one line that starts with one "fal: ", the
// cause's own prefix dropped.
func TestErrorTextHasOnePrefix(t *testing.T) {
	t.Parallel()
	ctx := bg(t)
	_, c, _ := newLocal(t, []faltest.Option{
		faltest.WithFaults(1, faltest.FaultRule{Route: "upload", Kind: faltest.AppError500}, faltest.FaultRule{Route: "storage_initiate", Kind: faltest.AppError500}),
		faltest.WithApp("t/fail", func(ctx context.Context, req *faltest.Request) (any, error) {
			return nil, &faltest.AppError{Status: 500, Detail: "broken\nsecond line", Type: "internal"}
		}),
	})

	// An upload of a file input that fails on the CDN and on REST storage.
	_, err := c.Run(ctx, "falgo/echo", map[string]any{"f": fal.FileBytes("x.bin", []byte("x"))})
	if err == nil || !strings.HasPrefix(err.Error(), "fal: uploading input file x.bin: ") {
		t.Fatalf("err = %v, want it to start with the file input", err)
	}
	checkErrorText(t, "input upload", err)
	if he := asHTTPError(t, err); he.StatusCode != 500 {
		t.Errorf("cause %v", he)
	}

	// A job that failed, whose message has a line break and a prefix.
	_, err = c.Subscribe(ctx, "t/fail", nil)
	var re *fal.RequestError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *fal.RequestError", err)
	}
	checkErrorText(t, "failed job", err)

	// Cancelling a completed request.
	h, err := c.Submit(ctx, "falgo/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Result(ctx); err != nil {
		t.Fatal(err)
	}
	err = h.Cancel(ctx)
	if !errors.Is(err, fal.ErrAlreadyCompleted) {
		t.Fatalf("err = %v, want ErrAlreadyCompleted", err)
	}
	checkErrorText(t, "cancel completed", err)

	// Decoding into the wrong type.
	res, err := c.Run(ctx, "falgo/echo", map[string]int{"a": 1})
	if err != nil {
		t.Fatal(err)
	}
	var wrong []int
	checkErrorText(t, "decode", res.Decode(&wrong))

	// A 429 whose Retry-After is later than the deadline.
	busy := newScripted(t, jsonReply(429, `{"detail":"busy"}`, "Retry-After", "30"))
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = busy.client(t, fal.WithRetryPolicy(fal.RetryPolicy{MaxRetryAfter: time.Hour})).Run(cctx, "fal-ai/x", nil)
	if he := asHTTPError(t, err); he.StatusCode != 429 {
		t.Fatalf("err = %v", err)
	}
	checkErrorText(t, "deadline sooner than Retry-After", err)

	// Nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dead, err := fal.NewClient(fal.WithKey(testKey), fal.WithRunHost("http://"+addr), fal.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = dead.Run(ctx, "fal-ai/x", nil)
	checkErrorText(t, "connection refused", err)
}

// TestServerTextInErrorsIsScrubbedAndOneLine: what a server answers is
// quoted in errors and logs only without the key, and on one line, also
// when the answer is a 2xx the client cannot use. The server here echoes
// the Authorization header it got, on two lines.
func TestServerTextInErrorsIsScrubbedAndOneLine(t *testing.T) {
	t.Parallel()
	echo := func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "you sent %s\nbye", r.Header.Get("Authorization"))
	}
	secret := strings.SplitN(testKey, ":", 2)[1]
	check := func(t *testing.T, what string, err error, logs string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		checkErrorText(t, what, err)
		for _, out := range []string{err.Error(), fmt.Sprintf("%+v", err), logs} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: the key reached the error or the logs: %q", what, out)
			}
		}
	}
	t.Run("status", func(t *testing.T) {
		t.Parallel()
		_, err := newScripted(t, echo).client(t).Status(bg(t), "fal-ai/x", "r1")
		check(t, "status", err, "")
	})
	t.Run("status without a status", func(t *testing.T) {
		t.Parallel()
		srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"you_sent":%q}`, r.Header.Get("Authorization"))
		})
		_, err := srv.client(t).Status(bg(t), "fal-ai/x", "r1")
		check(t, "status without a status", err, "")
	})
	t.Run("submit", func(t *testing.T) {
		t.Parallel()
		_, err := newScripted(t, echo).client(t).Submit(bg(t), "fal-ai/x", nil)
		check(t, "submit", err, "")
	})
	t.Run("storage initiate", func(t *testing.T) {
		t.Parallel()
		srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/files/upload") {
				w.WriteHeader(500) // forces the REST fallback
				return
			}
			if strings.HasSuffix(r.URL.Path, "/storage/auth/token") {
				_, _ = io.WriteString(w, `{"token":"cdntok","token_type":"Bearer","expires_at":"2099-01-01T00:00:00+00:00"}`)
				return
			}
			echo(w, r)
		})
		_, err := srv.client(t, fal.WithMaxRetries(0)).Upload(bg(t), strings.NewReader("x"), fal.WithContentType("text/plain"))
		check(t, "storage initiate", err, "")
	})
	t.Run("status stream error event", func(t *testing.T) {
		t.Parallel()
		var logs syncBuffer
		srv := newScripted(t, jsonReply(200, `{"request_id":"r1"}`), func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/status/stream") {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprintf(w, "event: error\ndata: you sent %s\n\n", r.Header.Get("Authorization"))
				return
			}
			if strings.HasSuffix(r.URL.Path, "/status") {
				_, _ = io.WriteString(w, `{"status":"COMPLETED","logs":null}`)
				return
			}
			_, _ = io.WriteString(w, `{"ok":true}`)
		})
		c := srv.client(t, fal.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		if _, err := c.Subscribe(bg(t), "fal-ai/x", nil); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the key reached the debug log:\n%s", logs.String())
		}
	})
	t.Run("a failed request's error and logs", func(t *testing.T) {
		t.Parallel()
		srv := newScripted(t, jsonReply(200, `{"request_id":"r1"}`), func(w http.ResponseWriter, r *http.Request) {
			a := r.Header.Get("Authorization")
			switch {
			case strings.HasSuffix(r.URL.Path, "/status"):
				fmt.Fprintf(w, `{"status":"COMPLETED","error":%q,"error_type":%q,"logs":[{"message":%q,"level":"INFO","source":"USER","timestamp":"2026-01-01T00:00:00Z"}]}`,
					"boom "+a, "t "+a, "log "+a)
			default:
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		var logs []string
		_, err := srv.client(t).Subscribe(bg(t), "fal-ai/x", nil, fal.WithPolling(time.Millisecond), fal.WithLogs(true),
			fal.OnQueueUpdate(func(st fal.Status) {
				if c, ok := st.(fal.Completed); ok {
					for _, l := range c.Logs {
						logs = append(logs, l.Message)
					}
				}
			}))
		var re *fal.RequestError
		if !errors.As(err, &re) || len(re.Logs) != 1 || len(logs) != 1 {
			t.Fatalf("err = %v with %d logs, %d seen; want a *RequestError with the log", err, len(re.Logs), len(logs))
		}
		check(t, "a failed request", err, re.Message+re.ErrorType+re.Logs[0].Message+logs[0])
	})
	t.Run("a request id that holds the key", func(t *testing.T) {
		t.Parallel()
		srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"request_id":%q}`, strings.TrimPrefix(r.Header.Get("Authorization"), "Key "))
		})
		_, err := srv.client(t).Submit(bg(t), "fal-ai/x", nil)
		check(t, "a request id that holds the key", err, "")
	})
}

func TestMissingCredentialsErrorText(t *testing.T) {
	t.Parallel()
	e := &fal.MissingCredentialsError{Sources: []fal.CredentialSource{
		{Name: "FAL_KEY", State: fal.SourceNotSet},
		{Name: "FAL_KEY_FILE", State: fal.SourceInvalid, Detail: "/x/fal.key is readable by others"},
	}}
	checkErrorText(t, "missing credentials", e)
	if msg := e.Error(); !strings.Contains(msg, "FAL_KEY: not set; FAL_KEY_FILE: invalid (/x/fal.key is readable by others)") {
		t.Errorf("Error() = %q, want every source on one line", msg)
	}
	if a := e.Advice(); !strings.Contains(a, "FAL_KEY") || !strings.Contains(a, "fal auth login") || strings.Contains(e.Error(), a) {
		t.Errorf("Advice() = %q", a)
	}
	if !errors.Is(e, fal.ErrMissingCredentials) {
		t.Error("errors.Is(ErrMissingCredentials) is false")
	}
	colab := &fal.MissingCredentialsError{Colab: true}
	if a := colab.Advice(); !strings.Contains(a, "userdata") {
		t.Errorf("Colab advice: %q", a)
	}
}
