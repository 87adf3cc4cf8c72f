// deliverer.cpp — see deliverer.hpp.
#include "delivery/deliverer.hpp"

#include <curl/curl.h>
#include <libpq-fe.h>
#include <nats/nats.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdlib>
#include <ctime>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <list>
#include <map>
#include <optional>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "core/subject.hpp"
#include "delivery/webhook_client.hpp"
#include "log.hpp"
#include "nats/connect_options.hpp"
#include "relay/decoded_message.hpp"
#include "relay/pg_handles.hpp"

namespace event::sidecar::delivery {

namespace {

constexpr auto kFlushInterval = std::chrono::milliseconds(200);
// > the client's 10 s total timeout; renewed (InProgress) every kProgressInterval while a retry
// waits. After a crash the message in flight is redelivered once this has passed.
constexpr int64_t kAckWaitNs = 15LL * 1000 * 1000 * 1000;
constexpr auto kProgressInterval = std::chrono::seconds(5);
constexpr auto kConsumerCheckInterval = std::chrono::seconds(2); // after a failed fetch: is the consumer still there?
constexpr auto kConsumerRoutineCheckInterval = std::chrono::seconds(30); // the same, while idle
// Messages a subscription's worker holds at most (its consumer's max ack pending), and POSTs it
// runs at once (different event streams; one stream's events go one at a time, in order).
constexpr int kWindow = 256;
constexpr int kMaxInFlight = 32;
constexpr int kRefill = kWindow / 4;
// Poster threads of one subscription at most (see Worker).
constexpr int kMaxLanes = 4;
// An idle worker's long poll for the next message (it returns as soon as one is published;
// RequestStop ends it at once): each expiry is a pull request and a timeout status at
// nats-server, so 500 ms made 200 of each per second with 100 idle subscriptions. The safety
// expiry of a no-wait fetch.
constexpr int64_t kLongPollMs = 2000;
// A stopped worker (other than for a deleted subscription) lets the requests in flight finish
// for at most this long: a receiver that has the request usually answers within milliseconds,
// and a delivery it has taken is then acknowledged instead of given back and posted again by the
// next worker (a secret rotation or a restart would otherwise deliver it twice).
constexpr auto kStopGrace = std::chrono::seconds(2);
constexpr int64_t kNoWaitExpiresNs = 1000LL * 1000 * 1000;
constexpr size_t kMaxQueuedRecords = 100000;
constexpr int kRetryClaimBatch = 100;
// NOTIFY channels: subscriptions changed (create, delete, rotate); dead-letter retries requested.
constexpr char kSubscriptionsChannel[] = "event_subscriptions";
constexpr char kDeadLettersChannel[] = "event_dead_letters";

struct Subscription {
	std::string id, url, secret, previous;
	std::vector<std::string> types, sources, categories;
	int max_attempts = 5, base_ms = 1000, max_ms = 60000;
	int64_t created_us = 0; // the consumer starts at events stored in JetStream from then on
	std::string fingerprint; // every field: a change restarts the worker
};

// Parses a PostgreSQL text array of simple strings ({a,b,"c d"}).
std::vector<std::string> ParseTextArray(const std::string &text) {
	std::vector<std::string> out;
	if (text.size() < 2)
		return out;
	std::string cur;
	bool quoted = false, in_item = false;
	for (size_t i = 1; i + 1 < text.size(); i++) {
		char c = text[i];
		if (quoted) {
			if (c == '\\' && i + 2 < text.size())
				cur += text[++i];
			else if (c == '"')
				quoted = false;
			else
				cur += c;
		} else if (c == '"') {
			quoted = in_item = true;
		} else if (c == ',') {
			out.push_back(cur);
			cur.clear();
			in_item = false;
		} else {
			cur += c;
			in_item = true;
		}
	}
	if (in_item || !cur.empty() || !out.empty())
		out.push_back(cur);
	return out;
}

bool MatchesList(const std::vector<std::string> &list, std::string_view value) {
	return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

bool MatchesType(const std::vector<std::string> &patterns, std::string_view type) {
	if (patterns.empty())
		return true;
	for (const std::string &p : patterns) {
		if (p == "*" || p == type)
			return true;
		if (p.size() > 2 && p.compare(p.size() - 2, 2, ".*") == 0 && type.size() > p.size() - 1 &&
		    type.substr(0, p.size() - 1) == std::string_view(p).substr(0, p.size() - 1))
			return true;
	}
	return false;
}

bool Matches(const Subscription &s, const relay::DecodedMessage &e) {
	return MatchesType(s.types, e.event_type) && MatchesList(s.sources, e.event_source) &&
	       MatchesList(s.categories, e.event_category);
}

// One subject when every filter has at most one value (an exact JetStream filter); else events.>
// and the filtering is done here only.
std::string FilterSubject(const Subscription &s) {
	std::string subject = core::kSubjectPrefix;
	if (s.types.size() > 1 || s.sources.size() > 1 || s.categories.size() > 1)
		return subject + ".>";
	subject += '.';
	if (s.sources.empty())
		subject += '*';
	else
		core::AppendSubjectToken(subject, s.sources[0]);
	subject += '.';
	if (s.categories.empty())
		subject += '*';
	else
		core::AppendSubjectToken(subject, s.categories[0]);
	subject += '.';
	if (s.types.empty() || s.types[0] == "*")
		subject += '>';
	else if (s.types[0].size() > 2 && s.types[0].compare(s.types[0].size() - 2, 2, ".*") == 0)
		subject += s.types[0].substr(0, s.types[0].size() - 1) + ">";
	else
		subject += s.types[0];
	return subject;
}

std::string DurableName(const std::string &id) {
	std::string name = "whsub_";
	for (char c : id)
		if (c != '-')
			name += c;
	return name;
}

std::string IsoNow() {
	auto now = std::chrono::system_clock::now();
	auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
	time_t secs = static_cast<time_t>(us / 1000000);
	struct tm tm {};
	gmtime_r(&secs, &tm);
	char buf[64];
	std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
	              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us % 1000000));
	return buf;
}

// The dead-letter retries this process holds: claimed and queued at a worker, in progress, or
// finished with the outcome not yet written. Every claim passes them, so their lease is renewed
// and they are not handed out twice; a retry a worker gives up (stopped) is released and claimed
// again at the next poll.
class RetryHolds {
public:
	bool Add(const std::string &id) {
		std::lock_guard<std::mutex> lock(mu_);
		return ids_.insert(id).second;
	}
	void Remove(const std::vector<std::string> &ids) {
		std::lock_guard<std::mutex> lock(mu_);
		for (const auto &id : ids)
			ids_.erase(id);
	}
	// As a PostgreSQL text array literal (delivery ids are hex digits, '-' and '.').
	std::string ArrayLiteral() const {
		std::lock_guard<std::mutex> lock(mu_);
		std::string out = "{";
		for (const auto &id : ids_)
			out += (out.size() > 1 ? "," : "") + ("\"" + id + "\"");
		return out + "}";
	}

private:
	mutable std::mutex mu_;
	std::set<std::string> ids_;
};

// Attempts, dead letters and retry outcomes, written in batches by their own thread.
class Recorder {
public:
	Recorder(pg::Pool *pool, RetryHolds *holds) : pool_(pool), holds_(holds) {}

