package main

import (
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/falgo/fal/faltest"
)

// The Platform API commands: models, schema, price, estimate, usage,
// requests, credits, against faltest (its demo apps and prices), as a
// table on a terminal and as JSON on a pipe.

// ttyCLI runs a command line with stdout and stderr as terminals.
func ttyCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	return cliRun{tty: true}.run(t, append([]string{"--no-color"}, args...)...)
}

// mustExit fails unless r ended with code.
func mustExit(t *testing.T, what string, r cliResult, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d; stdout:\n%s\nstderr:\n%s", what, r.code, code, r.stdout, r.stderr)
	}
}

// decodeOut decodes a command's JSON stdout into v, with numbers as
// json.Number.
func decodeOut(t *testing.T, what string, r cliResult, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("%s: stdout is not one line of JSON (%v): %q", what, err, r.stdout)
	}
}

// cellSplit splits a table line into its cells (two spaces or more apart).
var cellSplit = regexp.MustCompile(`\s{2,}`)

// tableRow returns the cells of the first table line whose first cell is
// first, failing when there is none.
func tableRow(t *testing.T, out, first string) []string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		cells := cellSplit.Split(strings.TrimSpace(l), -1)
		if len(cells) > 0 && cells[0] == first {
			return cells
		}
	}
	t.Fatalf("no table row starts with %q:\n%s", first, out)
	return nil
}

// tableRows counts the lines of a table after its header.
func tableRows(out string) int {
	return max(strings.Count(strings.TrimRight(out, "\n"), "\n"), 0)
}

