// webhook_client.hpp — one libcurl easy handle that POSTs signed webhooks (docs/sidecar.md
// "Webhook delivery", "Request"): keep-alive across requests, 5 s connect and 10 s total
// timeouts, HTTP/2 over TLS when the receiver offers it (ALPN), http/https only, the response
// body discarded and Retry-After read. Used by the benchmark tool sidecar/tools/webhook_bench.cpp
// and the webhook processors; the delivery workers run the same request setup (WebhookRequest)
// on a curl multi handle, many requests in flight, so the benchmark's baseline runs the same
// client code.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace event::sidecar::delivery {

// The outcome of one POST.
struct PostResult {
	long status = 0; // 0: no HTTP answer
	int retry_after_s = -1;
	double latency_ms = 0;
	std::string error; // empty on 2xx
	long http_version = 0; // CURL_HTTP_VERSION_* of the answer (0 without one)
};

// One signed POST on its own easy handle, set up exactly as WebhookClient::Post does it, for a
// caller that runs it on a curl multi handle (the delivery workers).
class WebhookRequest {
public:
	WebhookRequest();
	~WebhookRequest();
	WebhookRequest(const WebhookRequest &) = delete;
	WebhookRequest &operator=(const WebhookRequest &) = delete;

	// Sets up the POST (the body is copied); abort (optional) as for WebhookClient. False when
	// libcurl gave no easy handle.
	bool Prepare(const std::string &url, const std::vector<std::string> &secrets, const std::string &delivery_id,
	             const std::string &event_id, std::string_view body, const std::atomic<bool> *abort);
	void *easy() const { return curl_; } // CURL*: add it to a multi handle after Prepare
	// The outcome once the transfer ended with rc (a CURLcode); latency counted from Prepare.
	PostResult Finish(int rc);

private:
	void *curl_;    // CURL*
	void *headers_; // curl_slist*
	PostResult result_;
	std::chrono::steady_clock::time_point start_;
};

class WebhookClient {
public:
	// abort (optional): while it is true, a request in flight is aborted.
	explicit WebhookClient(const std::atomic<bool> *abort = nullptr);
	~WebhookClient();
	WebhookClient(const WebhookClient &) = delete;
	WebhookClient &operator=(const WebhookClient &) = delete;

	// POSTs body to url with Content-Type application/json, X-Event-Id, X-Event-Delivery-Id,
	// X-Event-Signature and the Standard Webhooks headers, signed with every secret (the current
	// one first).
	PostResult Post(const std::string &url, const std::vector<std::string> &secrets, const std::string &delivery_id,
	                const std::string &event_id, std::string_view body);

private:
	WebhookRequest request_;
	const std::atomic<bool> *abort_;
};

} // namespace event::sidecar::delivery