	void Start() { thread_ = std::thread([this] { Run(); }); }
	void Stop() {
		{
			std::lock_guard<std::mutex> lock(mu_);
			stop_ = true;
		}
		cv_.notify_all();
		if (thread_.joinable())
			thread_.join();
	}
	void AddAttempt(std::string json) { Add(&attempts_, std::move(json)); }
	void AddDeadLetter(std::string json) { Add(&dead_, std::move(json)); }
	// The outcome of a dead letter's retry; its hold is released once the outcome is written.
	void AddRetryOutcome(std::string delivery_id, std::string json) {
		std::lock_guard<std::mutex> lock(mu_);
		outcomes_.push_back(std::move(json));
		outcome_ids_.push_back(std::move(delivery_id));
	}

private:
	void Add(std::vector<std::string> *to, std::string json) {
		std::lock_guard<std::mutex> lock(mu_);
		if (attempts_.size() + dead_.size() >= kMaxQueuedRecords) {
			dropped_++;
			return;
		}
		to->push_back(std::move(json));
	}
	static std::string Array(const std::vector<std::string> &items) {
		std::string out = "[";
		for (size_t i = 0; i < items.size(); i++) {
			if (i)
				out += ',';
			out += items[i];
		}
		return out + "]";
	}
	void Run() {
		std::unique_lock<std::mutex> lock(mu_);
		for (;;) {
			cv_.wait_for(lock, kFlushInterval, [this] { return stop_; });
			bool stopping = stop_;
			if (!attempts_.empty() || !dead_.empty() || !outcomes_.empty()) {
				Batch b;
				b.attempts.swap(attempts_);
				b.dead.swap(dead_);
				b.outcomes.swap(outcomes_);
				b.outcome_ids.swap(outcome_ids_);
				lock.unlock();
				Flush(std::move(b), stopping);
				lock.lock();
			}
			if (stopping)
				return;
		}
	}
	struct Batch {
		std::vector<std::string> attempts, dead, outcomes, outcome_ids;
	};
	// Submits one batch (one transaction); on failure puts it back (kept for the next flush, bounded).
	void Flush(Batch b, bool wait) {
		auto done = std::make_shared<std::pair<std::mutex, std::condition_variable>>();
		auto finished = std::make_shared<bool>(false);
		pg::Query q;
		// The outcomes of dead-letter retries and of replay deliveries go to both functions; each
		// takes the ids that are its own.
		q.sql = "SELECT event.record_deliveries($1::jsonb, $2::jsonb), event.finish_dead_letter_retries($3::jsonb), "
		        "event.finish_replay_deliveries($3::jsonb)";
		q.params = {Array(b.attempts), Array(b.dead), Array(b.outcomes)};
		auto keep = std::make_shared<Batch>(std::move(b));
		q.done = [this, keep, done, finished](pg::Result r) {
			if (!r.ok()) {
				Log(LogLevel::kWarn, "delivery records not written, kept for the next batch", {{"error", r.message}});
				Requeue(keep);
			} else {
				holds_->Remove(keep->outcome_ids);
			}
			std::lock_guard<std::mutex> l(done->first);
			*finished = true;
			done->second.notify_all();
		};
		pg::Result::Status refusal;
		if (!pool_->Submit(std::move(q), &refusal)) {
			Requeue(keep);
			return;
		}
		if (wait) {
			std::unique_lock<std::mutex> l(done->first);
			done->second.wait_for(l, std::chrono::seconds(5), [&] { return *finished; });
		}
	}
	void Requeue(const std::shared_ptr<Batch> &keep) {
		std::lock_guard<std::mutex> lock(mu_);
		for (auto &j : keep->attempts)
			if (attempts_.size() < kMaxQueuedRecords)
				attempts_.push_back(std::move(j));
		for (auto &j : keep->dead)
			if (dead_.size() < kMaxQueuedRecords)
				dead_.push_back(std::move(j));
		// Outcomes are never dropped: their dead letters stay held (and so claimed by nobody else).
		for (size_t i = 0; i < keep->outcomes.size(); i++) {
			outcomes_.push_back(std::move(keep->outcomes[i]));
			outcome_ids_.push_back(std::move(keep->outcome_ids[i]));
		}
	}

	pg::Pool *pool_;
	RetryHolds *holds_;
	std::mutex mu_;
	std::condition_variable cv_;
	std::vector<std::string> attempts_, dead_, outcomes_, outcome_ids_;
	size_t dropped_ = 0;
	bool stop_ = false;
	std::thread thread_;
};

// A dead letter to deliver again (event.claim_dead_letter_retries), or an event a replay delivers
// to this subscription (event.claim_replay_deliveries).
struct RetryItem {
	std::string delivery_id, event_id, payload;
	int attempts = 0;      // made so far
	std::string order_key; // a replay's: the items of one key are posted one at a time, in claim order
};

// One unit of delivery: a JetStream message (msg) or a dead letter's retry (msg null).
struct Job {
	natsMsg *msg = nullptr;
	uint64_t seq = 0;         // stream sequence (0 for a retry)
	std::string key;          // the jobs of one key are posted one at a time, in stream order
	std::string delivery_id, event_id;
	std::string payload;      // a retry's stored payload (a message's body is its data)
	int first_attempt = 1, made = 0;
	PostResult last;
	std::chrono::steady_clock::time_point not_before{};
	WebhookRequest *request = nullptr; // while in flight

	std::string_view Body() const {
		return msg ? std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)))
		           : std::string_view(payload);
	}
};

// One subscription's delivery: a fetcher thread pulls batches from the durable consumer (up to
// kWindow messages held, the consumer's max ack pending) and hands each message to one of the
// worker's lanes by its order key; a lane's poster thread runs the POSTs on its own curl multi
// handle, up to kMaxInFlight at once, one at a time per event stream in stream order. All the
// events of a stream (and every copy of a message) go to the same lane, so the order holds; more
// than one lane only when there are no more subscriptions than cores (Deliverer::Impl::Reload), so
// that one busy subscription is not held to one thread.
class Worker {
public:
	Worker(Subscription sub, jsCtx *js, const std::string &stream, Recorder *recorder, RetryHolds *holds, int lanes)
		: sub_(std::move(sub)), js_(js), stream_(stream), recorder_(recorder), holds_(holds) {
		for (int i = 0; i < std::max(1, lanes); i++)
			lanes_.push_back(std::make_unique<Lane>(this));
	}

