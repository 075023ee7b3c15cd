package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/falgo/fal/internal/openapi"
	"github.com/falgo/fal/platform"
	"github.com/spf13/cobra"
)

// platformOutputHelp says how the Platform API commands print.
const platformOutputHelp = `Output: a table on a terminal; JSON on stdout when it is piped or with
--json (fal's field names, money as the decimal text fal sent).`

// modelsOptions holds the flags of `falgo models`.
type modelsOptions struct {
	category string
	status   string
	limit    int
}

// defaultModelsLimit is how many models `falgo models` lists by default.
const defaultModelsLimit = 50

// newModelsCmd builds `falgo models`.
func newModelsCmd(c *cli) *cobra.Command {
	var o modelsOptions
	cmd := &cobra.Command{
		Use:   "models [QUERY...] [--category C] [--status active|deprecated] [--limit N]",
		Short: "Search fal's model catalogue",
		Long: `List the models of fal's catalogue (the Platform API's GET /v1/models) that
match QUERY, a free-text search over ids, names, descriptions and
categories, with their display name, category, status and description.
No key is needed (fal then applies lower rate limits).

--limit N lists at most N models (default 50; 0 lists every match).

` + platformOutputHelp,
		Example: `  falgo models flux
  falgo models --category text-to-image --limit 10
  falgo models upscale --json | jq -r '.[].endpoint_id'`,
		Args: usageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.models(cmd.Context(), strings.Join(args, " "), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.category, "category", "", "only models of this `CATEGORY`, e.g. text-to-image")
	f.StringVar(&o.status, "status", "", "only active or deprecated models")
	f.IntVar(&o.limit, "limit", defaultModelsLimit, "list at most `N` models (0: all)")
	return cmd
}

// models is `falgo models`.
func (c *cli) models(ctx context.Context, query string, o modelsOptions) error {
	switch o.status {
	case "", string(platform.ModelActive), string(platform.ModelDeprecated):
	default:
		return usageErrorf("--status %q: use active or deprecated", o.status)
	}
	if o.limit < 0 {
		return usageErrorf("--limit %d: give 0 (all) or more", o.limit)
	}
	_, s, release, err := c.connect()
	if err != nil {
		return err
	}
	defer release()
	p := platform.ModelsParams{Query: query, Category: o.category, Status: platform.ModelStatus(o.status)}
	found, more, err := s.searchModels(ctx, p, o.limit)
	if err != nil {
		return err
	}
	if more {
		defer c.con.errorf("falgo: more models match; showing the first %d (--limit 0 lists them all)", o.limit)
	}
	if len(found) == 0 {
		defer c.con.errorf("falgo: no model of fal's catalogue matches")
	}
	if !c.wantTable() {
		if found == nil {
			found = []platform.Model{}
		}
		return c.printJSON(found)
	}
	t := newTable("ENDPOINT", "NAME", "CATEGORY", "STATUS", "DESCRIPTION")
	t.clip[1], t.clip[4] = 40, 60
	for _, m := range found {
		var name, category, status, desc string
		if md := m.Metadata; md != nil {
			name, category, status, desc = md.DisplayName, md.Category, string(md.Status), md.Description
		}
		t.add(m.EndpointID, oneLineText(name), category, status, oneLineText(desc))
	}
	return c.printTable(t)
}

// searchModels lists the models of fal's catalogue that match p: at most
// limit of them (0: all), and whether more match.
func (s *platformSession) searchModels(ctx context.Context, p platform.ModelsParams, limit int) ([]platform.Model, bool, error) {
	if limit > 0 {
		p.Limit = min(limit+1, 100)
	}
	var found []platform.Model
	for m, err := range s.pc.Models(ctx, p) {
		if err != nil {
			return nil, false, err
		}
		if limit > 0 && len(found) == limit {
			return found, true, nil
		}
		found = append(found, m)
	}
	return found, false, nil
}

// newSchemaCmd builds `falgo schema`.
func newSchemaCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "schema APP [--json]",
		Short: "Show an app's inputs and outputs, from its OpenAPI schema",
		Long: `Show the inputs of an app in fal's order, with each one's type, whether it
is required, its default, its allowed values (enum values or range) and its
description, then its outputs: read from the app's OpenAPI document, which
fal's Platform API serves (GET /v1/models?expand=openapi-3.0).

--json (or a piped stdout) prints the OpenAPI document itself, as fal sent it.

This is the schema falgo run, submit and batch check inputs against. It is
always fetched afresh here, and refreshes the cache those commands use
(24 hours, under the user cache directory).`,
		Example: `  falgo schema fal-ai/flux/schnell
  falgo schema fal-ai/flux/dev --json | jq '.components.schemas | keys'`,
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeApp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.showSchema(cmd.Context(), args[0])
		},
	}
}

