// signing.cpp — HMAC-SHA256 signatures of outbound webhooks (see signing.hpp), with OpenSSL.
#include "delivery/signing.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace event::sidecar::delivery {

std::string HmacSha256(std::string_view key, std::string_view data) {
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char *>(data.data()),
	     data.size(), out, &len);
	return std::string(reinterpret_cast<char *>(out), len);
}

std::string Hex(std::string_view bytes) {
	static const char kHex[] = "0123456789abcdef";
	std::string out;
	out.reserve(bytes.size() * 2);
	for (unsigned char b : bytes) {
		out += kHex[b >> 4];
		out += kHex[b & 15];
	}
	return out;
}

std::string Base64(std::string_view bytes) {
	std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
	int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()),
	                        reinterpret_cast<const unsigned char *>(bytes.data()), static_cast<int>(bytes.size()));
	out.resize(static_cast<size_t>(n));
	return out;
}

bool Base64Decode(std::string_view text, std::string *out) {
	if (text.empty() || text.size() % 4 != 0)
		return false;
	std::string buf(text.size() / 4 * 3, '\0');
	int n = EVP_DecodeBlock(reinterpret_cast<unsigned char *>(buf.data()),
	                        reinterpret_cast<const unsigned char *>(text.data()), static_cast<int>(text.size()));
	if (n < 0)
		return false;
	size_t pad = text[text.size() - 1] == '=' ? (text[text.size() - 2] == '=' ? 2 : 1) : 0;
	buf.resize(static_cast<size_t>(n) - pad);
	*out = std::move(buf);
	return true;
}

std::string StandardWebhooksKey(const std::string &secret) {
	static constexpr std::string_view kPrefix = "whsec_";
	std::string key;
	if (secret.compare(0, kPrefix.size(), kPrefix) == 0 &&
	    Base64Decode(std::string_view(secret).substr(kPrefix.size()), &key))
		return key;
	return secret;
}

Signatures Sign(const std::vector<std::string> &secrets, std::string_view webhook_id, int64_t unix_seconds,
                std::string_view body) {
	std::string t = std::to_string(unix_seconds);
	std::string signed_event = t + ".";
	signed_event.append(body);
	std::string signed_standard(webhook_id);
	signed_standard += "." + t + ".";
	signed_standard.append(body);
	Signatures s;
	s.event_signature = "t=" + t;
	for (const std::string &secret : secrets) {
		s.event_signature += ",v1=" + Hex(HmacSha256(secret, signed_event));
		if (!s.webhook_signature.empty())
			s.webhook_signature += ' ';
		s.webhook_signature += "v1," + Base64(HmacSha256(StandardWebhooksKey(secret), signed_standard));
	}
	return s;
}

} // namespace event::sidecar::delivery