	void Start() {
		for (auto &l : lanes_)
			l->multi_ = curl_multi_init();
		thread_ = std::thread([this] { Run(); });
	}
	// abort_now: the requests in flight are aborted at once (a deleted subscription), else they
	// may finish within kStopGrace.
	void RequestStop(bool abort_now = false) {
		if (abort_now)
			abort_.store(true);
		stop_.store(true);
		space_cv_.notify_all();
		for (auto &l : lanes_)
			l->Wake();
		// Ends the fetcher's long poll now instead of at its expiry (the messages it holds still
		// acknowledge through the closed subscription, which lives until the worker ends).
		std::lock_guard<std::mutex> lock(ns_mu_);
		if (ns_)
			natsSubscription_Unsubscribe(ns_);
	}
	// Queues a dead letter's retry or a replay's delivery; posted beside the JetStream messages
	// (by its order key).
	void Enqueue(RetryItem item) {
		std::string key = item.order_key.empty() ? "retry:" + item.delivery_id : item.order_key;
		Lane &l = LaneOf(key);
		{
			std::lock_guard<std::mutex> lock(l.in_mu_);
			l.retries_.push_back(std::move(item));
		}
		l.Wake();
	}
	void Join() {
		if (thread_.joinable())
			thread_.join();
		for (auto &l : lanes_) {
			if (l->multi_)
				curl_multi_cleanup(l->multi_);
			l->multi_ = nullptr;
		}
	}
	const Subscription &sub() const { return sub_; }

private:
	using Clock = std::chrono::steady_clock;

	// A fetched message the subscription wants, parsed once by the fetcher.
	struct Incoming {
		natsMsg *msg;
		std::string key, event_id;
	};

	// The poster side of a worker: its thread, curl multi handle, held messages and queues.
	class Lane {
	public:
		explicit Lane(Worker *w) : w_(w), rng_(std::random_device{}()) {}

		void Wake() {
			if (multi_)
				curl_multi_wakeup(multi_);
		}

