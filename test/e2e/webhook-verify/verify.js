// verify.js LOG PATH SECRET... — checks the webhooks logged by test/e2e/lib/webhook_receiver.py
// under PATH with off-the-shelf code: the Standard Webhooks headers with the `standardwebhooks`
// npm package (pinned in package.json), X-Event-Signature (t=...,v1=<hex HMAC-SHA256 of
// "<t>.<body>">) with node's crypto. For each request prints one line: the event's data.n, then
// for each SECRET "sw:ok|bad" and "ev:ok|bad" (a secret verifies when one signature matches).
// A secret "raw:<text>" is used as raw bytes (non-whsec_ secrets), else as whsec_ base64.
"use strict";
const fs = require("fs");
const crypto = require("crypto");
const { Webhook } = require("standardwebhooks");

const [log, path, ...secrets] = process.argv.slice(2);

function standardOk(secret, body, headers) {
  const wh = secret.startsWith("raw:") ? new Webhook(secret.slice(4), { format: "raw" }) : new Webhook(secret);
  try {
    wh.verify(body, headers);
    return true;
  } catch (e) {
    return false;
  }
}

function eventOk(secret, body, header) {
  const key = secret.startsWith("raw:") ? secret.slice(4) : secret;
  const parts = (header || "").split(",");
  const t = parts[0].startsWith("t=") ? parts[0].slice(2) : "";
  const want = crypto.createHmac("sha256", key).update(t + "." + body).digest();
  return parts.slice(1).some((p) => {
    if (!p.startsWith("v1=")) return false;
    const got = Buffer.from(p.slice(3), "hex");
    return got.length === want.length && crypto.timingSafeEqual(got, want);
  });
}

for (const line of fs.readFileSync(log, "utf8").split("\n")) {
  if (!line) continue;
  const r = JSON.parse(line);
  if (r.path !== path) continue;
  const out = [String(JSON.parse(r.body).data.n)];
  for (const s of secrets) {
    out.push("sw:" + (standardOk(s, r.body, r.headers) ? "ok" : "bad"));
    out.push("ev:" + (eventOk(s, r.body, r.headers["x-event-signature"]) ? "ok" : "bad"));
  }
  console.log(out.join(" "));
}
