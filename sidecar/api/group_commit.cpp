// group_commit.cpp — batches of single-event creates, one event.create_events call each
// (see group_commit.hpp).
#include "api/group_commit.hpp"

#include <algorithm>

#include "log.hpp"

namespace event::sidecar::api {

namespace {

// One row per item, in request order: status, EventResponse, error fields.
constexpr char kBatchSql[] =
	"SELECT r->>'status', r->'event', r->'error'->>'code', r->'error'->>'message', r->'error'->>'detail', "
	"r->'error'->>'hint' FROM pg_catalog.jsonb_array_elements(event.create_events($1::jsonb, false)) "
	"WITH ORDINALITY AS t(r, i) ORDER BY i";

void Call(const GroupCommitter::Done &done, ItemResult r) noexcept {
	try {
		done(std::move(r));
	} catch (...) {
		Log(LogLevel::kError, "group commit: reply callback threw");
	}
}

// The same failure for every item of a batch.
ItemResult Failed(const pg::Result &r) {
	ItemResult out;
	out.status = r.status;
	out.sqlstate = r.sqlstate;
	out.message = r.message;
	out.detail = r.detail;
	out.hint = r.hint;
	return out;
}

} // namespace

GroupCommitter::GroupCommitter(pg::Pool *pool, GroupCommitOptions options) : pool_(pool), options_(options) {
	options_.max_batch = std::clamp(options_.max_batch, 1, 1000);
	if (options_.max_inflight <= 0)
		options_.max_inflight = std::max(1, pool_->options().pool_size);
}

GroupCommitter::~GroupCommitter() { Stop(); }

void GroupCommitter::Start() {
	if (!thread_.joinable())
		thread_ = std::thread([this] { Run(); });
}

void GroupCommitter::Stop() {
	{
		std::lock_guard<std::mutex> lock(mu_);
		stop_ = true;
	}
	cv_.notify_all();
	if (thread_.joinable())
		thread_.join();
}

size_t GroupCommitter::Pending() const {
	std::lock_guard<std::mutex> lock(mu_);
	return pending_.size();
}

bool GroupCommitter::Submit(std::string request_json, Done done, pg::Result::Status *refusal) {
	{
		std::lock_guard<std::mutex> lock(mu_);
		if (stop_ || !pool_->Available()) {
			*refusal = pg::Result::Status::kUnavailable;
			return false;
		}
		if (pending_.size() >= static_cast<size_t>(options_.max_pending)) {
			*refusal = pg::Result::Status::kOverloaded;
			return false;
		}
		pending_.push_back(Item{std::move(request_json), std::move(done), std::chrono::steady_clock::now()});
	}
	cv_.notify_one();
	return true;
}

void GroupCommitter::Finished() {
	{
		std::lock_guard<std::mutex> lock(mu_);
		inflight_--;
	}
	cv_.notify_one();
}

void GroupCommitter::Run() {
	std::unique_lock<std::mutex> lock(mu_);
	for (;;) {
		if (pending_.empty()) {
			if (stop_)
				break;
			cv_.wait(lock);
			continue;
		}
		if (inflight_ >= options_.max_inflight) {
			cv_.wait(lock);
			continue;
		}
		auto deadline = pending_.front().queued + std::chrono::microseconds(options_.max_wait_us);
		bool go = inflight_ == 0 || stop_ || pending_.size() >= static_cast<size_t>(options_.max_batch) ||
		          std::chrono::steady_clock::now() >= deadline;
		if (!go) {
			cv_.wait_until(lock, deadline);
			continue;
		}
		size_t n = std::min(pending_.size(), static_cast<size_t>(options_.max_batch));
		std::vector<Item> batch;
		batch.reserve(n);
		for (size_t i = 0; i < n; i++) {
			batch.push_back(std::move(pending_.front()));
			pending_.pop_front();
		}
		inflight_++;
		lock.unlock();
		Send(std::move(batch), true);
		lock.lock();
	}
	// Wait for the batches in flight, so no callback outlives this object.
	while (inflight_ > 0)
		cv_.wait(lock);
}

// Sends one batch. split_on_failure: the original batch (counted in inflight_, split into single
// items if the call fails as a whole); single retries are not counted and not split again.
void GroupCommitter::Send(std::vector<Item> batch, bool split_on_failure) {
	std::string array = "[";
	for (size_t i = 0; i < batch.size(); i++) {
		if (i)
			array += ',';
		array += batch[i].json;
	}
	array += ']';
	auto items = std::make_shared<std::vector<Item>>(std::move(batch));
	pg::Query q;
	q.sql = kBatchSql;
	q.params.emplace_back(std::move(array));
	q.done = [this, items, split_on_failure](pg::Result r) {
		if (r.ok() && static_cast<size_t>(r.rows) == items->size()) {
			if (observer_)
				observer_(items->size());
			for (int i = 0; i < r.rows; i++) {
				ItemResult out;
				const std::string &status = r.Value(i, 0);
				out.stored = status == "created" || status == "duplicate";
				out.duplicate = status == "duplicate";
				if (out.stored) {
					out.event_json = r.Value(i, 1);
				} else {
					out.sqlstate = r.Value(i, 2);
					out.message = r.Value(i, 3);
					out.detail = r.Value(i, 4);
					out.hint = r.Value(i, 5);
				}
				Call((*items)[static_cast<size_t>(i)].done, std::move(out));
			}
		} else if (r.status == pg::Result::Status::kSqlError && split_on_failure && items->size() > 1) {
			// One item spoiled the whole array (e.g. text the server cannot store in jsonb): each
			// item alone, so only that one fails.
			for (Item &item : *items) {
				std::vector<Item> one;
				one.push_back(std::move(item));
				Send(std::move(one), false);
			}
		} else {
			if (r.ok()) {
				r.status = pg::Result::Status::kSqlError;
				r.sqlstate = "XX000";
				r.message = "event.create_events returned " + std::to_string(r.rows) + " results for " +
				            std::to_string(items->size()) + " items";
			}
			for (Item &item : *items)
				Call(item.done, Failed(r));
		}
		if (split_on_failure)
			Finished();
	};
	pg::Result::Status refusal = pg::Result::Status::kOverloaded;
	if (!pool_->Submit(std::move(q), &refusal)) {
		pg::Result r;
		r.status = refusal;
		r.message = refusal == pg::Result::Status::kOverloaded ? "the database queue is full"
		                                                       : "PostgreSQL is unavailable";
		for (Item &item : *items)
			Call(item.done, Failed(r));
		if (split_on_failure)
			Finished();
	}
}

} // namespace event::sidecar::api
