package fal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/falgo/fal"
)

// cannedTransport answers every request with the same small JSON body,
// without a network: what remains of a call is the client's own work.
type cannedTransport struct{}

func (cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}, "X-Fal-Request-Id": {"0e7c2d3a-6f61-4b0e-9a39-6f1f8f0c1b2d"}},
		Body:          io.NopCloser(strings.NewReader(`{"ok":true}`)),
		ContentLength: 11, Request: req,
	}, nil
}

// BenchmarkRunOverhead is a sync Run against a transport that answers at
// once, against the same request made by hand with net/http through the
// same transport: the difference is falgo's own CPU per call, free of the
// network and of the noise of a server.
//
//	go test -run '^$' -bench RunOverhead -benchmem -count 10 .
func BenchmarkRunOverhead(b *testing.B) {
	hc := &http.Client{Transport: cannedTransport{}}
	ctx := context.Background()
	b.Run("falgo", func(b *testing.B) {
		c, err := fal.NewClient(fal.WithKey("bench-key"), fal.WithRunHost("http://127.0.0.1:9/run"), fal.WithHTTPClient(hc))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.Run(ctx, "falgo/echo", benchInput); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			body, err := json.Marshal(benchInput)
			if err != nil {
				b.Fatal(err)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:9/run/falgo/echo", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Key bench-key")
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			req.Header.Set("User-Agent", "bench")
			res, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
