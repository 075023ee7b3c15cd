// Error answers the client turns into ValidationError and ApiError.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError, ValidationError } from "@fal-ai/client";
import { createClient, useServer } from "../lib/harness.mjs";

const server = useServer();

test("invalid input is a 422 the client reads as ValidationError with field errors", async () => {
  const fal = createClient(server);
  await assert.rejects(fal.run("fal-ai/flux/schnell", { input: { prompt: "" } }), (err) => {
    assert.ok(err instanceof ValidationError, `want ValidationError, got ${err}`);
    assert.equal(err.status, 422);
    const fieldErrors = err.getFieldErrors("prompt");
    assert.equal(fieldErrors.length, 1, `fieldErrors: ${JSON.stringify(err.fieldErrors)}`);
    assert.deepEqual(fieldErrors[0].loc, ["body", "prompt"]);
    assert.equal(typeof fieldErrors[0].msg, "string");
    assert.notEqual(err.requestId, "", "x-fal-request-id missing from the error answer");
    return true;
  });
});

test("an app error keeps its status, detail and request id", async () => {
  const fal = createClient(server);
  const input = { _error: { status: 400, detail: "the conformance app refuses", error_type: "conformance_error" } };
  await assert.rejects(fal.run("falgo/echo", { input }), (err) => {
    assert.ok(err instanceof ApiError && !(err instanceof ValidationError), `want ApiError, got ${err}`);
    assert.equal(err.status, 400);
    assert.equal(err.body?.detail, "the conformance app refuses", `body: ${JSON.stringify(err.body)}`);
    assert.notEqual(err.requestId, "", "x-fal-request-id missing from the error answer");
    return true;
  });
});

test("an unknown app is a 404 ApiError", async () => {
  const fal = createClient(server);
  await assert.rejects(fal.run("nobody/no-such-app", { input: {} }), (err) => {
    assert.ok(err instanceof ApiError, `want ApiError, got ${err}`);
    assert.equal(err.status, 404);
    return true;
  });
});
