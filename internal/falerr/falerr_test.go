package falerr

import (
	"context"
	"errors"
	"testing"
)

func TestWrapKeepsOnePrefix(t *testing.T) {
	inner := New("upload: %s", "reading the content")
	mid := Wrap(inner, "uploading input file %s", "x.bin")
	outer := Wrap(mid, "run %s", "fal-ai/flux")
	if got, want := outer.Error(), "fal: run fal-ai/flux: uploading input file x.bin: upload: reading the content"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(outer, inner) {
		t.Fatal("the chain does not unwrap to its cause")
	}
	if got := Wrap(context.Canceled, "status").Error(); got != "fal: status: context canceled" {
		t.Fatalf("a foreign cause: %q", got)
	}
	if Wrap(nil, "x") != nil {
		t.Fatal("Wrap(nil) is not nil")
	}
}
