package fal

import (
	"strconv"
	"strings"
	"testing"
)

// TestJobTargetsRemembered checks that a job's URL and operation name are
// built once per app, verb, host and path; that an invalid app id is an
// error and is not remembered; and that the cache stops growing at
// maxJobTargets.
func TestJobTargetsRemembered(t *testing.T) {
	c, err := NewClient(WithKey("k"), WithRunHost("http://127.0.0.1:9/run"))
	if err != nil {
		t.Fatal(err)
	}
	host := c.eng.Hosts.Run
	k := targetKey{verb: "run", host: host, app: "fal-ai/flux/dev"}
	jt, err := c.targets.target(k)
	if err != nil {
		t.Fatal(err)
	}
	if jt.op != "run fal-ai/flux/dev" || jt.url != "http://127.0.0.1:9/run/fal-ai/flux/dev" {
		t.Errorf("target = %+v", jt)
	}
	if m := c.targets.m.Load(); m == nil || (*m)[k] != jt {
		t.Fatalf("the target was not remembered")
	}
	withPath, _ := c.targets.target(targetKey{verb: "submit", host: host, app: "fal-ai/flux/dev", path: "image-to-image"})
	if withPath.url != "http://127.0.0.1:9/run/fal-ai/flux/dev/image-to-image" || withPath.op != "submit fal-ai/flux/dev" {
		t.Errorf("with a path: %+v", withPath)
	}
	bad := targetKey{verb: "run", host: host, app: "no slash"}
	if _, err := c.targets.target(bad); err == nil || !strings.Contains(err.Error(), "run no slash") {
		t.Errorf("invalid app: err = %v", err)
	}
	if _, ok := (*c.targets.m.Load())[bad]; ok {
		t.Error("an invalid app id was remembered")
	}
	for i := 0; i < maxJobTargets+10; i++ {
		if _, err := c.targets.target(targetKey{verb: "run", host: host, app: "owner/app-" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(*c.targets.m.Load()); n != maxJobTargets {
		t.Errorf("the cache holds %d targets, want it capped at %d", n, maxJobTargets)
	}
}

// TestPerCallOptionSharesHTTPClient checks that a per-call Option that
// leaves the HTTP client and the hosts alone (WithKey, WithTimeout) does
// not copy the redirect-safe http.Client, and that one that changes them
// gets its own.
func TestPerCallOptionSharesHTTPClient(t *testing.T) {
	c, err := NewClient(WithKey("k"), WithRunHost("http://127.0.0.1:9/run"))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := c.newCall(callRun, []RequestOption{WithKey("other"), WithTimeout(0)})
	if err != nil {
		t.Fatal(err)
	}
	if !cl.own || cl.eng == c.eng {
		t.Fatal("a per-call WithKey must work on a copy of the settings")
	}
	if cl.eng.Client() != c.eng.Client() {
		t.Error("a per-call WithKey copied the http.Client")
	}
	cl, err = c.newCall(callRun, []RequestOption{WithRunHost("http://127.0.0.1:10/run")})
	if err != nil {
		t.Fatal(err)
	}
	if cl.eng.Client() == c.eng.Client() {
		t.Error("a per-call host kept the client's redirect policy, which names the client's hosts")
	}
}

// TestWithLogs checks the logs parameter of status URLs, with and without
// a query of their own.
func TestWithLogs(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		on   bool
		want string
	}{
		{"http://127.0.0.1:9/queue/falgo/echo/requests/abc/status/stream", false, "http://127.0.0.1:9/queue/falgo/echo/requests/abc/status/stream?logs=0"},
		{"https://queue.fal.run/fal-ai/flux/requests/abc/status", true, "https://queue.fal.run/fal-ai/flux/requests/abc/status?logs=1"},
		{"https://queue.fal.run/a/b/requests/abc/status?x=1", true, "https://queue.fal.run/a/b/requests/abc/status?logs=1&x=1"},
		{"https://queue.fal.run/a/b/requests/abc/status?logs=1", false, "https://queue.fal.run/a/b/requests/abc/status?logs=0"},
	} {
		if got := withLogs(tc.raw, tc.on); got != tc.want {
			t.Errorf("withLogs(%q, %v) = %q, want %q", tc.raw, tc.on, got, tc.want)
		}
	}
	if testing.CoverMode() == "" && !raceEnabled {
		raw := "https://queue.fal.run/fal-ai/flux/requests/abc/status/stream"
		if n := testing.AllocsPerRun(100, func() { _ = withLogs(raw, false) }); n > 1 {
			t.Errorf("withLogs made %.0f allocations for a URL without a query, want 1", n)
		}
	}
}
