package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/platform"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNewKeySecretIsNeverPrinted: the secret of a created key appears in
// no fmt verb, no slog handler and no debug log of the call.
func TestNewKeySecretIsNeverPrinted(t *testing.T) {
	t.Parallel()
	const secret = "sk_live_9f8e7d6c5b4a"
	api := newAPI(t, fixed(201, `{"key_id":"kid42","key_secret":"`+secret+`","key":"kid42:`+secret+`"}`))
	var debug syncBuffer
	logger := slog.New(slog.NewJSONHandler(&debug, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, api, fal.WithLogger(logger))
	k, err := c.CreateKey(context.Background(), "ci")
	if err != nil {
		t.Fatal(err)
	}
	if k.KeySecret != secret || k.Key != "kid42:"+secret {
		t.Fatalf("the fields must hold the secret (%s, %d chars)", k.KeyID, len(k.KeySecret))
	}

	var out bytes.Buffer
	for _, v := range []any{*k, k, []platform.NewKey{*k}, map[string]*platform.NewKey{"k": k}, struct{ K platform.NewKey }{*k}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		fmt.Fprintln(&out, v)
		fmt.Fprint(&out, v)
	}
	for _, h := range []slog.Handler{slog.NewTextHandler(&out, nil), slog.NewJSONHandler(&out, nil)} {
		l := slog.New(h)
		l.Info("created", "key", *k)
		l.Info("created", "key", k)
		l.Info("created", slog.Any("key", k))
		l.Info("created", slog.Group("g", "key", k))
	}
	printed := out.String()
	for _, s := range []string{secret, secret[:12], "kid42:" + secret[:4]} {
		if strings.Contains(printed, s) {
			t.Fatalf("%q was printed:\n%s", s, printed)
		}
		if strings.Contains(debug.String(), s) {
			t.Fatalf("%q is in the client's debug log:\n%s", s, debug.String())
		}
	}
	for _, s := range []string{`KeyID: "kid42"`, "[redacted, 20 chars]", `"key_id":"kid42"`} {
		if !strings.Contains(printed, s) {
			t.Errorf("the printed forms lack %q:\n%s", s, printed)
		}
	}
	if debug.String() == "" {
		t.Error("the debug log is empty: the test does not see it")
	}
	// Encoding the key is how it is stored: json.Marshal keeps it.
	b, _ := json.Marshal(k)
	if !strings.Contains(string(b), secret) {
		t.Errorf("json.Marshal lost the secret: %s", b)
	}
}

// TestAnswerOfCreateKeyNotQuoted: an answer of POST /keys that cannot be
// read is not quoted in the error (it may hold the secret).
func TestAnswerOfCreateKeyNotQuoted(t *testing.T) {
	t.Parallel()
	const secret = "sk_live_quoted_secret"
	api := newAPI(t, fixed(201, `{"key_id":"k","key_secret":"`+secret+`","key":42}`))
	_, err := newClient(t, api).CreateKey(context.Background(), "ci")
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("err = %v", err)
	}
}
