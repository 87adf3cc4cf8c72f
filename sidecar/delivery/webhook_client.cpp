// webhook_client.cpp — see webhook_client.hpp.
#include "delivery/webhook_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>

#include "delivery/signing.hpp"

namespace event::sidecar::delivery {

namespace {

constexpr long kConnectTimeoutMs = 5000;
constexpr long kTotalTimeoutMs = 10000;
constexpr int kMaxRetryAfterS = 3600;
const std::atomic<bool> kNeverAbort{false};

size_t DiscardBody(char *, size_t size, size_t n, void *) noexcept { return size * n; }

// Reads Retry-After (seconds, capped at 1 h) into *closure (int).
size_t ReadHeader(char *data, size_t size, size_t n, void *closure) noexcept {
	std::string_view line(data, size * n);
	static constexpr std::string_view kName = "retry-after:";
	if (line.size() <= kName.size())
		return size * n;
	for (size_t i = 0; i < kName.size(); i++)
		if (std::tolower(static_cast<unsigned char>(line[i])) != kName[i])
			return size * n;
	char buf[32];
	size_t len = std::min(line.size() - kName.size(), sizeof(buf) - 1);
	line.copy(buf, len, kName.size());
	buf[len] = '\0';
	char *end = nullptr;
	long v = std::strtol(buf, &end, 10);
	if (end != buf && v >= 0)
		*static_cast<int *>(closure) = static_cast<int>(std::min<long>(v, kMaxRetryAfterS));
	return size * n;
}

int AbortIfStopped(void *closure, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
	return static_cast<const std::atomic<bool> *>(closure)->load() ? 1 : 0;
}

} // namespace

WebhookRequest::WebhookRequest() : curl_(curl_easy_init()), headers_(nullptr) {}

WebhookRequest::~WebhookRequest() {
	curl_slist_free_all(static_cast<struct curl_slist *>(headers_));
	curl_easy_cleanup(static_cast<CURL *>(curl_));
}

bool WebhookRequest::Prepare(const std::string &url, const std::vector<std::string> &secrets,
                             const std::string &delivery_id, const std::string &event_id, std::string_view body,
                             const std::atomic<bool> *abort) {
	result_ = PostResult();
	start_ = std::chrono::steady_clock::now();
	CURL *curl = static_cast<CURL *>(curl_);
	if (!curl) {
		result_.error = "curl_easy_init failed";
		return false;
	}
	int64_t t = static_cast<int64_t>(std::time(nullptr));
	Signatures sig = Sign(secrets, delivery_id, t, body);
	curl_slist_free_all(static_cast<struct curl_slist *>(headers_));
	struct curl_slist *h = nullptr;
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, ("X-Event-Id: " + event_id).c_str());
	h = curl_slist_append(h, ("X-Event-Delivery-Id: " + delivery_id).c_str());
	h = curl_slist_append(h, ("X-Event-Signature: " + sig.event_signature).c_str());
	h = curl_slist_append(h, ("webhook-id: " + delivery_id).c_str());
	h = curl_slist_append(h, ("webhook-timestamp: " + std::to_string(t)).c_str());
	h = curl_slist_append(h, ("webhook-signature: " + sig.webhook_signature).c_str());
	h = curl_slist_append(h, "Expect:");
	headers_ = h;
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
	curl_easy_setopt(curl, CURLOPT_COPYPOSTFIELDS, body.data());
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "event-sidecar");
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, kTotalTimeoutMs);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &DiscardBody);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &ReadHeader);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result_.retry_after_s);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &AbortIfStopped);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, abort ? abort : &kNeverAbort);
	curl_easy_setopt(curl, CURLOPT_PRIVATE, this);
	return true;
}

PostResult WebhookRequest::Finish(int rc) {
	PostResult r = result_;
	r.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
	curl_slist_free_all(static_cast<struct curl_slist *>(headers_));
	headers_ = nullptr;
	CURL *curl = static_cast<CURL *>(curl_);
	if (!curl)
		return r;
	if (rc != CURLE_OK) {
		r.error = curl_easy_strerror(static_cast<CURLcode>(rc));
		return r;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(curl, CURLINFO_HTTP_VERSION, &r.http_version);
	if (r.status < 200 || r.status > 299)
		r.error = "HTTP " + std::to_string(r.status);
	return r;
}

WebhookClient::WebhookClient(const std::atomic<bool> *abort) : abort_(abort) {}

WebhookClient::~WebhookClient() = default;

PostResult WebhookClient::Post(const std::string &url, const std::vector<std::string> &secrets,
                               const std::string &delivery_id, const std::string &event_id, std::string_view body) {
	if (!request_.Prepare(url, secrets, delivery_id, event_id, body, abort_))
		return request_.Finish(CURLE_FAILED_INIT);
	return request_.Finish(curl_easy_perform(static_cast<CURL *>(request_.easy())));
}

} // namespace event::sidecar::delivery
