package fal

import (
	"testing"
	"unsafe"
)

// TestHandleKeepsTheIDInTheResponseURL: a handle whose response URL ends
// with /{id} holds the id as that URL's tail (one string less for each
// request followed), the same text; any other URL leaves the id alone.
func TestHandleKeepsTheIDInTheResponseURL(t *testing.T) {
	const id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	resp := "https://queue.fal.run/fal-ai/x/requests/" + id
	h := &RequestHandle{RequestID: string([]byte(id))}
	h.setURLs(resp, resp+"/status", resp+"/cancel")
	if h.RequestID != id || unsafe.StringData(h.RequestID) != unsafe.StringData(h.responseURL[len(resp)-len(id):]) {
		t.Fatalf("the id %q is not the response URL's tail", h.RequestID)
	}
	for _, other := range []string{"https://queue.fal.run/fal-ai/x/requests/other", "https://queue.fal.run/fal-ai/x/requests/x" + id} {
		own := string([]byte(id))
		h := &RequestHandle{RequestID: own}
		h.setURLs(other, other+"/status", other+"/cancel")
		if unsafe.StringData(h.RequestID) != unsafe.StringData(own) {
			t.Errorf("response URL %s: the id was replaced", other)
		}
	}
}
