// Command falgo is the command-line tool of the falgo project, the Go client
// for fal.ai: it runs any fal model from a terminal, and with --local runs the
// demo apps of package faltest inside the process, with no key and no network.
//
// Usage:
//
//	falgo [global flags] <command> [flags]
//
// Commands:
//
//	run      run an app and print its output (queue by default, --sync for the direct endpoint)
//	submit   queue a request and print its request id
//	status   show a queued request's status (--logs, --watch)
//	result   wait for a queued request and print its output
//	cancel   cancel a queued or running request
//	stream   call an app's streaming endpoint, one JSON line per event
//	upload   upload files to fal storage and print their URLs
//	auth     show which credentials falgo would use, and why (--check tests them)
//	batch    run an app on every line of a JSONL file, resumably
//	local    serve fal-compatible demo apps on this machine
//	completion  shell completion scripts (bash, zsh, fish, powershell)
//
// Global flags: --local, --key, --timeout, -v/--verbose, --no-color, --json.
// Inputs: -i key=value (JSON if valid JSON, else a string; dotted keys nest;
// key=@path uploads a file and passes its URL), --input FILE or --input -.
//
// Results go to stdout as JSON (indented on a terminal, one line otherwise
// or with --json); progress, logs and errors go to stderr, animated only on
// a terminal, never with escape codes or carriage returns on a pipe.
//
// Exit codes (every command):
//
//	0    success; for falgo local, a clean stop on SIGINT or SIGTERM
//	1    the request or command failed (app error, invalid input, network, I/O)
//	2    the command line is wrong (unknown command or flag, bad -i, bad --input)
//	3    no usable credentials, or fal rejected them
//	4    --timeout ran out (a queued request keeps running; falgo result fetches it)
//	5    falgo batch left inputs uncertain (submitted, but whether fal queued them is unknown)
//	130  interrupted by SIGINT (Ctrl-C) or SIGTERM; queued requests keep running
//
// Errors are printed to stderr as one line, "falgo <command>: <what went
// wrong and what to do>"; a command-line error is followed by one line that
// points at the command's --help.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a second
		// Ctrl-C kills the process even if a graceful stop hangs.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
