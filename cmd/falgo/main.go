// Command falgo is the command-line tool of the falgo project, the Go client
// for fal.ai.
//
// Usage:
//
//	falgo <command> [flags]
//
// Commands:
//
//	local   serve fal-compatible demo apps on this machine (see "falgo local --help")
//
// Exit codes (every command):
//
//	0  success; for long-running commands, a clean stop on SIGINT or SIGTERM
//	1  the command failed at run time (for example the port is taken)
//	2  the command line is wrong (unknown command or flag, bad flag value)
//
// Errors are printed to stderr as one line, "falgo <command>: <what went wrong>";
// command-line errors are followed by the command's usage.
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
