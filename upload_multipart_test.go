package fal_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

func TestUploadAtAndAboveThreshold(t *testing.T) {
	t.Parallel()
	srv, c, _ := newLocal(t, nil)
	for _, tc := range []struct {
		size int
		via  string
	}{{6 << 20, "cdn"}, {6<<20 + 1, "cdn-multipart"}, {17 << 20, "cdn-multipart"}} {
		data := pattern(tc.size)
		u, err := c.Upload(bg(t), bytes.NewReader(data), mp, fal.WithContentType("application/octet-stream"))
		if err != nil {
			t.Fatal(err)
		}
		f, ok := srv.File(u)
		if !ok || f.Via != tc.via || !bytes.Equal(f.Data, data) {
			t.Fatalf("size %d: via %q (want %q), equal %v", tc.size, f.Via, tc.via, bytes.Equal(f.Data, data))
		}
	}
}

func TestUploadMultipartOutOfOrderAndRetriedPart(t *testing.T) {
	t.Parallel()
	srv, c, _ := newLocal(t, []faltest.Option{faltest.WithFaults(1,
		faltest.FaultRule{Route: "multipart_part", Kind: faltest.Ingress503, Count: 1},
		faltest.FaultRule{Route: "multipart_part", Kind: faltest.Latency, Every: 2, Latency: 100 * time.Millisecond},
	)}, fal.WithRetryPolicy(fal.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}))
	data := pattern(22 << 20) // 5 parts
	// A plain reader (no ReaderAt): parts are read from the stream.
	u, err := c.Upload(bg(t), io.MultiReader(bytes.NewReader(data)), mp, fal.WithFileName("big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f, ok := srv.File(u)
	if !ok || f.Via != "cdn-multipart" || !bytes.Equal(f.Data, data) {
		t.Fatalf("via %q, %d bytes, equal %v", f.Via, len(f.Data), bytes.Equal(f.Data, data))
	}
	st := srv.Stats()
	if st.Faults["multipart_part"] < 1 {
		t.Fatalf("no fault was injected: %+v", st)
	}
}
