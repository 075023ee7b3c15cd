package fal_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/falgo/fal"
)

// TestMisplacedOptionsRefused: an option given to a call it means nothing
// to is refused before any request, with an error that says where it
// applies.
func TestMisplacedOptionsRefused(t *testing.T) {
	t.Parallel()
	srv, c, _ := newLocal(t, nil)
	ctx := bg(t)
	h, err := c.Submit(ctx, "falgo/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Result(ctx); err != nil {
		t.Fatal(err)
	}
	total := func() int {
		n := 0
		for _, v := range srv.Stats().Requests {
			n += v
		}
		return n
	}
	before := total()
	firstErr := func(seq func(func(fal.Status, error) bool)) error {
		var e error
		seq(func(_ fal.Status, err error) bool { e = err; return false })
		return e
	}
	streamErr := func(o fal.RequestOption) error {
		for _, err := range c.Stream(ctx, "falgo/echo", nil, o) {
			return err
		}
		return nil
	}
	in := map[string]any{"f": fal.FileBytes("x.bin", []byte("x"))} // nothing may be uploaded either
	errOf := func(_ any, err error) error { return err }
	for _, tc := range []struct {
		call string
		err  error
		want string
	}{
		{"Run", errOf(c.Run(ctx, "falgo/echo", in, fal.WithPriority(fal.PriorityLow))), "fal: WithPriority does not apply to Run; it applies to Submit and Subscribe"},
		{"Run", errOf(c.Run(ctx, "falgo/echo", in, fal.WithFileName("x.bin"))), "fal: WithFileName does not apply to Run; it applies to Upload"},
		{"Subscribe", errOf(c.Subscribe(ctx, "falgo/echo", in, fal.WithStreamIdleTimeout(time.Second))), "fal: WithStreamIdleTimeout does not apply to Subscribe; it applies to Stream"},
		{"Submit", errOf(c.Submit(ctx, "falgo/echo", in, fal.WithClientTimeout(time.Second))), "fal: WithClientTimeout does not apply to Submit; it applies to Subscribe"},
		{"Run", errOf(c.Run(ctx, "falgo/echo", in, fal.WithWebhook("https://example.com/hook"))), "fal: WithWebhook does not apply to Run; it applies to Submit and Subscribe"},
		{"Run", errOf(c.Run(ctx, "falgo/echo", in, fal.WithLogs(true))), "fal: WithLogs does not apply to Run; it applies to Submit, Subscribe, Status, Result, Events and Handle"},
		{"Run", errOf(c.Run(ctx, "falgo/echo", in, fal.OnEnqueue(func(string) {}))), "fal: OnEnqueue does not apply to Run; it applies to Subscribe"},
		{"Stream", streamErr(fal.WithContentType("text/plain")), "fal: WithContentType does not apply to Stream; it applies to Upload"},
		{"Stream", streamErr(fal.WithPolling(0)), "fal: WithPolling does not apply to Stream; it applies to Submit, Subscribe, Result, Events and Handle"},
		{"Status", errOf(c.Status(ctx, "falgo/echo", h.RequestID, fal.WithPolling(0))), "fal: WithPolling does not apply to Status; it applies to"},
		{"Status", errOf(c.Status(ctx, "falgo/echo", h.RequestID, fal.WithStartTimeout(5*time.Second))), "fal: WithStartTimeout does not apply to Status; it applies to Run, Submit, Subscribe and Stream"},
		{"Result", errOf(c.Result(ctx, "falgo/echo", h.RequestID, fal.OnEnqueue(func(string) {}))), "fal: OnEnqueue does not apply to Result; it applies to Subscribe"},
		{"Cancel", c.Cancel(ctx, "falgo/echo", h.RequestID, fal.WithLogs(true)), "fal: WithLogs does not apply to Cancel;"},
		{"Handle", errOf(c.Handle("falgo/echo", h.RequestID, fal.WithHint("x"))), "fal: WithHint does not apply to Handle; it applies to Run, Submit, Subscribe and Stream"},
		{"RequestHandle.Status", errOf(h.Status(ctx, fal.WithPolling(0))), "fal: WithPolling does not apply to Status;"},
		{"RequestHandle.Events", firstErr(h.Events(ctx, fal.WithPriority(fal.PriorityLow))), "fal: WithPriority does not apply to Events;"},
		{"RequestHandle.Cancel", h.Cancel(ctx, fal.OnQueueUpdate(func(fal.Status) {})), "fal: OnQueueUpdate does not apply to Cancel; it applies to Subscribe and Result"},
		{"Upload", errOf(c.Upload(ctx, strings.NewReader("x"), fal.WithPath("x"))), "fal: WithPath does not apply to Upload;"},
		{"UploadFile", errOf(c.UploadFile(ctx, "x.bin", fal.WithoutAutoUpload())), "fal: WithoutAutoUpload does not apply to Upload;"},
		{"Download", c.Download(ctx, fal.File{URL: srv.URL + "/cdn/x"}, io.Discard, fal.WithExpiration(time.Hour)), "fal: WithExpiration does not apply to Download; it applies to Run, Submit, Subscribe, Stream and Upload"},
	} {
		if tc.err == nil || !strings.HasPrefix(tc.err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.call, tc.err, tc.want)
			continue
		}
		checkErrorText(t, tc.call, tc.err)
	}
	if n := total() - before; n != 0 {
		t.Fatalf("%d requests reached the server (%v); misplaced options must be refused first", n, srv.Stats().Requests)
	}
}
