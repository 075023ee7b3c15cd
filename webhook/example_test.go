package webhook_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	fal "github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
	"github.com/falgo/fal/webhook"
)

// A request submitted with a webhook is delivered, signed, to the
// receiver, which verifies it against the server's published keys. Here
// the fal-compatible server from package faltest stands in for fal.
func Example() {
	srv := faltest.NewServer()
	defer srv.Close()

	v, err := webhook.NewVerifier(webhook.WithJWKSURL(srv.JWKSURL()))
	if err != nil {
		log.Fatal(err)
	}
	got := make(chan *webhook.Delivery, 1)
	receiver := httptest.NewServer(v.Handler(func(w http.ResponseWriter, r *http.Request, d *webhook.Delivery) {
		got <- d
	}))
	defer receiver.Close()

	h, err := srv.Client().Submit(context.Background(), "falgo/echo",
		map[string]string{"prompt": "a cat"}, fal.WithWebhook(receiver.URL+"/fal/webhook"))
	if err != nil {
		log.Fatal(err)
	}
	select {
	case d := <-got:
		var out struct{ Prompt string }
		if err := d.Decode(&out); err != nil {
			log.Fatal(err)
		}
		fmt.Println(d.RequestID == h.RequestID, d.Status, out.Prompt)
	case <-time.After(30 * time.Second):
		fmt.Println("no delivery")
	}
	// Output: true OK a cat
}

// A production endpoint: fal's keys, your user id pinned, and the handler
// mounted on a ServeMux.
func ExampleVerifier_Handler() {
	v, err := webhook.NewVerifier(webhook.WithUserIDs("your-fal-user-id"))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /fal/webhook", v.Handler(func(w http.ResponseWriter, r *http.Request, d *webhook.Delivery) {
		if !d.OK() {
			log.Printf("fal request %s failed: %s", d.RequestID, d.Error)
			return
		}
		var out struct {
			Images []struct {
				URL string `json:"url"`
			} `json:"images"`
		}
		if err := d.Decode(&out); err != nil {
			// A 5xx makes fal retry the delivery later.
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		log.Printf("fal request %s: %d images", d.RequestID, len(out.Images))
	}))
	log.Fatal(http.ListenAndServe(":8080", mux))
}