		// The poster loop until the worker stops; then the requests in flight may finish
		// (kStopGrace), the rest are aborted. What is held is given back by Release, after the
		// fetcher has ended.
		void Run() {
			curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(kMaxInFlight));
			auto next_renewal = Clock::now() + kProgressInterval;
			while (!w_->stop_.load()) {
				TakeIncoming();
				StartReady();
				const bool finished = Progress();
				auto now = Clock::now();
				if (now >= next_renewal) {
					Renew();
					next_renewal = now + kProgressInterval;
				}
				if (finished)
					continue; // start the next of those streams at once
				auto wake = std::min(next_renewal, NextDue(now, now + std::chrono::milliseconds(200)));
				int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count());
				curl_multi_poll(multi_, nullptr, 0, std::max(ms, 0), nullptr);
			}
			const auto drain_until = Clock::now() + kStopGrace;
			while (!in_flight_.empty() && !w_->abort_.load() && Clock::now() < drain_until) {
				Progress();
				if (!in_flight_.empty())
					curl_multi_poll(multi_, nullptr, 0, 20, nullptr);
			}
		}

		// After every lane's Run and the fetcher ended: nothing is in flight any more, what was
		// queued is taken and everything held is given back.
		void Finish() {
			for (auto &[easy, job] : in_flight_) {
				curl_multi_remove_handle(multi_, easy);
				spare_.push_back(std::unique_ptr<WebhookRequest>(job->request));
				job->request = nullptr;
			}
			in_flight_.clear();
			SendAcks();
			TakeIncoming();
			Release();
			spare_.clear();
		}

	private:
		friend class Worker;

		// Moves what the fetcher and the reloader queued into jobs (poster thread).
		void TakeIncoming() {
			std::vector<Incoming> msgs;
			std::deque<RetryItem> retries;
			{
				std::lock_guard<std::mutex> lock(in_mu_);
				msgs.swap(incoming_);
				retries.swap(retries_);
			}
			for (Incoming &in : msgs)
				Accept(std::move(in));
			for (RetryItem &item : retries) {
				auto job = std::make_unique<Job>();
				job->key = item.order_key.empty() ? "retry:" + item.delivery_id : std::move(item.order_key);
				job->delivery_id = std::move(item.delivery_id);
				job->event_id = std::move(item.event_id);
				job->payload = std::move(item.payload);
				job->first_attempt = item.attempts + 1;
				queues_[job->key].push_back(job.get());
				retry_jobs_.push_back(std::move(job));
			}
		}

		// A message the subscription wants: merged with the held copy when JetStream redelivered
		// a message still held, else queued behind the earlier held events of its stream.
		void Accept(Incoming in) {
			natsMsg *msg = in.msg;
			uint64_t seq = 0;
			jsMsgMetaData *meta = nullptr;
			if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
				seq = meta->Sequence.Stream;
				jsMsgMetaData_Destroy(meta);
			}
			if (auto it = held_.find(seq); it != held_.end()) {
				// The ack wait ran out before a renewal reached the server: keep one copy (the newer
				// delivery, whose acknowledgement the server expects), never post it twice at once.
				Log(LogLevel::kWarn, "delivery: JetStream redelivered a message still held, kept once",
				    {{"subscription_id", w_->sub_.id}, {"stream_sequence", static_cast<unsigned long long>(seq)}});
				std::swap(it->second->msg, msg);
				natsMsg_Destroy(msg);
				w_->Given(1);
				return;
			}
			auto job = std::make_unique<Job>();
			job->msg = msg;
			job->seq = seq;
			job->event_id = std::move(in.event_id);
			job->delivery_id = job->event_id + "." + w_->sub_.id.substr(0, 8) + w_->sub_.id.substr(9, 4);
			// Events of no stream have no order among themselves.
			job->key = in.key.empty() ? "seq:" + std::to_string(seq) : std::move(in.key);
			std::deque<Job *> &q = queues_[job->key];
			// In stream-sequence order (a redelivery after a restart may come behind a later event of
			// its stream), but never before a head that has been tried already.
			auto lowest = q.begin();
			if (!q.empty() && (q.front()->request || q.front()->made > 0))
				++lowest;
			auto pos = q.end();
			while (pos != lowest && (*(pos - 1))->seq > seq)
				--pos;
			q.insert(pos, job.get());
			held_[seq] = std::move(job);
		}

	// Moves the requests in flight on, handles those that finished, sends the acks that gives;
	// whether any finished.
	bool Progress() {
		int running = 0;
		curl_multi_perform(multi_, &running);
		int left = 0;
		bool finished = false;
		while (CURLMsg *m = curl_multi_info_read(multi_, &left)) {
			if (m->msg != CURLMSG_DONE)
				continue;
			Finished(m->easy_handle, m->data.result);
			finished = true;
		}
		SendAcks();
		return finished;
	}

	// Starts the head job of every key that is idle and due, up to kMaxInFlight requests.
	void StartReady() {
		auto now = Clock::now();
		std::vector<std::pair<Job *, PostResult>> failed; // handled after the walk (it may end a queue)
		for (auto &[key, q] : queues_) {
			if (in_flight_.size() >= static_cast<size_t>(kMaxInFlight))
				break;
			Job *job = q.front();
			if (job->request || job->not_before > now)
				continue;
			std::unique_ptr<WebhookRequest> request;
			if (!spare_.empty()) {
				request = std::move(spare_.back());
				spare_.pop_back();
			} else {
				request = std::make_unique<WebhookRequest>();
			}
			std::vector<std::string> secrets{w_->sub_.secret};
			if (!w_->sub_.previous.empty())
				secrets.push_back(w_->sub_.previous);
			if (!request->Prepare(w_->sub_.url, secrets, job->delivery_id, job->event_id, job->Body(), &w_->abort_) ||
			    curl_multi_add_handle(multi_, static_cast<CURL *>(request->easy())) != CURLM_OK) {
				failed.emplace_back(job, request->Finish(CURLE_FAILED_INIT));
				spare_.push_back(std::move(request));
				continue;
			}
			job->request = request.release();
			in_flight_[static_cast<CURL *>(job->request->easy())] = job;
		}
		for (auto &[job, r] : failed)
			Attempted(job, r);
	}

	// A request ended: its outcome, then the job's next step.
	void Finished(CURL *easy, CURLcode rc) {
		auto it = in_flight_.find(easy);
		if (it == in_flight_.end())
			return;
		Job *job = it->second;
		in_flight_.erase(it);
		curl_multi_remove_handle(multi_, easy);
		std::unique_ptr<WebhookRequest> request(job->request);
		job->request = nullptr;
		PostResult r = request->Finish(rc);
		spare_.push_back(std::move(request));
		if (w_->abort_.load() && r.status == 0)
			return; // aborted by the stop: given back unacknowledged
		Attempted(job, r);
	}

	// Records an attempt; a 2xx or the last attempt completes the job, else it waits its backoff.
	void Attempted(Job *job, const PostResult &r) {
		Record(job->delivery_id, job->event_id, job->first_attempt + job->made, r);
		job->made++;
		job->last = r;
		if (r.status >= 200 && r.status <= 299)
			Complete(job, true);
		else if (job->made >= w_->sub_.max_attempts)
			Complete(job, false);
		else
			job->not_before = Clock::now() + std::chrono::milliseconds(Backoff(job->made, r));
	}

	// Delivered or given up: acknowledged or terminated (+ dead letter), or the retry's outcome;
	// the next job of its key may start.
	void Complete(Job *job, bool delivered) {
		auto q = queues_.find(job->key);
		if (q != queues_.end()) {
			auto at = std::find(q->second.begin(), q->second.end(), job);
			if (at != q->second.end())
				q->second.erase(at);
			if (q->second.empty())
				queues_.erase(q);
		}
		if (!job->msg) {
			const PostResult &last = job->last;
			w_->recorder_->AddRetryOutcome(job->delivery_id,
			                           "{\"delivery_id\":" + core::JsonQuote(job->delivery_id) + ",\"delivered\":" +
			                               (delivered ? "true" : "false") + ",\"attempts\":" + std::to_string(job->made) +
			                               ",\"last_status_code\":" + (last.status ? std::to_string(last.status) : "null") +
			                               ",\"last_error\":" + core::JsonQuote(last.error) + ",\"dead_at\":\"" + IsoNow() +
			                               "\"}");
			const bool replay = job->key.compare(0, 7, "replay:") == 0;
			if (replay && !delivered)
				Log(LogLevel::kWarn, "replay delivery dead-lettered",
				    {{"subscription_id", w_->sub_.id}, {"delivery_id", job->delivery_id}, {"error", last.error}});
			else if (!replay)
				Log(delivered ? LogLevel::kInfo : LogLevel::kWarn,
				    delivered ? "dead letter delivered on retry" : "dead letter retried, dead again",
				    {{"subscription_id", w_->sub_.id}, {"delivery_id", job->delivery_id}, {"error", last.error}});
			retry_jobs_.remove_if([job](const std::unique_ptr<Job> &j) { return j.get() == job; });
			return;
		}
		if (delivered) {
			acks_.push_back(job->msg); // acknowledged and given back by SendAcks, with the others of this round
			held_.erase(job->seq);
			return;
		}
		natsMsg_Term(job->msg, nullptr);
		std::string j = "{\"delivery_id\":" + core::JsonQuote(job->delivery_id) + ",\"subscription_id\":\"" + w_->sub_.id +
		                "\",\"event_id\":\"" + job->event_id + "\",\"stream_sequence\":" + std::to_string(job->seq) +
		                ",\"attempts\":" + std::to_string(job->made) + ",\"last_status_code\":" +
		                (job->last.status ? std::to_string(job->last.status) : "null") +
		                ",\"last_error\":" + core::JsonQuote(job->last.error) + ",\"payload\":";
		j.append(job->Body());
		j += ",\"dead_at\":\"" + IsoNow() + "\"}";
		w_->recorder_->AddDeadLetter(std::move(j));
		Log(LogLevel::kWarn, "delivery dead-lettered",
		    {{"subscription_id", w_->sub_.id}, {"event_id", job->event_id}, {"error", job->last.error}});
		natsMsg_Destroy(job->msg);
		held_.erase(job->seq);
		w_->Given(1);
	}

	// Acknowledges the messages completed in this round of the poster loop one after the other
	// (asynchronous publishes: nats.c's flusher is signalled once for the lot, and the connection
	// lock is taken back to back rather than between HTTP completions), then frees their room.
	void SendAcks() {
		if (acks_.empty())
			return;
		for (natsMsg *msg : acks_) {
			natsMsg_Ack(msg, nullptr);
			natsMsg_Destroy(msg);
		}
		int n = static_cast<int>(acks_.size());
		acks_.clear();
		w_->Given(n);
	}

	// Every held message in progress again, in stream-sequence order: while a stream waits behind
	// a slow or retried event none of its messages reaches the ack wait, and after a crash they
	// run out (and come back) in that order.
	void Renew() {
		for (auto &[seq, job] : held_)
			natsMsg_InProgress(job->msg, nullptr);
	}

	// When the earliest backoff after now ends (at most `limit`).
	Clock::time_point NextDue(Clock::time_point now, Clock::time_point limit) const {
		for (const auto &[key, q] : queues_) {
			const Job *job = q.front();
			if (!job->request && job->not_before > now && job->not_before < limit)
				limit = job->not_before;
		}
		return limit;
	}

		// Stopped: every held message is given back (nak, in stream-sequence order, so the next
		// worker gets them at once and in order) and the held retries are released for the next claim.
		void Release() {
			for (auto &[seq, job] : held_) {
				natsMsg_Nak(job->msg, nullptr);
				natsMsg_Destroy(job->msg);
			}
			held_.clear();
			queues_.clear();
			std::vector<std::string> released;
			for (const auto &job : retry_jobs_)
				released.push_back(job->delivery_id);
			retry_jobs_.clear();
			{
				std::lock_guard<std::mutex> lock(in_mu_);
				for (const RetryItem &item : retries_)
					released.push_back(item.delivery_id);
				retries_.clear();
			}
			w_->holds_->Remove(released);
		}

	int64_t Backoff(int attempt, const PostResult &r) {
		double d = static_cast<double>(w_->sub_.base_ms) * std::pow(2.0, std::min(attempt - 1, 30));
		d = std::min(d, static_cast<double>(w_->sub_.max_ms));
		std::uniform_real_distribution<double> jitter(0.5, 1.0); // "equal jitter": [d/2, d]
		int64_t ms = static_cast<int64_t>(d * jitter(rng_));
		if ((r.status == 429 || r.status == 503) && r.retry_after_s >= 0)
			ms = std::max<int64_t>(ms, static_cast<int64_t>(r.retry_after_s) * 1000);
		return ms;
	}

	void Record(const std::string &delivery_id, const std::string &event_id, int attempt, const PostResult &r) {
		char latency[32];
		std::snprintf(latency, sizeof(latency), "%.3f", r.latency_ms);
		w_->recorder_->AddAttempt("{\"subscription_id\":\"" + w_->sub_.id + "\",\"event_id\":\"" + event_id +
		                      "\",\"delivery_id\":" + core::JsonQuote(delivery_id) +
		                      ",\"attempt\":" + std::to_string(attempt) + ",\"status_code\":" +
		                      (r.status ? std::to_string(r.status) : "null") + ",\"latency_ms\":" + latency +
		                      ",\"error\":" + (r.error.empty() ? "null" : core::JsonQuote(r.error)) +
		                      ",\"attempted_at\":\"" + IsoNow() + "\"}");
	}

		Worker *w_;
		std::mt19937_64 rng_;
		CURLM *multi_ = nullptr;
		std::thread thread_; // the lanes after the first (the first runs on the worker's thread)
		// From the fetcher and the reloader (in_mu_).
		std::mutex in_mu_;
		std::vector<Incoming> incoming_;
		std::deque<RetryItem> retries_;
		// Poster thread only.
		std::map<uint64_t, std::unique_ptr<Job>> held_; // JetStream messages by stream sequence
		std::list<std::unique_ptr<Job>> retry_jobs_;
		std::map<std::string, std::deque<Job *>> queues_; // by order key, the head first
		std::map<CURL *, Job *> in_flight_;
		std::vector<natsMsg *> acks_; // delivered, acknowledged at the end of the round
		std::vector<std::unique_ptr<WebhookRequest>> spare_;
	};

	// The lane of an order key (an event of no stream: of its event id).
	size_t LaneIndex(const std::string &key) const {
		return lanes_.size() == 1 ? 0 : std::hash<std::string>{}(key) % lanes_.size();
	}
	Lane &LaneOf(const std::string &key) {
		return *lanes_[LaneIndex(key)];
	}

	void Run() {
		for (auto &l : lanes_)
			if (!l->multi_) {
				Log(LogLevel::kError, "delivery: curl_multi_init failed", {{"subscription_id", sub_.id}});
				return;
			}
		std::thread fetcher([this] { FetchLoop(); });
		for (size_t i = 1; i < lanes_.size(); i++)
			lanes_[i]->thread_ = std::thread([l = lanes_[i].get()] { l->Run(); });
		lanes_[0]->Run();
		for (size_t i = 1; i < lanes_.size(); i++)
			lanes_[i]->thread_.join();
		// Stopping: the lanes have let the requests in flight finish (kStopGrace); the rest are
		// aborted, the fetcher ends and everything still held is given back.
		abort_.store(true);
		fetcher.join();
		for (auto &l : lanes_)
			l->Finish();
		held_count_.store(0);
		{
			std::lock_guard<std::mutex> lock(ns_mu_);
			if (ns_)
				retired_.push_back(ns_);
			ns_ = nullptr;
		}
		for (natsSubscription *ns : retired_)
			nats::UnsubscribeAndRetire(ns);
		retired_.clear();
	}

	// Fetched messages to their lanes (fetcher thread): one this subscription does not want is
	// acknowledged at once; the others are parsed here once, for their order key.
	void Dispatch(natsMsgList *list) {
		std::vector<std::vector<Incoming>> to(lanes_.size());
		int unwanted = 0;
		for (int i = 0; i < list->Count; i++) {
			natsMsg *msg = list->Msgs[i];
			list->Msgs[i] = nullptr;
			std::string_view body(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
			relay::DecodedMessage e;
			if (!relay::ParseDecodedMessage(body, &e) || e.kind != relay::DecodedKind::kEvent || !Matches(sub_, e) ||
			    (e.commit_time_us != 0 && e.commit_time_us < sub_.created_us)) {
				natsMsg_Ack(msg, nullptr);
				natsMsg_Destroy(msg);
				unwanted++;
				continue;
			}
			Incoming in{msg, e.stream_id.empty() ? std::string() : "stream:" + std::string(e.stream_id),
			            std::string(e.event_id)};
			// Events of no stream have no order among themselves: any lane (by event id).
			size_t lane = LaneIndex(in.key.empty() ? in.event_id : in.key);
			to[lane].push_back(std::move(in));
		}
		natsMsgList_Destroy(list);
		if (unwanted)
			Given(unwanted);
		for (size_t i = 0; i < to.size(); i++) {
			if (to[i].empty())
				continue;
			Lane &l = *lanes_[i];
			{
				std::lock_guard<std::mutex> lock(l.in_mu_);
				for (Incoming &in : to[i])
					l.incoming_.push_back(std::move(in));
			}
			l.Wake();
		}
	}

	// The fetcher: a no-wait fetch of as many messages as the window has room for; when that
	// finds none, a long poll for one (it returns as soon as one is there), then no-wait again.
	void FetchLoop() {
		bool idle = false;
		bool suspect = false; // the last fetch failed as it would if the consumer were gone
		auto next_check = Clock::now() + kConsumerCheckInterval;
		auto next_routine_check = Clock::now() + kConsumerRoutineCheckInterval;
		while (!stop_.load()) {
			if (!ns_) {
				natsSubscription *made = nullptr;
				if (!Subscribe(&made)) {
					SleepUnlessStopped(1000);
					continue;
				}
				std::lock_guard<std::mutex> lock(ns_mu_);
				ns_ = made;
				continue; // stop_ is checked again before the first fetch
			}
			// Is the consumer still there? Asked when a fetch failed (at most every 2 s), and
			// otherwise every 30 s while idle: a JetStream API request per idle worker every 2 s
			// was 50 requests/s with 100 subscriptions.
			auto now = Clock::now();
			if (idle && now >= next_check && (suspect || now >= next_routine_check)) {
				next_check = now + kConsumerCheckInterval;
				next_routine_check = now + kConsumerRoutineCheckInterval;
				if (ConsumerLost()) {
					// Deleted, or gone with its stream: a pull subscription never comes back by
					// itself. The old one stays alive (messages held by the poster still ack
					// through it, into nothing) until the worker stops; the next Subscribe creates
					// the consumer anew at the subscription's creation time.
					Log(LogLevel::kWarn, "delivery: consumer lost, creating it again",
					    {{"subscription_id", sub_.id}, {"durable", DurableName(sub_.id)}});
					std::lock_guard<std::mutex> lock(ns_mu_);
					retired_.push_back(ns_);
					ns_ = nullptr;
					warned_ = false;
					continue;
				}
			}
			// With a backlog, fetch again once a quarter of the window is free (not message by
			// message); caught up, any room is enough for the long poll.
			int room = kWindow - held_count_.load();
			if (room <= 0 || (!idle && room < kRefill)) {
				std::unique_lock<std::mutex> lock(space_mu_);
				space_cv_.wait_for(lock, std::chrono::milliseconds(100),
				                   [this] { return stop_.load() || kWindow - held_count_.load() >= kRefill; });
				room = kWindow - held_count_.load();
				if (room <= 0)
					continue;
			}
			natsMsgList list{};
			natsStatus s;
			if (idle) {
				jsErrCode jerr = static_cast<jsErrCode>(0);
				s = natsSubscription_Fetch(&list, ns_, 1, kLongPollMs, &jerr);
			} else {
				jsFetchRequest req;
				jsFetchRequest_Init(&req);
				req.Batch = room;
				req.NoWait = true;
				req.Expires = kNoWaitExpiresNs;
				s = natsSubscription_FetchRequest(&list, ns_, &req);
			}
			if (list.Count > 0) {
				held_count_ += list.Count;
				Dispatch(&list);
				idle = false;
			} else if (s == NATS_OK || s == NATS_TIMEOUT || s == NATS_NOT_FOUND) {
				idle = true;
				suspect = false;
			} else { // not connected, the consumer deleted (NATS_ERR), or the server counts the window full until our acks reach it
				idle = true;
				suspect = true;
				SleepUnlessStopped(100);
			}
		}
	}

	// n held messages were given back (acknowledged, terminated, merged): room for the fetcher.
	// It waits only for a quarter of the window to be free, so it is woken when the room crosses
	// that line, not at every message (a futex wake and a thread switch per delivery).
	void Given(int n) {
		int before = held_count_.fetch_sub(n);
		if (kWindow - before >= kRefill || kWindow - (before - n) < kRefill)
			return;
		{
			std::lock_guard<std::mutex> lock(space_mu_); // no lost wake-up between its check and wait
		}
		space_cv_.notify_all();
	}

	void SleepUnlessStopped(int ms) {
		std::unique_lock<std::mutex> lock(space_mu_);
		space_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_.load(); });
	}

	// True when nats-server answers that the durable consumer (or its stream) does not exist; a
	// timeout or any other failure says nothing and is false.
	bool ConsumerLost() {
		jsConsumerInfo *ci = nullptr;
		jsErrCode jerr = static_cast<jsErrCode>(0);
		natsStatus s = js_GetConsumerInfo(&ci, js_, stream_.c_str(), DurableName(sub_.id).c_str(), nullptr, &jerr);
		if (ci)
			jsConsumerInfo_Destroy(ci);
		return nats::StreamOrConsumerMissing(s, jerr);
	}

	// Creates the durable consumer if it does not exist, then binds a pull subscription to it.
	// The consumer is created here, not by js_PullSubscribe: nats.c deletes a consumer that its
	// own subscribe call created when that subscription is unsubscribed or destroyed, durable or
	// not, so a worker restarted by a secret rotation or a graceful shutdown would have lost the
	// ack floor (and redelivered everything since the subscription's creation).
	bool Subscribe(natsSubscription **ns) {
		std::string subject = FilterSubject(sub_);
		std::string durable = DurableName(sub_.id);
		jsConsumerConfig cc;
		jsConsumerConfig_Init(&cc);
		cc.Durable = durable.c_str();
		cc.FilterSubject = subject.c_str();
		cc.AckPolicy = js_AckExplicit;
		cc.AckWait = kAckWaitNs;
		// A new consumer starts at the subscription's creation (events committed after it, even
		// those published before this worker ran); an existing durable resumes at its ack floor.
		// Whole seconds: nats.c writes a fraction with leading zeros wrongly (.003 s as .3 s), which
		// would skip events and make the durable's config differ at the next start; the events of
		// that second committed before the subscription are skipped by commit time.
		cc.DeliverPolicy = js_DeliverByStartTime;
		cc.OptStartTime = sub_.created_us / 1000000 * 1000000000;
		cc.MaxAckPending = kWindow;
		jsErrCode jerr = static_cast<jsErrCode>(0);
		jsConsumerInfo *ci = nullptr;
		natsStatus s = js_AddConsumer(&ci, js_, stream_.c_str(), &cc, nullptr, &jerr);
		if (s == NATS_OK)
			jsConsumerInfo_Destroy(ci);
		// Otherwise it may exist already (with another config, from an older sidecar): bind to it.
		jsSubOptions so;
		jsSubOptions_Init(&so);
		so.Stream = stream_.c_str();
		so.Consumer = durable.c_str();
		jerr = static_cast<jsErrCode>(0);
		s = js_PullSubscribe(ns, js_, subject.c_str(), durable.c_str(), nullptr, &so, &jerr);
		if (s != NATS_OK) {
			if (!warned_)
				Log(LogLevel::kWarn, "delivery consumer not created yet",
				    {{"subscription_id", sub_.id}, {"error", nats::StatusText(s) + " " + nats::LastErrorText()}});
			warned_ = true;
			*ns = nullptr;
			return false;
		}
		return true;
	}

	Subscription sub_;
	jsCtx *js_;
	const std::string &stream_;
	Recorder *recorder_;
	RetryHolds *holds_;
	std::atomic<bool> stop_{false};
	std::atomic<bool> abort_{false}; // requests in flight are aborted (set at once, or after kStopGrace)
	bool warned_ = false; // fetcher thread
	natsSubscription *ns_ = nullptr; // made by the fetcher (set under ns_mu_), destroyed by the worker after it ended
	std::mutex ns_mu_;                 // ns_ between the fetcher and RequestStop
	std::vector<natsSubscription *> retired_; // lost consumers' subscriptions (fetcher; the worker at the end)
	std::thread thread_;
	// The fetcher's window: every message fetched and not yet given back (held_count_), and its
	// wait for room (space_mu_, space_cv_).
	std::mutex space_mu_;
	std::condition_variable space_cv_;
	std::atomic<int> held_count_{0};
	std::vector<std::unique_ptr<Lane>> lanes_;
};

} // namespace

