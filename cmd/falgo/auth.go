package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	fal "github.com/falgo/fal"
	"github.com/spf13/cobra"
)

// The made-up request that `falgo auth --check` asks about.
const (
	authCheckApp = "fal-ai/fast-sdxl"
	authCheckID  = "00000000-0000-4000-8000-000000000000"
)

// newAuthCmd builds `falgo auth`.
func newAuthCmd(c *cli) *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Show which fal credentials falgo would use, and why",
		Long: `Show every source of fal credentials in the order falgo tries them (FAL_KEY,
FAL_KEY_ID/FAL_KEY_SECRET, FAL_KEY_FILE, the fal CLI login, Google Colab),
what each one holds, which one wins and why, and whether this is a Google
Colab runtime. Secrets are never printed: only their lengths.

--check also makes one cheap authenticated call: it asks fal's queue for the
status of a made-up request id. Nothing runs and nothing is billed. A 401 or
403 answer means fal rejected the credentials (exit code 3); any other
answer from fal, normally 404 for the unknown request, means they were
accepted. A network failure exits with 1.`,
		Example: `  falgo auth
  falgo auth --check
  FAL_KEY_FILE=~/.config/fal/key falgo auth --check`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.auth(cmd.Context(), check)
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "make one authenticated call to test the credentials")
	return cmd
}

// colabBridge is the Python cell that hands a Colab secret to programs the
// notebook starts afterwards.
const colabBridge = `import os; from google.colab import userdata; os.environ["FAL_KEY"] = userdata.get("FAL_KEY")`

// auth is `falgo auth`.
func (c *cli) auth(ctx context.Context, check bool) error {
	rep := fal.InspectCredentials(ctx)
	var b strings.Builder
	switch {
	case c.g.local:
		b.WriteString(overriddenReport(rep, "--local: the in-process demo server's test key (the sources above are not used)"))
	case c.g.keySet:
		b.WriteString(overriddenReport(rep, fmt.Sprintf("--key (%d chars): an explicit key wins over every source above", len(c.g.key))))
	default:
		b.WriteString(rep.String())
		if rep.Colab && rep.Winner == "" {
			b.WriteString("In Google Colab a Go program cannot read notebook secrets; run this in a Python cell, then run falgo again:\n    " + colabBridge + "\n")
		}
	}
	// The report quotes the environment and local files (a key file's
	// problem, a token's issuer): escaped, it keeps only its lines.
	if _, err := io.WriteString(c.con.stdout, escapeControls(userWords(b.String()), block)); err != nil {
		return fmt.Errorf("writing to stdout: %w", err)
	}
	if !check {
		return nil
	}
	verdict, err := c.checkCredentials(ctx)
	if verdict != "" {
		if werr := c.con.printOut("Check: " + verdict); werr != nil {
			return werr
		}
	}
	return err
}

// overriddenReport renders the credentials report like
// CredentialsReport.String, for when a flag decides the credentials instead
// of the chain: no source is marked as the winner.
func overriddenReport(rep fal.CredentialsReport, using string) string {
	var b strings.Builder
	b.WriteString("fal credentials, in the order they are tried:\n")
	for _, s := range rep.Sources {
		b.WriteString("  " + s.String() + "\n")
	}
	b.WriteString("Using: " + using + "\n")
	switch {
	case rep.ColabEnterprise:
		b.WriteString("Colab: Colab Enterprise runtime detected\n")
	case rep.Colab:
		b.WriteString("Colab: Google Colab runtime detected\n")
	default:
		b.WriteString("Colab: not detected\n")
	}
	return b.String()
}

// checkCredentials makes the --check call and returns its verdict, plus an
// error when the credentials are missing or rejected, or fal could not be
// asked.
func (c *cli) checkCredentials(ctx context.Context) (string, error) {
	cl, release, err := c.newClient()
	if err != nil {
		return "", err
	}
	defer release()
	wctx, stop := c.waitContext(ctx)
	defer stop()
	_, err = cl.Status(wctx, authCheckApp, authCheckID)
	who := "fal"
	if c.g.local {
		who = "the --local server"
	}
	var he *fal.HTTPError
	switch {
	case err == nil:
		return "OK: " + who + " accepted the credentials", nil
	case errors.As(err, &he) && (he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden):
		return fmt.Sprintf("REJECTED: %s answered %d %s", who, he.StatusCode, http.StatusText(he.StatusCode)), err
	case errors.As(err, &he) && he.StatusCode < 500:
		return fmt.Sprintf("OK: %s accepted the credentials (it answered %d %s for a made-up request id, which it does only for authenticated callers)", who, he.StatusCode, http.StatusText(he.StatusCode)), nil
	case errors.As(err, &he):
		return "", codedErrorf(exitError, "cannot tell: %s answered %d %s; try again later", who, he.StatusCode, http.StatusText(he.StatusCode))
	case timedOut(wctx):
		return "", codedErrorf(exitTimeout, "gave up after %v (--timeout) waiting for fal's answer", c.g.timeout)
	case wctx.Err() != nil:
		return "", codedErrorf(exitInterrupted, "interrupted while waiting for fal's answer")
	}
	return "", err
}
