// signing.hpp — signatures of outbound webhooks (docs/sidecar.md "Webhook delivery").
//
//   X-Event-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>[,v1=<previous>]
//     (key: the secret's bytes as stored)
//   webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<t>.<body>")>[ v1,<previous>]
//     (Standard Webhooks; key: base64-decoded part after "whsec_", else the secret's bytes)
// One signature per secret: during a rotation both the current and the previous one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace event::sidecar::delivery {

std::string HmacSha256(std::string_view key, std::string_view data); // 32 raw bytes
std::string Hex(std::string_view bytes);
std::string Base64(std::string_view bytes);
// Decodes standard base64 (with padding); false on malformed input.
bool Base64Decode(std::string_view text, std::string *out);
// The Standard Webhooks key of a secret: base64 after "whsec_" when that decodes, else the secret.
std::string StandardWebhooksKey(const std::string &secret);

struct Signatures {
	std::string event_signature;   // value of X-Event-Signature
	std::string webhook_signature; // value of webhook-signature
};

Signatures Sign(const std::vector<std::string> &secrets, std::string_view webhook_id, int64_t unix_seconds,
                std::string_view body);

} // namespace event::sidecar::delivery
