// outbound.cpp — webhook and nats processors: claim, call with no transaction open, record
// (outbound.hpp).
#include "processing/outbound.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "delivery/webhook_client.hpp"
#include "log.hpp"
#include "nats/connect_options.hpp"

namespace event::sidecar::processing {

namespace {

constexpr int64_t kPublishWaitMs = 5000;

} // namespace

Outbound::Outbound(const Config &config, Call call) : config_(config), call_(std::move(call)) {}

Outbound::~Outbound() { Stop(); }

void Outbound::Start() {
	stop_.store(false);
	// Its own NATS connection: a publish waits for its JetStream ack without holding up the relay.
	if (!nats::ConnectInBackground(config_, "event-sidecar-processing", "processing", &nats_opts_, &nats_, &js_,
	                               &nats_error_)) {
		Log(LogLevel::kWarn, "processing: no NATS connection; nats processors fail until restart",
		    {{"error", nats_error_}});
		nats::DestroyConnection(&nats_opts_, &nats_, &js_);
	}
	thread_ = std::thread([this] { Run(); });
}

void Outbound::Stop() {
	{
		std::lock_guard<std::mutex> lock(mu_);
		stop_.store(true);
	}
	cv_.notify_all();
	if (thread_.joinable())
		thread_.join();
	nats::DestroyConnection(&nats_opts_, &nats_, &js_);
}

void Outbound::Sleep(int ms) {
	std::unique_lock<std::mutex> lock(mu_);
	cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_.load(); });
}

Outcome Outbound::Publish(const Task &t) {
	Outcome o;
	if (js_ == nullptr) {
		o.error = "no NATS connection: " + nats_error_;
		return o;
	}
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MsgId = t.message_id.c_str();
	po.MaxWait = kPublishWaitMs;
	jsPubAck *ack = nullptr;
	jsErrCode code = static_cast<jsErrCode>(0);
	auto start = std::chrono::steady_clock::now();
	natsStatus s = js_Publish(&ack, js_, t.subject.c_str(), t.body.data(), static_cast<int>(t.body.size()), &po, &code);
	o.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
	if (ack != nullptr)
		jsPubAck_Destroy(ack);
	if (s == NATS_OK) {
		o.ok = true; // a duplicate (an earlier call's publish arrived) counts as delivered
		return o;
	}
	if (s == NATS_NO_RESPONDERS)
		o.error = "no JetStream stream on subject \"" + t.subject + "\"";
	else
		o.error = "publish to \"" + t.subject + "\" failed: " + nats::StatusText(s) +
		          (nats::LastErrorText().empty() ? "" : " (" + nats::LastErrorText() + ")");
	return o;
}

std::vector<Outcome> Outbound::Execute(const std::vector<Task> &tasks) {
	std::vector<Outcome> outcomes(tasks.size());
	std::vector<std::vector<size_t>> groups = GroupByEvent(tasks);
	std::atomic<size_t> next{0};
	auto worker = [&] {
		delivery::WebhookClient client(&stop_);
		for (size_t g = next.fetch_add(1); g < groups.size() && !stop_.load(); g = next.fetch_add(1)) {
			for (size_t i : groups[g]) {
				const Task &t = tasks[i];
				if (t.processor_type == "nats") {
					outcomes[i] = Publish(t);
					continue;
				}
				delivery::PostResult r = client.Post(t.url, {t.secret}, t.message_id, t.event_id, t.body);
				outcomes[i].ok = r.error.empty();
				outcomes[i].duration_ms = r.latency_ms;
				outcomes[i].error = r.error;
			}
		}
	};
	size_t n = std::min<size_t>(groups.size(), static_cast<size_t>(std::max(1, config_.processing_concurrency)));
	std::vector<std::thread> threads;
	for (size_t i = 1; i < n; i++)
		threads.emplace_back(worker);
	worker();
	for (auto &t : threads)
		t.join();
	return outcomes;
}

void Outbound::Run() {
	const std::string claim = "SELECT event.claim_processing_tasks($1::integer, $2::integer)";
	const std::string complete = "SELECT event.complete_processing_tasks($1::jsonb)";
	int failures = 0;
	while (!stop_.load()) {
		std::optional<std::string> claimed = call_(claim, {std::to_string(config_.processing_outbound_batch),
		                                                   std::to_string(config_.processing_lease_ms)});
		std::vector<Task> tasks;
		std::string error;
		if (claimed && !ParseTasks(*claimed, &tasks, &error))
			Log(LogLevel::kWarn, "processing: bad claim result", {{"error", error}});
		if (!claimed || !error.empty()) {
			failures = failures < 6 ? failures + 1 : failures;
			Sleep(std::min(5000, config_.processing_poll_ms << failures));
			continue;
		}
		failures = 0;
		if (tasks.empty()) {
			Sleep(config_.processing_poll_ms);
			continue;
		}
		std::vector<Outcome> outcomes = Execute(tasks);
		if (stop_.load())
			break; // calls were aborted: the tasks are claimed again when their lease runs out
		std::string results = ResultsJson(tasks, outcomes);
		// Record until it works (PostgreSQL away: wait); a lease that runs out meanwhile makes the
		// record stale (ignored) and the calls are repeated: at least once.
		for (int wait = 100; !stop_.load() && !call_(complete, {results}); wait = std::min(5000, wait * 2))
			Sleep(wait);
	}
}

} // namespace event::sidecar::processing
