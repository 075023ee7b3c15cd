package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestDirectSendMatchesClientDo checks that a request sent straight to the
// transport (a POST or PUT, which the policy never redirects) ends as
// http.Client with the policy would end it: the same answer, or the same
// refusal, for every redirect status, with and without a Location, with
// a body that can be sent again and one that cannot.
func TestDirectSendMatchesClientDo(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		if loc := r.URL.Query().Get("loc"); loc != "" {
			w.Header().Set("Location", loc)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "answer "+strconv.Itoa(code))
	}))
	defer srv.Close()
	c := newConfig(t, srv)
	viaClient := func(hr *http.Request) (*http.Response, error) { return c.clientFor(hr).Do(hr) }
	for _, code := range []int{200, 301, 302, 303, 307, 308, 400} {
		for _, loc := range []string{"", "/elsewhere", "http://example.invalid/x"} {
			for _, rewindable := range []bool{true, false} {
				for _, method := range []string{http.MethodPost, http.MethodPut} {
					name := method + " " + strconv.Itoa(code) + " loc=" + loc + " rewindable=" + strconv.FormatBool(rewindable)
					build := func() *http.Request {
						var body io.Reader = bytes.NewReader([]byte(`{"a":1}`))
						if !rewindable {
							body = io.MultiReader(strings.NewReader(`{"a":1}`))
						}
						hr, err := http.NewRequestWithContext(context.Background(), method, srv.URL+"/?code="+strconv.Itoa(code)+"&loc="+loc, body)
						if err != nil {
							t.Fatal(err)
						}
						return hr
					}
					want, wantErr := outcome(viaClient(build()))
					hr := build()
					got, gotErr := outcome(do(c.clientFor(hr), hr))
					if got != want || gotErr != wantErr {
						t.Errorf("%s: direct = %q, %q; http.Client = %q, %q", name, got, gotErr, want, wantErr)
					}
				}
			}
		}
	}
}

// outcome is what a caller sees of a send: the status and body, or the
// policy's refusal (the error's text, url.Error's wrapping aside).
func outcome(res *http.Response, err error) (string, string) {
	if err != nil {
		var refused *redirectRefused
		if errors.As(err, &refused) {
			return "", refused.why
		}
		return "", "other error: " + TransportCause(err, nil).Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return strconv.Itoa(res.StatusCode) + " " + string(b), ""
}
