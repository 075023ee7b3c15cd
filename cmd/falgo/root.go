package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes shared by every command; main.go's package comment documents them.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// usageError marks an error in the command line itself (unknown command or
// flag, bad flag value). run prints the command's usage after it and exits
// with exitUsage; every other error is a run-time failure.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf returns a *usageError with a formatted message.
func usageErrorf(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// usageArgs wraps a cobra argument validator so that its errors count as
// command-line errors.
func usageArgs(validate cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := validate(cmd, args); err != nil {
			return &usageError{err: err}
		}
		return nil
	}
}

// newRootCmd builds the falgo command tree. Each subcommand lives in its own
// file and is added here.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "falgo",
		Short: "Command-line tool for fal.ai, from the falgo Go client",
		Long: `falgo is the command-line tool of falgo, the Go client for fal.ai.

Exit codes: 0 success (or a clean stop on SIGINT/SIGTERM), 1 run-time failure,
2 command-line error. Errors go to stderr as one line.`,
		// Errors and usage are printed by run, so that run-time errors stay one
		// line and only command-line errors show the usage.
		SilenceErrors: true,
		SilenceUsage:  true,
		// The root is runnable so that an unknown command is reported as a
		// command-line error instead of silently printing the help.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q (see %q)", args[0], cmd.CommandPath()+" --help")
			}
			return cmd.Help()
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err: err}
	})
	root.AddCommand(newLocalCmd())
	return root
}

// run executes the command line args and returns the process exit code.
// Command output goes to stdout, diagnostics and errors to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	if cmd == nil {
		cmd = root
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	fmt.Fprintf(stderr, "%s: %s\n", cmd.CommandPath(), msg)
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprint(stderr, cmd.UsageString())
		return exitUsage
	}
	return exitError
}
