// group_commit.cpp — batches of single-event creates, one event.create_events call each
// (see group_commit.hpp).
#include "api/group_commit.hpp"

#include <algorithm>

#include "log.hpp"

namespace event::sidecar::api {

namespace {

// Atomic batch of plain items: one EventResponse per item, in request order.
constexpr char kAtomicSql[] = "SELECT r FROM pg_catalog.jsonb_array_elements(event.create_events($1::jsonb, true)) "
                              "WITH ORDINALITY AS t(r, i) ORDER BY i";

// Per-item batch: one row per item, in request order: status, EventResponse, error fields.
constexpr char kEachSql[] =
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

bool GroupCommitter::Submit(std::string request_json, bool keyed, Done done, pg::Result::Status *refusal) {
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
		pending_.push_back(Item{std::move(request_json), keyed, std::move(done), std::chrono::steady_clock::now()});
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
		auto plain = std::make_shared<std::vector<Item>>();
		auto keyed = std::make_shared<std::vector<Item>>();
		plain->reserve(n);
		for (size_t i = 0; i < n; i++) {
			(pending_.front().keyed ? keyed : plain)->push_back(std::move(pending_.front()));
			pending_.pop_front();
		}
		inflight_ += (plain->empty() ? 0 : 1) + (keyed->empty() ? 0 : 1);
		lock.unlock();
		if (!plain->empty())
			Send(std::move(plain), Mode::kAtomic);
		if (!keyed->empty())
			Send(std::move(keyed), Mode::kEach);
		lock.lock();
	}
	// Wait for the batches in flight, so no callback outlives this object.
	while (inflight_ > 0)
		cv_.wait(lock);
}

// Sends one batch (see Mode).
void GroupCommitter::Send(std::shared_ptr<std::vector<Item>> items, Mode mode) {
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
	const bool flight = mode != Mode::kSingle;
	pg::Query q;
	q.sql = mode == Mode::kAtomic ? kAtomicSql : kEachSql;
	q.params.emplace_back(std::move(array));
	q.done = [this, items, mode, flight](pg::Result r) {
		if (r.ok() && static_cast<size_t>(r.rows) == items->size()) {
			if (observer_)
				observer_(items->size());
			for (int i = 0; i < r.rows; i++) {
				ItemResult out;
				if (mode == Mode::kAtomic) {
					out.stored = true;
					out.event_json = std::move(r.values[static_cast<size_t>(i)]);
				} else {
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
				}
				Call((*items)[static_cast<size_t>(i)].done, std::move(out));
			}
		} else if (r.status == pg::Result::Status::kSqlError && mode == Mode::kAtomic) {
			// Nothing of the atomic batch was stored: per item, so that only the bad ones fail.
			Send(items, Mode::kEach);
			return; // still the same flight
		} else if (r.status == pg::Result::Status::kSqlError && mode == Mode::kEach && items->size() > 1) {
			// One item spoiled the whole array (e.g. text the server cannot store in jsonb): each
			// item alone, so only that one fails.
			for (Item &item : *items) {
				auto one = std::make_shared<std::vector<Item>>();
				one->push_back(std::move(item));
				Send(std::move(one), Mode::kSingle);
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
		if (flight)
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
		if (flight)
			Finished();
	}
}

} // namespace event::sidecar::api
