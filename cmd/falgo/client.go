package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
	"github.com/falgo/fal/internal/appid"
)

// userAgent identifies the command-line tool to fal.
const userAgent = "falgo-cli/" + fal.Version + " (go)"

// newClient builds the fal client of a command from the global flags, and
// returns the function that releases what it holds. With --local it first
// starts a faltest server with the demo apps on a free loopback port; the
// server lives as long as the command.
func (c *cli) newClient() (*fal.Client, func(), error) {
	opts := []fal.Option{fal.WithHeader("User-Agent", userAgent)}
	if c.g.verbose {
		// The console keeps log lines apart from the status line. The
		// client never logs credentials, only methods, URLs and statuses.
		h := slog.NewTextHandler(c.con, &slog.HandlerOptions{Level: slog.LevelDebug})
		opts = append(opts, fal.WithLogger(slog.New(h)))
	}
	release := func() {}
	switch {
	case c.g.local:
		srv, err := faltest.Start()
		if err != nil {
			return nil, nil, fmt.Errorf("--local: cannot start the demo server: %s", strings.TrimPrefix(err.Error(), "faltest: "))
		}
		release = srv.Close
		if c.g.verbose {
			c.con.errorf("falgo: --local: demo server listening on %s", srv.URL)
		}
		opts = append(opts, srv.ClientOptions()...)
	case c.g.keySet:
		opts = append(opts, fal.WithKey(c.g.key))
	}
	cl, err := fal.NewClient(opts...)
	if err != nil {
		release()
		// Only options built from flags and FAL_*_HOST can be wrong here.
		return nil, nil, fmt.Errorf("%s (check the FAL_*_HOST environment variables)", oneLine(err.Error()))
	}
	c.clientOpts = opts
	return cl, release, nil
}

// checkApp validates an app id argument before anything is sent.
func checkApp(app string) error {
	if err := appid.Validate(app); err != nil {
		return usageErrorf("%v", err)
	}
	return nil
}

// validRequestID reports whether id can be a request id: not empty, and
// nothing in it that would change the URL it goes into.
func validRequestID(id string) bool {
	return id != "" && !strings.ContainsAny(id, "/?#%\\ \t\r\n")
}

// checkRequestID validates a request id argument.
func checkRequestID(id string) error {
	if !validRequestID(id) {
		return usageErrorf("%q is not a request id; use the request_id that falgo submit printed", id)
	}
	return nil
}

// demoApps are the app ids shell completion offers and --local's "did
// you mean" picks from: the apps of --local, which are also real fal apps.
var demoApps = func() []string {
	var ids []string
	for _, a := range faltest.DemoApps() {
		ids = append(ids, a.ID)
	}
	return ids
}()

// handle checks an app id and a request id given on the command line and
// returns a handle for them, with its client, the Platform API session on
// it, and the function that releases them.
func (c *cli) handle(app, id string) (*fal.RequestHandle, *fal.Client, *platformSession, func(), error) {
	if err := checkApp(app); err != nil {
		return nil, nil, nil, nil, err
	}
	if err := checkRequestID(id); err != nil {
		return nil, nil, nil, nil, err
	}
	cl, s, release, err := c.connect()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	h, err := cl.Handle(app, id)
	if err != nil {
		release()
		return nil, nil, nil, nil, usageErrorf("%s", oneLine(err.Error()))
	}
	return h, cl, s, release, nil
}

// call is what every command that sends an input needs: the input, a
// client, and the context it waits under.
type call struct {
	in   map[string]any
	cl   *fal.Client
	s    *platformSession // the Platform API: schemas, prices, did-you-mean
	ctx  context.Context
	done func() // stops the wait and releases the client
}

// startCall builds the input from the command's flags, then the client and
// the context to wait under, and checks the input against app's schema
// unless noValidate: an input the schema refuses ends the command here,
// before anything is uploaded or sent.
func (c *cli) startCall(ctx context.Context, app string, f inputFlags, noValidate bool) (*call, error) {
	in, err := buildInput(f, c.con)
	if err != nil {
		return nil, err
	}
	cl, s, release, err := c.connect()
	if err != nil {
		return nil, err
	}
	wctx, stop := c.waitContext(ctx)
	k := &call{in: in, cl: cl, s: s, ctx: wctx, done: func() { stop(); release() }}
	if noValidate {
		s.debugf("falgo: the input is not checked against a schema (--no-validate)")
		return k, nil
	}
	if err := s.checkInput(wctx, app, in); err != nil {
		k.done()
		return nil, err
	}
	return k, nil
}
