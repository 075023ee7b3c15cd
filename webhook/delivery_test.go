package webhook_test

import (
	"strings"
	"testing"

	"github.com/falgo/fal/webhook"
)

func TestParse(t *testing.T) {
	d, err := webhook.Parse([]byte(`{"request_id":"r1","gateway_request_id":"g1","status":"OK","payload":{"images":[{"url":"https://x/y.png"}]},"error":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.RequestID != "r1" || d.GatewayRequestID != "g1" || !d.OK() || d.Error != "" {
		t.Fatalf("%+v", d)
	}
	var out struct {
		Images []struct{ URL string }
	}
	if err := d.Decode(&out); err != nil || len(out.Images) != 1 || out.Images[0].URL != "https://x/y.png" {
		t.Fatalf("%+v, %v", out, err)
	}

	d, err = webhook.Parse([]byte(` {"request_id":"r2","status":"ERROR","error":"Invalid status code: 422","payload":{"detail":[{"msg":"field required"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.OK() || d.Status != webhook.StatusError || d.Error != "Invalid status code: 422" {
		t.Fatalf("%+v", d)
	}
	var detail struct{ Detail []struct{ Msg string } }
	if err := d.Decode(&detail); err != nil || detail.Detail[0].Msg != "field required" {
		t.Fatalf("%+v, %v", detail, err)
	}
}

func TestParsePayloadError(t *testing.T) {
	d, err := webhook.Parse([]byte(`{"request_id":"r3","status":"OK","payload":null,"payload_error":"Object of type bytes is not JSON serializable"}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.Payload != nil {
		t.Fatalf("payload %q, want nil", d.Payload)
	}
	var v map[string]any
	err = d.Decode(&v)
	if err == nil || !strings.Contains(err.Error(), "not JSON serializable") || !strings.Contains(err.Error(), "r3") {
		t.Fatalf("Decode: %v", err)
	}
	d, _ = webhook.Parse([]byte(`{"request_id":"r4","status":"OK"}`))
	if err := d.Decode(&v); err == nil || !strings.Contains(err.Error(), "no payload") {
		t.Fatalf("Decode without payload: %v", err)
	}
	d, _ = webhook.Parse([]byte(`{"request_id":"r5","status":"OK","payload":[1]}`))
	if err := d.Decode(&v); err == nil || !strings.Contains(err.Error(), "r5") {
		t.Fatalf("Decode into the wrong type: %v", err)
	}
}

func TestParseRejectsNonDeliveries(t *testing.T) {
	for _, body := range []string{
		``, `   `, `null`, `[]`, `"x"`, `{`, `{"status":"OK"}`, `{"request_id":"r"}`,
		`{"request_id":5,"status":"OK"}`, `{"request_id":"r","status":"OK"} trailing`,
	} {
		d, err := webhook.Parse([]byte(body))
		if err == nil {
			t.Errorf("%q: parsed as %+v", body, d)
			continue
		}
		wantErr(t, err, webhook.ErrInvalidDelivery)
	}
}
