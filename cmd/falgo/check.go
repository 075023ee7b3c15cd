package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/internal/openapi"
	"github.com/falgo/fal/platform"
	"github.com/spf13/cobra"
)

// checkHelp documents the input check in the help of run, submit and
// batch.
const checkHelp = `Input check: before anything is uploaded or sent, the input is checked
against the app's schema (its OpenAPI document from fal's Platform API,
cached for 24 hours under the user cache directory, see "falgo schema").
Unknown fields (with a "did you mean"), missing required fields, values of
the wrong type and values outside an enum or a range are refused with exit
code 2, before any request reaches the app, so nothing is billed. Where the
schema cannot be had (an app fal's catalogue does not list, such as a private
one; no access to the Platform API; a network error), the input is sent
unchecked, and -v says why: a missing schema never stops a run.
--no-validate skips the check.`

// addNoValidate registers --no-validate.
func addNoValidate(cmd *cobra.Command, p *bool) {
	cmd.Flags().BoolVar(p, "no-validate", false, "do not check the input against the app's schema before sending it")
}

// checkSchema returns the schema inputs of app are checked against, or nil
// with the reason there is none (-v prints it).
func (s *platformSession) checkSchema(ctx context.Context, app string) (*openapi.Endpoint, string, string) {
	ep, _, from, err := s.schema(ctx, app, false)
	if err == nil {
		return ep, from, ""
	}
	var why string
	switch {
	case ctx.Err() != nil:
		why = "interrupted while fetching it"
	case errors.Is(err, platform.ErrNotFound):
		s.markNotListed(app)
		why = fmt.Sprintf("fal's catalogue does not list %s (a private app, or a misspelt id)", app)
	case errors.Is(err, fal.ErrMissingCredentials):
		why = "no credentials to ask fal's Platform API"
	default:
		why = "it could not be fetched: " + oneLine(err.Error())
	}
	return nil, "", why
}

// inputCheck is what checking an input against its app's schema found.
type inputCheck struct {
	checked  bool              // false: there is no schema to check against
	problems []openapi.Problem // what the schema refuses; none when it matches
	note     string            // where the schema came from, or why there is none
}

// checkAgainstSchema checks a decoded input (numbers as json.Number, as
// decodeObject and decodedInput give) against app's schema. Each caller
// words the problems, and its advice, for its own user.
func (s *platformSession) checkAgainstSchema(ctx context.Context, app string, dec map[string]any) inputCheck {
	ep, from, why := s.checkSchema(ctx, app)
	if ep == nil {
		return inputCheck{note: why}
	}
	return inputCheck{checked: true, problems: ep.Validate(dec), note: from}
}

// checkInput refuses an input built from flags that app's schema rejects,
// before anything is sent; without a schema it lets the input through.
func (s *platformSession) checkInput(ctx context.Context, app string, in map[string]any) error {
	dec, err := decodedInput(in)
	if err != nil {
		return err
	}
	r := s.checkAgainstSchema(ctx, app, dec)
	switch {
	case !r.checked:
		s.debugf("falgo: the input is not checked against a schema: %s", r.note)
		return nil
	case len(r.problems) == 0:
		s.debugf("falgo: the input matches the schema of %s (%s)", app, r.note)
		return nil
	}
	hint := ""
	for _, p := range r.problems {
		if strings.HasPrefix(p.Message, "missing required field") && p.Path != "" && !strings.Contains(p.Path, "[") {
			hint = fmt.Sprintf(" (set it with -i %s=VALUE)", p.Path)
			break
		}
	}
	return codedErrorf(exitUsage, "the input does not match the schema of %s: %s%s; nothing was sent (fix the input, or pass --no-validate to send it as it is)", app, problemList(r.problems, 5), hint)
}

// checkBatch refuses a batch when any of its input lines fails app's
// schema, naming the lines; nothing is submitted then.
func (s *platformSession) checkBatch(ctx context.Context, app, path string, inputs []batchInput) error {
	ep, from, why := s.checkSchema(ctx, app)
	if ep == nil {
		s.debugf("falgo: the inputs are not checked against a schema: %s", why)
		return nil
	}
	var bad []string
	nbad := 0
	for _, in := range inputs {
		dec, err := decodeObject(in.data)
		if err != nil {
			return usageErrorf("%s:%d: %v", path, in.line, err)
		}
		problems := ep.Validate(dec)
		if len(problems) == 0 {
			continue
		}
		nbad++
		if len(bad) < 10 {
			bad = append(bad, fmt.Sprintf("line %d (%s)", in.line, problemList(problems, 3)))
		}
	}
	if nbad == 0 {
		s.debugf("falgo: every input matches the schema of %s (%s)", app, from)
		return nil
	}
	if nbad > len(bad) {
		bad = append(bad, fmt.Sprintf("and %d more lines", nbad-len(bad)))
	}
	return codedErrorf(exitUsage, "%s of %d in %s %s not match the schema of %s, so nothing was submitted: %s (fix them, or pass --no-validate to submit them as they are)",
		plural(nbad, "input line"), len(inputs), path, pick(nbad, "does", "do"), app, strings.Join(bad, "; "))
}

// problemList joins up to n problems.
func problemList(problems []openapi.Problem, n int) string {
	var parts []string
	for i, p := range problems {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(problems)-n))
			break
		}
		parts = append(parts, p.String())
	}
	return strings.Join(parts, "; ")
}

// decodeObject decodes a JSON object with numbers kept as json.Number, as
// openapi.Validate takes them.
func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	return m, nil
}

// decodedInput turns an input built from flags (raw JSON values, nested
// maps, key=@path files) into decoded JSON for openapi.Validate. A file to
// upload counts as the URL string it becomes.
func decodedInput(in map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(in))
	for k, v := range in {
		switch t := v.(type) {
		case map[string]any:
			m, err := decodedInput(t)
			if err != nil {
				return nil, err
			}
			out[k] = m
		case json.RawMessage:
			dec := json.NewDecoder(bytes.NewReader(t))
			dec.UseNumber()
			var x any
			if err := dec.Decode(&x); err != nil {
				return nil, fmt.Errorf("internal error: the value of %s is not JSON: %w", k, err)
			}
			out[k] = x
		case *fileInput:
			out[k] = "https://upload.invalid/" + filepath.Base(t.path)
		default:
			out[k] = t
		}
	}
	return out, nil
}
