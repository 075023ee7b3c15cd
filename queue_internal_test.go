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

// TestHandleKeepsOnlyItsOwnURLs: the status and cancel URLs the queue
// gives are kept only where they are not the response URL's own, and the
// handle's calls use them.
func TestHandleKeepsOnlyItsOwnURLs(t *testing.T) {
	const resp = "https://queue.fal.run/fal-ai/x/requests/r1"
	h := &RequestHandle{RequestID: "r1"}
	h.setURLs(resp, resp+"/status", resp+"/cancel")
	if h.own != nil || h.statusURL() != resp+"/status" || h.cancelURL() != resp+"/cancel" {
		t.Fatalf("the usual URLs: own %+v, status %s, cancel %s", h.own, h.statusURL(), h.cancelURL())
	}
	const status = "https://queue.fal.run/fal-ai/x/requests/r1/state"
	h.setURLs(resp, status, resp+"/cancel")
	if h.own == nil || h.own.cancel != "" || h.statusURL() != status || h.cancelURL() != resp+"/cancel" {
		t.Fatalf("a status URL of its own: own %+v, status %s, cancel %s", h.own, h.statusURL(), h.cancelURL())
	}
	const cancel = "https://queue.fal.run/fal-ai/x/requests/r1/stop"
	h.setURLs(resp, resp+"/status", cancel)
	if h.own == nil || h.own.status != "" || h.statusURL() != resp+"/status" || h.cancelURL() != cancel {
		t.Fatalf("a cancel URL of its own: own %+v, status %s, cancel %s", h.own, h.statusURL(), h.cancelURL())
	}
}
