package falproxy_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/falgo/fal/falproxy"
	"github.com/falgo/fal/faltest"
)

// Mount the proxy in a net/http server for a browser app that uses
// @fal-ai/client with proxyUrl: "/api/fal/proxy". Here a faltest server
// stands in for fal; in production, leave out WithKey (the proxy reads
// FAL_KEY from the environment) and the WithUpstream lines.
func Example() {
	fake := faltest.NewServer()
	defer fake.Close()

	proxy, err := falproxy.New(
		falproxy.WithKey(fake.Key),
		falproxy.WithAuthorize(func(r *http.Request) error {
			// Your app's own check: a session cookie, a bearer token, ...
			if r.Header.Get("Authorization") != "Bearer demo-session" {
				return &falproxy.AuthError{Message: "sign in first"}
			}
			return nil
		}),
		falproxy.WithUpstream("fal.run", fake.URL+"/run"),
		falproxy.WithUpstream("queue.fal.run", fake.URL+"/queue"),
		falproxy.WithUpstream("rest.fal.ai", fake.URL+"/rest"),
	)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(falproxy.DefaultRoute, proxy) // "/api/fal/proxy"
	app := httptest.NewServer(mux)
	defer app.Close()

	// What the JavaScript client sends for fal.run("falgo/echo", {input}).
	req, _ := http.NewRequest("POST", app.URL+"/api/fal/proxy", strings.NewReader(`{"text":"hello"}`))
	req.Header.Set("x-fal-target-url", "https://fal.run/falgo/echo")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer demo-session") // your app's session, not a fal key
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body))
	// Output: 200 OK {"text":"hello"}
}

// An Authorize hook can look at the target: here everyone may run apps,
// but only admins may use the queue.
func ExampleTarget() {
	isAdmin := func(r *http.Request) bool { return r.Header.Get("X-Role") == "admin" } // your app's roles
	proxy, err := falproxy.New(falproxy.WithAuthorize(func(r *http.Request) error {
		target, _ := falproxy.Target(r)
		if target.Host == "queue.fal.run" && !isAdmin(r) {
			return &falproxy.AuthError{Status: http.StatusForbidden, Message: "only admins may queue jobs"}
		}
		return nil
	}))
	if err != nil {
		log.Fatal(err)
	}
	http.Handle(falproxy.DefaultRoute, proxy)
}