struct Deliverer::Impl {
	Impl(const Config &c, pg::Pool *p) : config(c), pool(p), recorder(p, &holds), instance(InstanceId()) {}
	const Config &config;
	pg::Pool *pool;
	RetryHolds holds;
	Recorder recorder;
	const std::string instance; // names this process's claims on dead-letter retries
	natsOptions *opts = nullptr;
	natsConnection *nc = nullptr;
	jsCtx *js = nullptr;
	std::mutex mu;
	std::condition_variable cv;
	bool stop = false;
	bool reload_wanted = true, claim_wanted = true; // under mu: set by NOTIFY (listener)
	std::atomic<bool> stopping{false};
	// This process delivers only while it holds the session advisory lock (17751, hashtext(slot))
	// on its listening connection: one deliverer per deployment at a time (several messages of a consumer
	// are in flight at once, so two processes on one consumer would break the stream order).
	std::atomic<bool> owner{false};
	std::thread reloader, listener;
	std::map<std::string, std::unique_ptr<Worker>> workers; // reloader thread only

	static std::string InstanceId() {
		std::random_device rd;
		char buf[48];
		std::snprintf(buf, sizeof(buf), "%08x%08x-%d", rd(), rd(), static_cast<int>(getpid()));
		return buf;
	}

	// Runs q on the pool and waits for it (reloader thread only); false when refused, timed out
	// or failed (logged with what).
	bool RunSync(pg::Query q, const char *what, pg::Result *out) {
		auto state = std::make_shared<std::pair<std::mutex, std::condition_variable>>();
		auto result = std::make_shared<std::optional<pg::Result>>();
		q.done = [state, result](pg::Result r) {
			std::lock_guard<std::mutex> l(state->first);
			*result = std::move(r);
			state->second.notify_all();
		};
		pg::Result::Status refusal;
		if (!pool->Submit(std::move(q), &refusal))
			return false;
		std::unique_lock<std::mutex> l(state->first);
		if (!state->second.wait_for(l, std::chrono::seconds(10), [&] { return result->has_value(); }))
			return false;
		*out = std::move(**result);
		if (!out->ok()) {
			Log(LogLevel::kWarn, what, {{"error", out->message}});
			return false;
		}
		return true;
	}