// showSchema is `falgo schema`.
func (c *cli) showSchema(ctx context.Context, app string) error {
	if err := checkApp(app); err != nil {
		return err
	}
	_, s, release, err := c.connect()
	if err != nil {
		return err
	}
	defer release()
	ep, doc, _, err := s.schema(ctx, app, true)
	if err != nil {
		if errors.Is(err, platform.ErrNotFound) {
			return s.unknownApp(ctx, app, err)
		}
		return err
	}
	if !c.wantTable() {
		return c.con.writeJSON(doc, c.g.json)
	}
	title := app
	if ep.Title != "" && !strings.Contains(ep.Title, app) {
		title += ": " + ep.Title
	}
	if ep.Category != "" {
		title += " (" + ep.Category + ")"
	}
	if err := c.printText("%s", title); err != nil {
		return err
	}
	in := newTable("INPUT", "TYPE", "REQUIRED", "DEFAULT", "ALLOWED", "DESCRIPTION")
	in.clip[1], in.clip[3], in.clip[4], in.clip[5] = 40, 30, 50, 60
	for _, f := range ep.Inputs() {
		req := ""
		if f.Required {
			req = "yes"
		}
		in.add(f.Name, fieldType(f), req, f.DefaultText(), allowedText(f), oneLineText(f.Description))
	}
	if err := c.printText(""); err != nil {
		return err
	}
	if err := c.printTable(in); err != nil {
		return err
	}
	if outs := ep.Outputs(); len(outs) > 0 {
		out := newTable("OUTPUT", "TYPE", "DESCRIPTION")
		out.clip[1], out.clip[2] = 40, 60
		for _, f := range outs {
			out.add(f.Name, fieldType(f), oneLineText(f.Description))
		}
		if err := c.printText(""); err != nil {
			return err
		}
		if err := c.printTable(out); err != nil {
			return err
		}
	}
	if c.g.verbose {
		for _, n := range ep.Notes {
			c.con.errorf("falgo: schema note: %s", n)
		}
	}
	return nil
}

// fieldType is a field's type for the table, "| null" added when it is
// nullable. An enum's values are in the ALLOWED column.
func fieldType(f openapi.Field) string {
	t := f.Type
	if strings.HasPrefix(t, "enum(") {
		t = "enum"
	}
	if f.Nullable {
		t += " | null"
	}
	return t
}

// allowedText is a field's enum values and range.
func allowedText(f openapi.Field) string {
	var parts []string
	if len(f.Enum) > 0 {
		parts = append(parts, strings.Join(f.Enum, ", "))
	}
	if f.Range != "" {
		parts = append(parts, f.Range)
	}
	return strings.Join(parts, "; ")
}

// unknownApps checks which of ids fal's catalogue does not list and
// returns the error naming them with suggestions, or nil when it lists
// them all (or cannot be asked).
func (s *platformSession) unknownApps(ctx context.Context, ids []string) error {
	listed := map[string]bool{}
	for m, err := range s.pc.Models(ctx, platform.ModelsParams{EndpointIDs: ids}) {
		if err != nil {
			return nil
		}
		listed[m.EndpointID] = true
	}
	var parts []string
	for _, id := range ids {
		if listed[id] {
			continue
		}
		if m := s.suggestApp(ctx, id); m != "" {
			parts = append(parts, fmt.Sprintf("%s (did you mean %s?)", id, m))
		} else {
			parts = append(parts, id)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return codedErrorf(exitError, "fal knows no app %s", strings.Join(parts, ", "))
}
