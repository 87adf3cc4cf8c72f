// loop.cpp — the background processing loop: event.process_batch and event.process_replays in a
// loop over the API pool (loop.hpp).
#include "processing/loop.hpp"

#include <chrono>
#include <future>
#include <memory>

#include "log.hpp"

namespace event::sidecar::processing {

namespace {

// "events" of a process_batch / process_replays result: whether the call found work.
bool FoundWork(const std::string &json) {
	return !json.empty() && json.find("\"events\": 0") == std::string::npos;
}

} // namespace

Loop::Loop(const Config &config, pg::Pool *pool)
	: config_(config), pool_(pool),
	  outbound_(config, [this](const std::string &sql, std::vector<std::optional<std::string>> params) {
		  bool ok = false;
		  std::string v = Call(sql, &ok, std::move(params));
		  return ok ? std::optional<std::string>(std::move(v)) : std::nullopt;
	  }) {}

Loop::~Loop() { Stop(); }

void Loop::Start() {
	stop_.store(false);
	thread_ = std::thread([this] { Run(); });
	outbound_.Start();
}

void Loop::Stop() {
	{
		std::lock_guard<std::mutex> lock(mu_);
		stop_.store(true);
	}
	cv_.notify_all();
	if (thread_.joinable())
		thread_.join();
	outbound_.Stop();
}

void Loop::Sleep(int ms) {
	std::unique_lock<std::mutex> lock(mu_);
	cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_.load(); });
}

std::string Loop::Call(const std::string &sql, bool *ok, std::vector<std::optional<std::string>> params) {
	*ok = false;
	auto promise = std::make_shared<std::promise<pg::Result>>();
	std::future<pg::Result> future = promise->get_future();
	pg::Query q;
	q.sql = sql;
	q.params = std::move(params);
	q.done = [promise](pg::Result r) { promise->set_value(std::move(r)); };
	pg::Result::Status refusal = pg::Result::Status::kUnavailable;
	if (!pool_->Submit(std::move(q), &refusal))
		return "";
	pg::Result r = future.get();
	if (!r.ok() || r.rows != 1 || r.columns != 1) {
		Log(LogLevel::kWarn, "processing call failed", {{"sql", sql}, {"sqlstate", r.sqlstate}, {"error", r.message}});
		return "";
	}
	*ok = true;
	return r.Value(0, 0);
}

void Loop::Run() {
	const std::string batch = "SELECT event.process_batch(" + std::to_string(config_.processing_batch) + ")";
	const std::string replays = "SELECT event.process_replays(" + std::to_string(config_.processing_batch) + ")";
	int failures = 0;
	while (!stop_.load()) {
		bool ok_batch = false, ok_replay = false;
		std::string b = Call(batch, &ok_batch);
		if (stop_.load())
			break;
		std::string r = Call(replays, &ok_replay);
		if (!ok_batch || !ok_replay) {
			// PostgreSQL away or a failing call: back off up to 5 s.
			failures = failures < 6 ? failures + 1 : failures;
			Sleep(std::min(5000, config_.processing_poll_ms << failures));
			continue;
		}
		failures = 0;
		if (!FoundWork(b) && !FoundWork(r))
			Sleep(config_.processing_poll_ms);
	}
}

} // namespace event::sidecar::processing
