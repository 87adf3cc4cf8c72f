// group_commit.cpp — batches of single-event creates, one event.create_events call each
// (see group_commit.hpp).
#include "api/group_commit.hpp"

#include <algorithm>

#include "http/reply_batch.hpp"
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
	bool wake = false;
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
		// Wake the thread only when this item lets it act: it waits for a first item, or it gathers
		// and the batch is now full (not while it waits for a flight slot: a wake-up per request).
		wake = waiting_ == Waiting::kItems ||
		       (waiting_ == Waiting::kGathering && pending_.size() >= static_cast<size_t>(options_.max_batch));
	}
	if (wake)
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
			waiting_ = Waiting::kItems;
			cv_.wait(lock);
			waiting_ = Waiting::kNo;
			continue;
		}
		if (inflight_ >= options_.max_inflight) {
			waiting_ = Waiting::kSlot;
			cv_.wait(lock);
			waiting_ = Waiting::kNo;
			continue;
		}
		auto deadline = pending_.front().queued + std::chrono::microseconds(options_.max_wait_us);
		bool go = inflight_ == 0 || stop_ || pending_.size() >= static_cast<size_t>(options_.max_batch) ||
		          std::chrono::steady_clock::now() >= deadline;
		if (!go) {
			waiting_ = Waiting::kGathering;
			cv_.wait_until(lock, deadline);
			waiting_ = Waiting::kNo;
			continue;
		}
		size_t n = std::min(pending_.size(), static_cast<size_t>(options_.max_batch));
		auto batch = std::make_shared<std::vector<Item>>();
		batch->reserve(n);
		for (size_t i = 0; i < n; i++) {
			batch->push_back(std::move(pending_.front()));
			pending_.pop_front();
		}
		inflight_++;
		lock.unlock();
		Send(std::move(batch), false);
		lock.lock();
	}
	// Wait for the batches in flight, so no callback outlives this object.
	while (inflight_ > 0)
		cv_.wait(lock);
}

// Sends one batch (or, single, one item of a failed batch).
void GroupCommitter::Send(std::shared_ptr<std::vector<Item>> items, bool single) {
	std::string array;
	size_t size = 2;
	for (const Item &item : *items)
		size += item.json.size() + 1;
	array.reserve(size);
	array += '[';
	for (size_t i = 0; i < items->size(); i++) {
		if (i)
			array += ',';
		array += (*items)[i].json;
	}
	array += ']';
	pg::Query q;
	q.sql = kBatchSql;
	q.params.emplace_back(std::move(array));
	q.done = [this, items, single](pg::Result r) {
		{
			http::ReplyBatch replies; // the answers of this batch: one wake-up per I/O thread
			Answer(items, std::move(r));
		}
		if (!single)
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
		if (!single)
			Finished();
	}
}

// Answers a batch's items from its result (or resends them alone, see group_commit.hpp).
void GroupCommitter::Answer(const std::shared_ptr<std::vector<Item>> &items, pg::Result r) {
	if (r.ok() && static_cast<size_t>(r.rows) == items->size()) {
		if (observer_)
			observer_(items->size());
		for (int i = 0; i < r.rows; i++) {
			ItemResult out;
			const std::string &status = r.Value(i, 0);
			out.stored = status == "created" || status == "duplicate";
			out.duplicate = status == "duplicate";
			if (out.stored) {
				out.event_json = std::move(r.values[static_cast<size_t>(i * r.columns + 1)]);
			} else {
				out.sqlstate = r.Value(i, 2);
				out.message = r.Value(i, 3);
				out.detail = r.Value(i, 4);
				out.hint = r.Value(i, 5);
			}
			Call((*items)[static_cast<size_t>(i)].done, std::move(out));
		}
	} else if (r.status == pg::Result::Status::kSqlError && items->size() > 1) {
		// The statement failed as a whole (see group_commit.hpp): each item alone.
		for (Item &item : *items) {
			auto one = std::make_shared<std::vector<Item>>();
			one->push_back(std::move(item));
			Send(std::move(one), true);
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
}

} // namespace event::sidecar::api