	// The active subscriptions, or false when the query failed (then nothing changes).
	bool Load(std::vector<Subscription> *out) {
		pg::Query q;
		q.sql = "SELECT s.id, s.callback_url, s.event_types, s.event_sources, s.event_categories, s.webhook_secret, "
		        "s.previous_secret, s.max_attempts, s.backoff_base_ms, s.backoff_max_ms, "
		        "(pg_catalog.date_part('epoch', s.created_at) * 1000000)::bigint "
		        "FROM event.subscriptions_for_delivery() s";
		pg::Result r;
		if (!RunSync(std::move(q), "loading subscriptions failed", &r))
			return false;
		for (int i = 0; i < r.rows; i++) {
			Subscription s;
			s.id = r.Value(i, 0);
			s.url = r.Value(i, 1);
			s.types = ParseTextArray(r.Value(i, 2));
			s.sources = ParseTextArray(r.Value(i, 3));
			s.categories = ParseTextArray(r.Value(i, 4));
			s.secret = r.Value(i, 5);
			s.previous = r.IsNull(i, 6) ? "" : r.Value(i, 6);
			s.max_attempts = std::atoi(r.Value(i, 7).c_str());
			s.base_ms = std::atoi(r.Value(i, 8).c_str());
			s.max_ms = std::atoi(r.Value(i, 9).c_str());
			s.created_us = std::strtoll(r.Value(i, 10).c_str(), nullptr, 10);
			for (int c = 1; c < 10; c++)
				s.fingerprint += r.Value(i, c) + '\x1f';
			out->push_back(std::move(s));
		}
		return true;
	}

