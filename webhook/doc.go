// Package webhook verifies and parses the webhook deliveries fal makes
// when a queued request ends (requests submitted with fal.WithWebhook).
//
// # Receiving deliveries
//
// Create one Verifier and serve its Handler:
//
//	v, err := webhook.NewVerifier(webhook.WithUserIDs(myFalUserID))
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.Handle("POST /fal/webhook", v.Handler(func(w http.ResponseWriter, r *http.Request, d *webhook.Delivery) {
//		if !d.OK() {
//			log.Printf("request %s failed: %s", d.RequestID, d.Error)
//			return
//		}
//		var out struct{ Images []struct{ URL string } }
//		if err := d.Decode(&out); err != nil {
//			http.Error(w, err.Error(), http.StatusInternalServerError)
//			return
//		}
//		// use out
//	}))
//
// Handler answers 400, 401, 405, 413 or 503 when a delivery fails
// verification (see Verifier.Handler). Frameworks that hand you an
// *http.Request can call Verifier.VerifyRequest; anything else can call
// Verifier.Verify with the headers and the raw body, then Parse.
//
// # The signature scheme
//
// fal signs each delivery with Ed25519. Four headers carry the signature:
// X-Fal-Webhook-Request-Id, X-Fal-Webhook-User-Id, X-Fal-Webhook-Timestamp
// (Unix seconds) and X-Fal-Webhook-Signature (hex). The signed message is
//
//	request_id + "\n" + user_id + "\n" + timestamp + "\n" + hex(sha256(body))
//
// over the raw body bytes, so verify before anything decodes or re-encodes
// the body. The public keys are published as a JSON Web Key Set (kty OKP,
// crv Ed25519, the key in base64url "x"); a delivery is genuine if any key
// in the set verifies it. A Verifier also checks that the timestamp is
// within ±5 minutes of its clock (WithTolerance) and that the same delivery
// was not accepted before (WithReplayCache). fal signs each retry of a
// failed delivery afresh, so retries are not replays.
//
// The key set is fetched on first use, kept for 24 hours
// (WithJWKSCacheTTL), and fetched again early when a signature verifies
// with none of the cached keys, in case fal rotated its keys; such early
// fetches happen at most once a minute (WithRefetchInterval), so forged
// deliveries cannot make the Verifier hammer the key server. If a refresh
// fails, the old keys stay in use. WithPublicKeys gives fixed keys and
// turns fetching off.
//
// # Caveats
//
// The scheme above matches fal's documentation page "Verifying Your
// Webhook" as described by several independent implementations; it was
// not quoted from fal directly. The key set URL in particular differs
// between them (older ones use rest.alpha.fal.ai; DefaultJWKSURL is on
// rest.fal.ai, where fal's own clients moved their REST host), so it is
// configurable with WithJWKSURL.
//
// A valid signature proves the delivery came from fal, not that the
// request was yours: fal signs deliveries for every user, and anyone can
// submit a request with your URL as its webhook. Pin your fal user id with
// WithUserIDs, and treat a delivery for a request id you did not submit as
// foreign.
//
// Replay detection is in memory and per Verifier. When several processes
// receive deliveries, or across restarts, also deduplicate on
// Delivery.RequestID in shared storage. fal may deliver more than once
// (it retries when your endpoint fails or times out), so handlers should
// be idempotent anyway.
//
// The receiving machine's clock must be right to within the tolerance.
//
// Testing: the local fal-compatible server in package faltest signs its
// deliveries the same way and serves its key set at Server.JWKSURL; point
// a Verifier at it with WithJWKSURL.
package webhook