func TestModelsListsTheFluxDemoApps(t *testing.T) {
	startFal(t)
	r := runCLI(t, "models", "flux")
	mustExit(t, "models flux", r, exitOK)
	var models []struct {
		EndpointID string `json:"endpoint_id"`
		Metadata   struct {
			DisplayName string `json:"display_name"`
			Category    string `json:"category"`
		} `json:"metadata"`
	}
	decodeOut(t, "models flux", r, &models)
	var ids []string
	for _, m := range models {
		ids = append(ids, m.EndpointID)
	}
	if !slices.Contains(ids, faltest.DemoFluxSchnell) || !slices.Contains(ids, faltest.DemoFluxDev) || slices.Contains(ids, faltest.DemoEcho) {
		t.Errorf("models flux lists %v; want the flux demo apps and not falgo/echo", ids)
	}

	tty := ttyCLI(t, "models", "flux")
	mustExit(t, "models flux on a terminal", tty, exitOK)
	if !strings.HasPrefix(tty.stdout, "ENDPOINT") || tableRows(tty.stdout) != len(models) {
		t.Errorf("want a table with a header and %d rows:\n%s", len(models), tty.stdout)
	}
	if row := tableRow(t, tty.stdout, faltest.DemoFluxSchnell); row[1] != "FLUX.1 [schnell]" || row[2] != "text-to-image" || row[3] != "active" {
		t.Errorf("the schnell row is %q", row)
	}

	one := runCLI(t, "models", "flux", "--limit", "1")
	var first []json.RawMessage
	decodeOut(t, "--limit 1", one, &first)
	if one.code != exitOK || len(first) != 1 || !strings.Contains(one.stderr, "--limit 0 lists them all") {
		t.Errorf("--limit 1: exit %d, %d models, stderr %q", one.code, len(first), one.stderr)
	}
	if r := runCLI(t, "models", "--category", "llm"); r.code != exitOK || !strings.Contains(r.stdout, faltest.DemoAnyLLM) || strings.Contains(r.stdout, faltest.DemoFluxDev) {
		t.Errorf("--category llm: exit %d, stdout %s", r.code, r.stdout)
	}
	if r := runCLI(t, "models", "--status", "gone"); r.code != exitUsage {
		t.Errorf("--status gone: exit %d, want %d", r.code, exitUsage)
	}
	// A search that matches nothing is an empty list, not an error.
	if r := runCLI(t, "models", "no-such-model-anywhere"); r.code != exitOK || r.stdout != "[]\n" || !strings.Contains(r.stderr, "no model") {
		t.Errorf("no match: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// echoHandler answers its input.
func echoHandler(_ context.Context, req *faltest.Request) (any, error) {
	return req.Input, nil
}

// TestTablesEscapeServerText: a model whose metadata holds terminal
// escapes is listed with them escaped, in the table and in the JSON.
func TestTablesEscapeServerText(t *testing.T) {
	startFal(t, faltest.WithApp("test/evil", echoHandler, faltest.Info(faltest.ModelInfo{
		DisplayName: "evil\x1b]0;pwned\x07", Category: "text\x1b[2J", Description: "clears \x1b[2J the screen \u009b",
	})))
	for _, tty := range []bool{false, true} {
		r := cliRun{tty: tty}.run(t, "models", "evil")
		mustExit(t, "models evil", r, exitOK)
		want := []string{`evil\x1b]0;pwned\x07`, `\x1b[2J`}
		if !tty {
			want = []string{`evil\u001b]0;pwned\u0007`, `\u009b`}
		}
		checkSafe(t, "models with hostile metadata", r, tty, want, nil)
	}
}

func TestSchemaShowsPromptAsRequired(t *testing.T) {
	startFal(t)
	tty := ttyCLI(t, "schema", faltest.DemoFluxSchnell)
	mustExit(t, "schema", tty, exitOK)
	row := tableRow(t, tty.stdout, "prompt")
	if row[1] != "string" || row[2] != "yes" {
		t.Errorf("prompt row %q: want a required string", row)
	}
	if row := tableRow(t, tty.stdout, "num_images"); row[1] != "integer" || row[2] != "1" || row[3] != "1 <= x <= 4" {
		t.Errorf("num_images row %q: want integer, default 1, 1 <= x <= 4", row)
	}
	if row := tableRow(t, tty.stdout, "output_format"); row[1] != "enum" || !strings.HasPrefix(row[3], "jpeg, png") {
		t.Errorf("output_format row %q: want its enum values", row)
	}
	// Inputs in fal's order (x-fal-order-properties), outputs after them.
	if i, j, k := strings.Index(tty.stdout, "\nprompt "), strings.Index(tty.stdout, "\nimage_size "), strings.Index(tty.stdout, "\nOUTPUT "); i < 0 || j < i || k < j {
		t.Errorf("want prompt, then image_size, then the outputs:\n%s", tty.stdout)
	}

	// Piped (or --json): the OpenAPI document as fal sent it.
	r := runCLI(t, "schema", faltest.DemoFluxSchnell)
	mustExit(t, "schema | cat", r, exitOK)
	var doc struct {
		OpenAPI    string `json:"openapi"`
		Components struct {
			Schemas map[string]struct {
				Required []string `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	decodeOut(t, "schema JSON", r, &doc)
	found := false
	for name, sc := range doc.Components.Schemas {
		if strings.HasSuffix(name, "Input") && slices.Contains(sc.Required, "prompt") {
			found = true
		}
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || !found {
		t.Errorf("the document should be OpenAPI 3 with an Input requiring prompt: %.300s", r.stdout)
	}
	if j := (cliRun{tty: true}).run(t, "--json", "schema", faltest.DemoFluxSchnell); j.code != exitOK || j.stdout != r.stdout {
		t.Errorf("--json on a terminal should print the same document: exit %d", j.code)
	}

	bad := runCLI(t, "schema", "fal-ai/flux/schnel")
	if bad.code != exitError || lastLine(bad.stderr) != "falgo schema: fal knows no app fal-ai/flux/schnel; did you mean fal-ai/flux/schnell?" {
		t.Errorf("misspelt app: exit %d, stderr %q", bad.code, bad.stderr)
	}
}

// TestMisspeltAppGetsDidYouMean: the model API answers 404 for an unknown
// app, and falgo asks fal's model search what was meant; --local too.
func TestMisspeltAppGetsDidYouMean(t *testing.T) {
	srv := startFal(t)
	for _, args := range [][]string{
		{"run", "fal-ai/flux/schnel", "-i", "prompt=x"},
		{"run", "--sync", "fal-ai/flux/shcnell", "-i", "prompt=x"},
		{"submit", "fal-ai/flux/schnel", "-i", "prompt=x"},
		{"run", "flux/schnell", "-i", "prompt=x"},
		{"--local", "run", "fal-ai/flux/schnel", "-i", "prompt=x"},
	} {
		r := runCLI(t, args...)
		if r.code != exitError || !strings.Contains(lastLine(r.stderr), "; did you mean fal-ai/flux/schnell?") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want one line with the did-you-mean", args, r.code, r.stderr)
		}
	}
	r := runCLI(t, "run", "nobody/nothing-like-it", "-i", "prompt=x")
	if r.code != exitError || !strings.Contains(r.stderr, "fal knows no app nobody/nothing-like-it (check the id; `falgo models WORDS`") {
		t.Errorf("no close app: exit %d, stderr %q", r.code, r.stderr)
	}
	p := runCLI(t, "price", faltest.DemoFluxDev, "fal-ai/flux/shnell")
	if p.code != exitError || lastLine(p.stderr) != "falgo price: fal knows no app fal-ai/flux/shnell (did you mean fal-ai/flux/schnell?)" {
		t.Errorf("price: exit %d, stderr %q", p.code, p.stderr)
	}
	if n := srv.Executions(faltest.DemoFluxSchnell); n != 0 {
		t.Errorf("schnell ran %d times", n)
	}
}

// TestRunRefusesABadInputBeforeAnyRequest: an input the app's schema
// refuses ends falgo run, submit, stream and batch with exit 2, and no
// request reaches the model API.
func TestRunRefusesABadInputBeforeAnyRequest(t *testing.T) {
	srv := startFal(t)
	app := faltest.DemoFluxSchnell
	modelRequests := func() int {
		st := srv.Stats()
		return st.Requests["run"] + st.Requests["submit"] + st.Requests["stream"] + st.Requests["upload"] + st.Requests["cdn_token"]
	}
	path := t.TempDir() + "/photo.png"
	if err := writeFile(path, "not really a png"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", app, "-i", "promt=a fox"}, `unknown field "promt"; did you mean "prompt"?`},
		{[]string{"run", "--sync", app, "-i", "prompt=a fox", "-i", "num_images=9"}, "num_images: must be <= 4, got 9"},
		{[]string{"submit", app, "-i", "prompt=a fox", "-i", "output_format=gif"}, "output_format"},
		{[]string{"stream", app, "-i", "prompt=a fox", "-i", "num_images=many"}, "num_images"},
		{[]string{"run", app, "-i", "num_images=2"}, "(set it with -i prompt=VALUE)"},
		{[]string{"run", app, "-i", "prompt=a fox", "-i", "image=@" + path}, `unknown field "image"`},
	}
	for _, tc := range cases {
		r := runCLI(t, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "nothing was sent") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
	if n, h := modelRequests(), len(srv.History(app)); n != 0 || h != 0 || srv.Executions(app) != 0 {
		t.Fatalf("%d model API requests, %d in the history: the bad inputs reached the server", n, h)
	}
	// --no-validate sends it: fal ignores unknown fields.
	r := runCLI(t, "run", "--no-validate", app, "-i", "prompt=a fox", "-i", "promt=typo")
	mustExit(t, "--no-validate", r, exitOK)
	if srv.Executions(app) != 1 {
		t.Errorf("--no-validate: the app ran %d times, want 1", srv.Executions(app))
	}
	// A good input passes the check.
	mustExit(t, "a good input", runCLI(t, "run", app, "-i", "prompt=a fox", "-i", "num_images=2"), exitOK)
}

// TestRunGoesOnWithoutASchema: an app with no schema, or a Platform API
// that cannot be reached, runs unchecked; -v says why.
func TestRunGoesOnWithoutASchema(t *testing.T) {
	srv := startFal(t, faltest.WithApp("test/plain", echoHandler))
	r := runCLI(t, "-v", "run", "test/plain", "-i", "anything=1")
	mustExit(t, "no schema", r, exitOK)
	if !strings.Contains(r.stderr, "the input is not checked against a schema: it could not be fetched: fal has no schema for test/plain") {
		t.Errorf("-v should say why the input is not checked:\n%s", r.stderr)
	}
	if err := srv.SetFaults(1, faltest.FaultRule{Route: "platform", Kind: faltest.AppError500}); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "-v", "run", faltest.DemoFluxSchnell, "-i", "prompt=x")
	mustExit(t, "Platform API down", r, exitOK)
	if !strings.Contains(r.stderr, "the input is not checked against a schema: it could not be fetched") ||
		!strings.Contains(r.stderr, "falgo: billed 1 units (the unit price of fal-ai/flux/schnell is unknown)") {
		t.Errorf("a failing Platform API: want the reason at -v and the units alone:\n%s", r.stderr)
	}
	if q := runCLI(t, "run", faltest.DemoFluxSchnell, "-i", "prompt=x"); strings.Contains(q.stderr, "not checked") {
		t.Errorf("without -v the missing schema is not mentioned: %s", q.stderr)
	}
}

// faltest's demo prices (faltest/doc.go), USD.
const (
	schnellPrice = "0.003" // per megapixels
	echoPrice    = "0.001" // per requests
)

// rat parses a decimal for the expected figures.
func rat(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("%q is not a decimal", s)
	}
	return r
}

// sameNumber compares a json.Number with an expected decimal exactly.
func sameNumber(t *testing.T, what string, got json.Number, want *big.Rat) {
	t.Helper()
	g, ok := new(big.Rat).SetString(got.String())
	if !ok || g.Cmp(want) != 0 {
		t.Errorf("%s = %q, want %s", what, got, formatDecimal(want))
	}
}

// TestCostCommandsMatchTheRuns: after runs of known billable units, run's
// cost line, price, estimate, usage, requests and credits all tell the
// same figures, computed here from faltest's prices.
func TestCostCommandsMatchTheRuns(t *testing.T) {
	srv := startFal(t)
	schnell, echo := faltest.DemoFluxSchnell, faltest.DemoEcho
	var ids []string
	for _, p := range []string{"a red fox", "a blue fox"} {
		r := runCLI(t, "run", schnell, "-i", "prompt="+p)
		mustExit(t, "run schnell", r, exitOK)
		// 1024×768 (landscape_4_3) is 1 megapixel, rounded up.
		if !strings.Contains(r.stderr, "falgo: billed 1 megapixels × $0.003 = $0.003\n") {
			t.Errorf("run should report its cost:\n%s", r.stderr)
		}
		ids = append(ids, requestIDIn(t, r.stderr))
	}
	r := runCLI(t, "run", "--sync", echo, "-i", "_billable_units=2.5")
	mustExit(t, "run echo", r, exitOK)
	if !strings.Contains(r.stderr, "falgo: billed 2.5 requests × $0.001 = $0.0025\n") {
		t.Errorf("a sync run should report its cost:\n%s", r.stderr)
	}
	if r := runCLI(t, "run", echo, "-i", "_billable_units=0"); r.code != exitOK || strings.Contains(r.stderr, "billed") {
		t.Errorf("no units billed: want no cost line; exit %d, stderr %s", r.code, r.stderr)
	}
	// What faltest recorded, and what it should cost.
	var schnellUnits, echoUnits big.Rat
	for _, h := range srv.History(schnell) {
		u, _ := unitsDecimal(h.BillableUnits)
		schnellUnits.Add(&schnellUnits, u)
	}
	for _, h := range srv.History(echo) {
		u, _ := unitsDecimal(h.BillableUnits)
		echoUnits.Add(&echoUnits, u)
	}
	if schnellUnits.Cmp(big.NewRat(2, 1)) != 0 || echoUnits.Cmp(big.NewRat(5, 2)) != 0 {
		t.Fatalf("faltest billed %s and %s units", schnellUnits.String(), echoUnits.String())
	}
	schnellCost := new(big.Rat).Mul(&schnellUnits, rat(t, schnellPrice))
	echoCost := new(big.Rat).Mul(&echoUnits, rat(t, echoPrice))
	total := new(big.Rat).Add(schnellCost, echoCost)

	// price
	r = runCLI(t, "price", schnell, echo)
	mustExit(t, "price", r, exitOK)
	var prices []struct {
		EndpointID string      `json:"endpoint_id"`
		UnitPrice  json.Number `json:"unit_price"`
		Unit       string      `json:"unit"`
		Currency   string      `json:"currency"`
	}
	decodeOut(t, "price", r, &prices)
	if len(prices) != 2 || prices[0].EndpointID != schnell || prices[0].Unit != "megapixels" || prices[1].Unit != "requests" || prices[0].Currency != "USD" {
		t.Fatalf("prices %+v", prices)
	}
	sameNumber(t, "schnell's price", prices[0].UnitPrice, rat(t, schnellPrice))
	sameNumber(t, "echo's price", prices[1].UnitPrice, rat(t, echoPrice))
	tty := ttyCLI(t, "price", schnell)
	if row := tableRow(t, tty.stdout, schnell); row[1] != schnellPrice || row[2] != "megapixels" || row[3] != "USD" {
		t.Errorf("price table row %q", row)
	}

	// estimate: the historical price per call is what the runs cost on
	// average; the unit price times the units.
	var est struct {
		EstimateType string      `json:"estimate_type"`
		TotalCost    json.Number `json:"total_cost"`
		Currency     string      `json:"currency"`
		CallQuantity int         `json:"call_quantity"`
	}
	r = runCLI(t, "estimate", schnell, "--calls", "10")
	mustExit(t, "estimate --calls", r, exitOK)
	decodeOut(t, "estimate --calls", r, &est)
	perCall := new(big.Rat).Quo(schnellCost, big.NewRat(2, 1))
	if est.EstimateType != "historical_api_price" || est.CallQuantity != 10 || est.Currency != "USD" {
		t.Errorf("estimate --calls: %+v", est)
	}
	sameNumber(t, "10 calls", est.TotalCost, new(big.Rat).Mul(perCall, big.NewRat(10, 1)))
	r = runCLI(t, "estimate", schnell, "--units", "2.5")
	decodeOut(t, "estimate --units", r, &est)
	if est.EstimateType != "unit_price" {
		t.Errorf("estimate --units: %+v", est)
	}
	sameNumber(t, "2.5 megapixels", est.TotalCost, new(big.Rat).Mul(rat(t, "2.5"), rat(t, schnellPrice)))
	tty = ttyCLI(t, "estimate", schnell, "--units", "2.5")
	if row := tableRow(t, tty.stdout, schnell); row[1] != "2.5 megapixels × $0.003" || row[2] != "unit_price" || row[3] != "$0.0075" {
		t.Errorf("estimate table row %q", row)
	}
	for _, bad := range [][]string{{"estimate", schnell}, {"estimate", schnell, "--calls", "1", "--units", "1"}, {"estimate", schnell, "--calls", "0"}, {"estimate", schnell, "--units", "-1"}} {
		if r := runCLI(t, bad...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d", bad, r.code, exitUsage)
		}
	}

	// usage
	r = runCLI(t, "usage", "--summary")
	mustExit(t, "usage --summary", r, exitOK)
	var usage struct {
		Summary []struct {
			EndpointID string      `json:"endpoint_id"`
			Quantity   json.Number `json:"quantity"`
			Cost       json.Number `json:"cost"`
		} `json:"summary"`
	}
	decodeOut(t, "usage", r, &usage)
	costs := map[string]json.Number{}
	for _, l := range usage.Summary {
		costs[l.EndpointID] = l.Cost
	}
	sameNumber(t, "schnell's usage cost", costs[schnell], schnellCost)
	sameNumber(t, "echo's usage cost", costs[echo], echoCost)
	tty = ttyCLI(t, "usage", "--summary")
	if row := tableRow(t, tty.stdout, "TOTAL"); row[len(row)-1] != money(formatDecimal(total), "USD") {
		t.Errorf("usage TOTAL row %q, want %s", row, money(formatDecimal(total), "USD"))
	}
	tty = ttyCLI(t, "usage", "--since", "1h", "--timeframe", "hour", "--app", schnell)
	if row := tableRow(t, tty.stdout, "TOTAL"); row[len(row)-1] != "$"+formatDecimal(schnellCost) || strings.Contains(tty.stdout, echo) {
		t.Errorf("usage of schnell for the last hour:\n%s", tty.stdout)
	}
	for _, bad := range [][]string{{"usage", "--since", "1h", "--start", "2026-01-01"}, {"usage", "--since", "soon"}, {"usage", "--timeframe", "decade"}, {"usage", "--end", "2026-01-01"}} {
		if r := runCLI(t, bad...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d", bad, r.code, exitUsage)
		}
	}

	// requests
	r = runCLI(t, "requests", schnell)
	mustExit(t, "requests", r, exitOK)
	var recs []struct {
		RequestID  string          `json:"request_id"`
		StatusCode int             `json:"status_code"`
		JSONInput  json.RawMessage `json:"json_input"`
	}
	decodeOut(t, "requests", r, &recs)
	var got []string
	for _, rec := range recs {
		got = append(got, rec.RequestID)
		if rec.StatusCode != http.StatusOK || rec.JSONInput != nil {
			t.Errorf("request %+v: want 200, no payload without --payloads", rec)
		}
	}
	slices.Sort(got)
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("requests lists %v, the runs were %v", got, ids)
	}
	tty = ttyCLI(t, "requests", schnell, "--payloads", "--limit", "1")
	if tableRows(tty.stdout) != 1 || !strings.Contains(tty.stdout, `{"prompt":"a blue fox"}`) || !strings.Contains(tty.stdout, "200") {
		t.Errorf("requests --payloads --limit 1 on a terminal: the newest request with its input:\n%s", tty.stdout)
	}

	// credits
	r = runCLI(t, "credits")
	mustExit(t, "credits", r, exitOK)
	var bill struct {
		Credits struct {
			CurrentBalance json.Number `json:"current_balance"`
			Currency       string      `json:"currency"`
		} `json:"credits"`
	}
	decodeOut(t, "credits", r, &bill)
	balance := new(big.Rat).Sub(big.NewRat(faltest.DefaultCredits, 1), total)
	sameNumber(t, "the balance", bill.Credits.CurrentBalance, balance)
	tty = ttyCLI(t, "credits")
	if row := tableRow(t, tty.stdout, faltest.WebhookUserID); row[1] != formatDecimal(balance) || row[2] != "USD" {
		t.Errorf("credits row %q, want %s USD", row, formatDecimal(balance))
	}
}

// TestCostLineWithoutAPrice: units are reported alone when fal has no
// price for the app.
func TestCostLineWithoutAPrice(t *testing.T) {
	srv := startFal(t)
	frontProxy{answer: func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/v1/models/pricing") {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"prices":[],"next_cursor":null,"has_more":false}`))
			return true
		}
		return false
	}}.start(t, srv)
	r := runCLI(t, "run", faltest.DemoEcho, "-i", "_billable_units=3")
	if r.code != exitOK || !strings.Contains(r.stderr, "falgo: billed 3 units (the unit price of falgo/echo is unknown)\n") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestAdminCommandsNeedAnAdminKey: an API-scope key gets one clear line
// and exit 3 from usage and credits, and works on the rest.
func TestAdminCommandsNeedAnAdminKey(t *testing.T) {
	startFal(t, faltest.WithAPIKey("api-scope-key"))
	t.Setenv("FAL_KEY", "api-scope-key")
	for _, args := range [][]string{{"usage"}, {"usage", "--summary"}, {"credits"}} {
		r := runCLI(t, args...)
		if r.code != exitCredentials || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "needs an admin key, and the key in use is not an admin key (403 Forbidden)") ||
			!strings.Contains(r.stderr, "https://fal.ai/dashboard/keys") || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	for _, args := range [][]string{{"price", faltest.DemoFluxDev}, {"models", "flux"}, {"requests", faltest.DemoFluxDev}, {"estimate", faltest.DemoFluxDev, "--calls", "1"}} {
		if r := runCLI(t, args...); r.code != exitOK {
			t.Errorf("%v with an API key: exit %d, stderr %s", args, r.code, r.stderr)
		}
	}
}

// writeFile writes text to path.
func writeFile(path, text string) error {
	return os.WriteFile(path, []byte(text), 0o600)
}
