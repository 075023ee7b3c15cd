package main

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	fal "github.com/falgo/fal"
	"github.com/spf13/cobra"
)

// globals are the flags every command takes.
type globals struct {
	local   bool          // --local: run against an in-process faltest server
	key     string        // --key
	keySet  bool          // --key was given
	timeout time.Duration // --timeout: bound on the whole wait, 0 for none
	verbose bool          // -v: debug log of every HTTP exchange
	noColor bool          // --no-color
	json    bool          // --json: compact JSON on stdout
}

// cli is what a command needs to run: the global flags and the console.
type cli struct {
	g     globals
	con   *console
	cache *diskCache // the schema and price cache, opened on first use
	// clientOpts are the options of the command's fal client, kept to
	// build the Platform API's lookup client beside it.
	clientOpts []fal.Option
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

// rootLong is the root command's help.
const rootLong = `falgo is the command-line tool of falgo, the Go client for fal.ai: run any
fal model from a terminal, follow queued requests, upload files, and run
batches that survive a crash.

Try it offline, with no key: --local starts a fal-compatible server with demo
apps (fal-ai/flux/schnell, fal-ai/any-llm, falgo/echo, ...) inside falgo:

  falgo --local run fal-ai/flux/schnell -i prompt="a lighthouse at dusk" --save out/

Without --local, falgo talks to fal.ai with the credentials of the fal Go
client: FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET, FAL_KEY_FILE, the fal CLI
login), or --key. "falgo auth" shows which one is used. FAL_RUN_HOST,
FAL_QUEUE_RUN_HOST, FAL_REST_HOST and FAL_CDN_HOST point falgo elsewhere,
for example at "falgo local".

Output: results go to stdout as JSON (indented on a terminal, one line when
piped or with --json); progress, logs and errors go to stderr, animated only
on a terminal. Errors are one line: "falgo <command>: <what went wrong and
what to do>".

` + exitCodeHelp

// newRootCmd builds the falgo command tree. Each subcommand lives in its
// own file and is added here.
func newRootCmd(con *console) *cobra.Command {
	c := &cli{con: con}
	root := &cobra.Command{
		Use:   "falgo",
		Short: "Run fal.ai models from the command line (offline with --local)",
		Long:  rootLong,
		// Errors are printed by execute, one line each (command-line
		// errors with a one-line hint to --help, never the whole usage).
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
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			c.g.keySet = cmd.Flags().Changed("key") && cmd.Name() != "local"
			if c.g.noColor || os.Getenv("NO_COLOR") != "" {
				c.con.disableColor()
			}
			if c.g.timeout < 0 {
				return usageErrorf("--timeout must not be negative (0 means no limit)")
			}
			if c.g.keySet && c.g.key == "" {
				return usageErrorf("--key is empty; pass a fal API key, or leave --key out to use FAL_KEY")
			}
			if c.g.keySet && c.g.local {
				return usageErrorf("--key cannot be combined with --local: the --local server has its own test key")
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err: err}
	})
	pf := root.PersistentFlags()
	pf.BoolVar(&c.g.local, "local", false, "run against a fal-compatible demo server inside falgo (no key, no network)")
	pf.StringVar(&c.g.key, "key", "", "fal API `KEY` to use instead of FAL_KEY and the rest of the credential chain (visible to other local users in the process list; prefer FAL_KEY)")
	pf.DurationVar(&c.g.timeout, "timeout", 0, "give up waiting after this long, e.g. 90s or 10m (0: no limit); a queued request keeps running")
	pf.BoolVarP(&c.g.verbose, "verbose", "v", false, "log every HTTP exchange to stderr (credentials are never logged)")
	pf.BoolVar(&c.g.noColor, "no-color", false, "no colours on stderr (also when NO_COLOR is set)")
	pf.BoolVar(&c.g.json, "json", false, "print JSON on stdout on one line (the default when stdout is not a terminal)")

	root.AddCommand(
		newLocalCmd(),
		newRunCmd(c),
		newSubmitCmd(c),
		newStatusCmd(c),
		newResultCmd(c),
		newCancelCmd(c),
		newStreamCmd(c),
		newUploadCmd(c),
		newAuthCmd(c),
		newBatchCmd(c),
		newModelsCmd(c),
		newSchemaCmd(c),
		newPriceCmd(c),
		newEstimateCmd(c),
		newUsageCmd(c),
		newRequestsCmd(c),
		newCreditsCmd(c),
		newGenCmd(c),
		newMCPCmd(c),
	)
	return root
}

// run executes the command line args with the process's standard input
// and returns the exit code. Results go to stdout, diagnostics and errors
// to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return execute(ctx, args, newConsole(os.Stdin, stdout, stderr))
}

// usageHint is the line printed under a command-line error.
func usageHint(cmd *cobra.Command) string {
	return "see `" + cmd.CommandPath() + " --help`"
}

// execute runs args on con and returns the process exit code.
func execute(ctx context.Context, args []string, con *console) int {
	root := newRootCmd(con)
	root.SetArgs(args)
	root.SetIn(con.stdin)
	root.SetOut(con.stdout)
	root.SetErr(con)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	if cmd == nil {
		cmd = root
	}
	var ue *usageError
	if errors.As(err, &ue) {
		// One line, and one line of hint: the usage is a --help away.
		con.errorf("%s: %s", cmd.CommandPath(), oneLine(err.Error()))
		con.errorf("%s", usageHint(cmd))
		return exitUsage
	}
	msg, code := describeError(err)
	if ctx.Err() != nil && code != exitUsage {
		// The command stopped because of Ctrl-C or SIGTERM, whatever error
		// that caused on the way.
		var ce *codedError
		if !errors.As(err, &ce) {
			msg = "interrupted"
		}
		code = exitInterrupted
	}
	// The message may quote the server (an app's error, a field name, a
	// request id): errorf escapes it.
	con.errorf("%s: %s", cmd.CommandPath(), msg)
	return code
}