	// Claims requested dead-letter retries and the deliveries of replays to a subscription
	// (renewing the lease of those held) and queues each at its subscription's worker. True when
	// a full batch came back (more may be waiting).
	bool ClaimRetries() {
		if (workers.empty())
			return false;
		bool more = false;
		for (const char *sql : {"SELECT delivery_id, subscription_id, event_id, attempts, payload, NULL "
		                        "FROM event.claim_dead_letter_retries($1, $2::text[], $3)",
		                        "SELECT delivery_id, subscription_id, event_id, 0, payload, order_key "
		                        "FROM event.claim_replay_deliveries($1, $2::text[], $3)"}) {
			pg::Query q;
			q.sql = sql;
			q.params = {instance, holds.ArrayLiteral(), std::to_string(kRetryClaimBatch)};
			pg::Result r;
			if (!RunSync(std::move(q), "claiming dead-letter retries or replay deliveries failed", &r))
				continue;
			for (int i = 0; i < r.rows; i++) {
				auto it = workers.find(r.Value(i, 1));
				if (it == workers.end() || !holds.Add(r.Value(i, 0)))
					continue; // no worker yet: claimed again at the next poll
				RetryItem item;
				item.delivery_id = r.Value(i, 0);
				item.event_id = r.Value(i, 2);
				item.attempts = std::atoi(r.Value(i, 3).c_str());
				item.payload = r.Value(i, 4);
				item.order_key = r.IsNull(i, 5) ? "" : r.Value(i, 5);
				it->second->Enqueue(std::move(item));
			}
			more = more || r.rows >= kRetryClaimBatch;
		}
		return more;
	}

	void StopWorker(std::map<std::string, std::unique_ptr<Worker>>::iterator it, bool remove_consumer) {
		it->second->RequestStop();
		it->second->Join();
		if (remove_consumer) {
			jsErrCode jerr = static_cast<jsErrCode>(0);
			js_DeleteConsumer(js, config.stream_name.c_str(), DurableName(it->first).c_str(), nullptr, &jerr);
			Log(LogLevel::kInfo, "subscription removed: deliveries stopped", {{"subscription_id", it->first}});
		}
		workers.erase(it);
	}

