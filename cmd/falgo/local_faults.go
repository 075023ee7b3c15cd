package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/falgo/fal/faltest"
)

// faultsHelp documents the --faults spec of `falgo local`.
const faultsHelp = `--faults injects failures, so that retries can be seen and tested from any
client. The spec is one or more rules separated by commas, each
ROUTE:KIND[:OPTION]...:

  ROUTE   submit, status, status_stream, result, cancel, run, stream, upload,
          platform, ... (faltest's route names), or * for every route
  KIND    429 (too many requests), 500 (an app error, not retried), 502,
          503, 504 (the ingress failing, retried), reset (the connection
          dropped), or latency=D (a delay, then the request goes through)
  OPTION  every=N (every N-th matching request), rate=P (each with
          probability P, from --fault-seed), count=N (at most N faults in
          all), retry-after=D (sent with 429), latency=D (before the fault)

For example --faults 'submit:429:count=2,result:502:every=3' refuses the
first two submits and fails every third result fetch.`

// faultKinds are the KIND words of a --faults rule.
var faultKinds = map[string]faltest.FaultKind{
	"429": faltest.TooManyRequests, "500": faltest.AppError500, "502": faltest.Ingress502,
	"503": faltest.Ingress503, "504": faltest.Ingress504, "reset": faltest.ConnReset,
}

// parseFaults reads a --faults spec into fault rules.
func parseFaults(spec string) ([]faltest.FaultRule, error) {
	var rules []faltest.FaultRule
	for _, text := range strings.Split(spec, ",") {
		r, err := parseFaultRule(strings.TrimSpace(text))
		if err != nil {
			return nil, usageErrorf("--faults %q: %v", text, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// faultRoutes are the route names faltest's fault rules match, "*" for
// all.
var faultRoutes = []string{"*", "run", "stream", "realtime", "submit", "status", "status_stream", "result", "cancel",
	"token", "cdn_token", "upload", "multipart_initiate", "multipart_part", "multipart_complete",
	"storage_initiate", "signed_put", "realtime_token", "platform"}

// parseFaultRule reads one ROUTE:KIND[:OPTION]... rule.
func parseFaultRule(text string) (faltest.FaultRule, error) {
	parts := strings.Split(text, ":")
	if len(parts) < 2 || parts[0] == "" {
		return faltest.FaultRule{}, fmt.Errorf("want ROUTE:KIND, e.g. submit:429")
	}
	if !slices.Contains(faultRoutes, parts[0]) {
		return faltest.FaultRule{}, fmt.Errorf("unknown route %q: use one of %s", parts[0], strings.Join(faultRoutes, ", "))
	}
	r := faltest.FaultRule{Route: parts[0]}
	if d, ok := strings.CutPrefix(parts[1], "latency="); ok {
		v, err := faultDuration(d)
		if err != nil {
			return r, err
		}
		r.Kind, r.Latency = faltest.Latency, v
	} else if k, ok := faultKinds[parts[1]]; ok {
		r.Kind = k
	} else {
		return r, fmt.Errorf("unknown kind %q: use 429, 500, 502, 503, 504, reset or latency=D", parts[1])
	}
	for _, opt := range parts[2:] {
		if err := setFaultOption(&r, opt); err != nil {
			return r, err
		}
	}
	return r, nil
}

// setFaultOption applies one NAME=VALUE option to r.
func setFaultOption(r *faltest.FaultRule, opt string) error {
	name, value, ok := strings.Cut(opt, "=")
	if !ok {
		return fmt.Errorf("option %q is not NAME=VALUE", opt)
	}
	var err error
	switch name {
	case "every":
		r.Every, err = faultCount(value)
	case "count":
		r.Count, err = faultCount(value)
	case "rate":
		r.Rate, err = strconv.ParseFloat(value, 64)
		if err != nil || r.Rate <= 0 || r.Rate > 1 {
			return fmt.Errorf("rate=%s: give a probability above 0 and up to 1, e.g. rate=0.2", value)
		}
	case "retry-after":
		r.RetryAfter, err = faultDuration(value)
	case "latency":
		r.Latency, err = faultDuration(value)
	default:
		return fmt.Errorf("unknown option %q: use every, rate, count, retry-after or latency", name)
	}
	return err
}

// faultCount reads a positive whole number.
func faultCount(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a whole number of 1 or more", v)
	}
	return n, nil
}

// faultDuration reads a duration of 0 or more, e.g. 300ms.
func faultDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 300ms or 2s", v)
	}
	return d, nil
}