	void Reload() {
		if (!owner.load()) { // stand by: give every held message back
			for (auto &[id, w] : workers)
				w->RequestStop();
			while (!workers.empty())
				StopWorker(workers.begin(), false);
			return;
		}
		std::vector<Subscription> subs;
		if (!Load(&subs))
			return;
		std::map<std::string, Subscription *> wanted;
		for (Subscription &s : subs)
			wanted[s.id] = &s;
		// Stop first (deleted or changed), all at once so a hanging request does not delay others.
		std::vector<std::string> gone, changed;
		for (auto &[id, w] : workers) {
			auto it = wanted.find(id);
			if (it == wanted.end())
				gone.push_back(id);
			else if (it->second->fingerprint != w->sub().fingerprint)
				changed.push_back(id);
		}
		for (const auto &id : gone)
			workers[id]->RequestStop(true);
		for (const auto &id : changed)
			workers[id]->RequestStop();
		for (const auto &id : gone)
			StopWorker(workers.find(id), true);
		for (const auto &id : changed)
			StopWorker(workers.find(id), false);
		// No more subscriptions than cores: each gets as many lanes (poster threads) as there are
		// cores, so that one busy subscription is not held to one thread; else one each.
		const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
		const int lanes = static_cast<int>(wanted.size()) <= cores ? std::min(cores, kMaxLanes) : 1;
		for (auto &[id, s] : wanted) {
			if (workers.count(id))
				continue;
			auto w = std::make_unique<Worker>(*s, js, config.stream_name, &recorder, &holds, lanes);
			w->Start();
			workers[id] = std::move(w);
		}
	}

	// Reloads when notified (create, delete, rotate) and at least every --delivery-poll-interval (the
	// fallback when a notification was missed); claims retries on each round.
	void Run() {
		std::unique_lock<std::mutex> lock(mu);
		auto next_reload = std::chrono::steady_clock::now();
		while (!stop) {
			bool reload = reload_wanted || std::chrono::steady_clock::now() >= next_reload;
			reload_wanted = claim_wanted = false;
			lock.unlock();
			if (reload) {
				Reload();
				next_reload = std::chrono::steady_clock::now() + std::chrono::milliseconds(config.delivery_poll_interval_ms);
			}
			bool more = ClaimRetries();
			lock.lock();
			if (more)
				claim_wanted = true;
			cv.wait_until(lock, next_reload, [this] { return stop || reload_wanted || claim_wanted; });
		}
	}

	void Wake(bool reload, bool claim) {
		{
			std::lock_guard<std::mutex> lock(mu);
			reload_wanted = reload_wanted || reload;
			claim_wanted = claim_wanted || claim;
		}
		cv.notify_all();
	}

	// LISTEN on its own connection: a subscription change or a retry request wakes the reloader
	// at once. Reconnects after a loss; every (re)connection triggers a reload and a claim, for
	// what was notified while nobody listened.
	void Listen() {
		bool warned = false;
		while (!stopping.load()) {
			relay::PgConnPtr conn = relay::PgConnect(config.database_url, nullptr, "event-sidecar-delivery");
			relay::PgResultPtr res;
			if (PQstatus(conn.get()) == CONNECTION_OK)
				res.reset(PQexec(conn.get(), (std::string("LISTEN ") + kSubscriptionsChannel + "; LISTEN " + kDeadLettersChannel).c_str()));
			if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
				if (!warned)
					Log(LogLevel::kWarn, "delivery: LISTEN failed, no deliveries until it works",
					    {{"error", relay::PgError(conn.get())}});
				warned = true;
				for (int i = 0; i < 20 && !stopping.load(); i++)
					std::this_thread::sleep_for(std::chrono::milliseconds(50));
				continue;
			}
			warned = false;
			bool owning = TryOwn(conn.get());
			Wake(true, true);
			auto next_try = std::chrono::steady_clock::now() + std::chrono::seconds(1);
			while (!stopping.load()) {
				struct pollfd p {PQsocket(conn.get()), POLLIN, 0};
				if (poll(&p, 1, 200) < 0 && errno != EINTR)
					break;
				if (!PQconsumeInput(conn.get()))
					break;
				bool reload = false, claim = false;
				if (!owning && std::chrono::steady_clock::now() >= next_try) {
					owning = reload = claim = TryOwn(conn.get());
					next_try = std::chrono::steady_clock::now() + std::chrono::seconds(1);
				}
				while (PGnotify *n = PQnotifies(conn.get())) {
					if (std::strcmp(n->relname, kSubscriptionsChannel) == 0)
						reload = true;
					else if (std::strcmp(n->relname, kDeadLettersChannel) == 0)
						claim = true;
					PQfreemem(n);
				}
				if (reload || claim)
					Wake(reload, claim);
			}
			if (owner.exchange(false))
				Log(LogLevel::kWarn, "delivery: listening connection lost, deliveries paused until it is back");
			Wake(true, false);
		}
	}

	// Takes the delivery lock on the listening connection if free (the session keeps it): the
	// advisory lock (17751, hashtext(slot)), one per deployment (the sidecars of one slot).
	bool TryOwn(PGconn *conn) {
		const char *params[1] = {config.slot.c_str()};
		relay::PgResultPtr res(PQexecParams(conn, "SELECT pg_catalog.pg_try_advisory_lock(17751, pg_catalog.hashtext($1))",
		                                    1, nullptr, params, nullptr, nullptr, 0));
		bool got = res && PQresultStatus(res.get()) == PGRES_TUPLES_OK && PQntuples(res.get()) == 1 &&
		           std::strcmp(PQgetvalue(res.get(), 0, 0), "t") == 0;
		if (got)
			owner.store(true);
		else if (!standby_logged)
			Log(LogLevel::kInfo, "delivery: another process delivers for this slot; standing by");
		standby_logged = !got;
		return got;
	}
	bool standby_logged = false; // listener thread
};

Deliverer::Deliverer(const Config &config, pg::Pool *pool) : impl_(std::make_unique<Impl>(config, pool)) {}

Deliverer::~Deliverer() { Stop(); }

bool Deliverer::Start(std::string *error) {
	Impl &d = *impl_;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!nats::ConnectInBackground(d.config, "event-sidecar-delivery", "delivery", &d.opts, &d.nc, &d.js, error))
		return false;
	d.recorder.Start();
	d.reloader = std::thread([&d] { d.Run(); });
	d.listener = std::thread([&d] { d.Listen(); });
	return true;
}

void Deliverer::Stop() {
	Impl &d = *impl_;
	{
		std::lock_guard<std::mutex> lock(d.mu);
		if (d.stop)
			return;
		d.stop = true;
	}
	d.stopping.store(true);
	d.cv.notify_all();
	if (d.listener.joinable())
		d.listener.join();
	if (d.reloader.joinable())
		d.reloader.join();
	for (auto &[id, w] : d.workers)
		w->RequestStop();
	for (auto &[id, w] : d.workers)
		w->Join();
	d.workers.clear();
	d.recorder.Stop();
	nats::DestroyConnection(&d.opts, &d.nc, &d.js);
}

} // namespace event::sidecar::delivery
