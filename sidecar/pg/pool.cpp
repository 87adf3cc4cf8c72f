// pool.cpp — the API's PostgreSQL connection pool: one thread, poll() over every connection's
// non-blocking socket and an eventfd that Submit writes to (see pool.hpp).
//
// Per connection: kDown (waiting for its retry time) -> kConnecting (PQconnectPoll steps) ->
// kIdle <-> kBusy (one query in flight: PQsendQueryPrepared, PQflush until sent, PQconsumeInput +
// PQgetResult until the NULL that ends it). Each connection prepares a statement the first time
// it runs its SQL text (PQsendPrepare, one extra round trip) and from then on sends only its name
// and parameters: no parse, analysis and planning per query (at most kMaxStatements texts per
// connection; beyond, PQsendQueryParams). One statement per round trip is enough here: the
// API's write path coalesces many requests into one statement (api/group_commit.hpp), so
// pipelining several statements per connection would add ordering state for little gain.
#include "pg/pool.hpp"

#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <unordered_map>

#include "log.hpp"
#include "pg/conninfo.hpp"

namespace event::sidecar::pg {

namespace {

int64_t NowMs() {
	using namespace std::chrono;
	return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// libpq's last error of conn on one line.
std::string ConnError(const PGconn *conn) {
	std::string s = conn ? PQerrorMessage(conn) : "out of memory";
	while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
		s.pop_back();
	std::replace(s.begin(), s.end(), '\n', ' ');
	return s;
}

// A field of an error result, "" when absent.
std::string Field(const PGresult *res, int code) {
	const char *v = PQresultErrorField(res, code);
	return v ? v : "";
}

// The Result of one PGresult.
Result Convert(const PGresult *res) {
	Result r;
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		r.rows = PQntuples(res);
		r.columns = PQnfields(res);
		size_t n = static_cast<size_t>(r.rows) * static_cast<size_t>(r.columns);
		r.values.reserve(n);
		r.nulls.reserve(n);
		for (int i = 0; i < r.rows; i++)
			for (int j = 0; j < r.columns; j++) {
				bool null = PQgetisnull(res, i, j);
				r.nulls.push_back(null);
				r.values.emplace_back(null ? "" : std::string(PQgetvalue(res, i, j), PQgetlength(res, i, j)));
			}
		return r;
	}
	r.status = Result::Status::kSqlError;
	r.sqlstate = Field(res, PG_DIAG_SQLSTATE);
	r.message = Field(res, PG_DIAG_MESSAGE_PRIMARY);
	r.detail = Field(res, PG_DIAG_MESSAGE_DETAIL);
	r.hint = Field(res, PG_DIAG_MESSAGE_HINT);
	if (r.sqlstate.empty())
		r.sqlstate = "XX000";
	if (r.message.empty())
		r.message = PQresStatus(st);
	// The server closing the connection (shutdown, restart, admin kill): the database is away.
	if (r.sqlstate.compare(0, 2, "08") == 0 || r.sqlstate.compare(0, 3, "57P") == 0)
		r.status = Result::Status::kUnavailable;
	return r;
}

Result Failure(Result::Status status, std::string message) {
	Result r;
	r.status = status;
	r.message = std::move(message);
	return r;
}

// Distinct SQL texts a connection prepares (the API's are a few dozen constants).
constexpr size_t kMaxStatements = 256;

// Calls q.done, never letting an exception escape into the pool loop.
void Deliver(Query &q, Result r) noexcept {
	try {
		if (q.done)
			q.done(std::move(r));
	} catch (const std::exception &e) {
		Log(LogLevel::kError, "pg pool: query callback threw", {{"error", e.what()}});
	} catch (...) {
		Log(LogLevel::kError, "pg pool: query callback threw", {{"error", "unknown exception"}});
	}
}

} // namespace

struct Pool::Conn {
	enum class State { kDown, kConnecting, kIdle, kBusy };
	int index = 0;
	State state = State::kDown;
	PGconn *pg = nullptr;
	PostgresPollingStatusType want = PGRES_POLLING_WRITING;
	int64_t retry_at_ms = 0;
	int64_t backoff_ms = 0;
	bool want_write = false;
	std::optional<Query> current;
	std::optional<Result> result;
	std::unordered_map<std::string, std::string> statements; // SQL text -> prepared statement name
	int next_statement = 0;
	std::string preparing;    // name being prepared for current (its query follows when it succeeds)
	std::string executing;    // name current runs as ("" = unprepared)
};

Pool::Pool(std::string database_url, Options options) : url_(std::move(database_url)), options_(options) {
	wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	for (int i = 0; i < std::max(1, options_.pool_size); i++) {
		conns_.push_back(std::make_unique<Conn>());
		conns_.back()->index = i;
		conns_.back()->backoff_ms = options_.reconnect_min_ms;
	}
}

Pool::~Pool() {
	Stop();
	if (wake_fd_ >= 0)
		close(wake_fd_);
}

void Pool::Start() {
	if (!thread_.joinable())
		thread_ = std::thread([this] { Run(); });
}

void Pool::Stop() {
	if (!thread_.joinable())
		return;
	stop_.store(true);
	Wake();
	thread_.join();
}

void Pool::Wake() {
	uint64_t one = 1;
	ssize_t n = write(wake_fd_, &one, sizeof(one));
	(void)n; // EAGAIN: the counter is already non-zero, the loop wakes anyway
}

bool Pool::Submit(Query q, Result::Status *refusal) {
	{
		// Checked under mu_: the pool thread lowers up_ before FailQueued takes mu_, so a query is
		// either refused here or failed there, never left queued with no connection up.
		std::lock_guard<std::mutex> lock(mu_);
		if (stop_.load() || !Available()) {
			*refusal = Result::Status::kUnavailable;
			return false;
		}
		if (queue_.size() >= static_cast<size_t>(options_.queue_max)) {
			*refusal = Result::Status::kOverloaded;
			return false;
		}
		queue_.push_back(std::move(q));
		depth_.store(queue_.size(), std::memory_order_relaxed);
	}
	Wake();
	return true;
}

void Pool::FailQueued(const std::string &why) {
	std::deque<Query> failed;
	{
		std::lock_guard<std::mutex> lock(mu_);
		failed.swap(queue_);
		depth_.store(0, std::memory_order_relaxed);
	}
	for (Query &q : failed)
		Deliver(q, Failure(Result::Status::kUnavailable, why));
}

// Starts a connection attempt when a down connection's retry time has come.
void Pool::Advance(Conn &c, int64_t now_ms) {
	if (c.state != Conn::State::kDown || now_ms < c.retry_at_ms)
		return;
	const ConnParams params(url_, "event-sidecar-api",
	                        "-c statement_timeout=" + std::to_string(options_.statement_timeout_ms));
	c.pg = PQconnectStartParams(params.keys(), params.values(), 1);
	if (c.pg == nullptr || PQstatus(c.pg) == CONNECTION_BAD) {
		Lost(c, ConnError(c.pg));
		return;
	}
	c.state = Conn::State::kConnecting;
	c.want = PGRES_POLLING_WRITING;
}

void Pool::Lost(Conn &c, const std::string &why) {
	bool was_up = c.state == Conn::State::kIdle || c.state == Conn::State::kBusy;
	if (c.current) {
		Deliver(*c.current, Failure(Result::Status::kUnavailable, "connection to PostgreSQL lost: " + why));
		c.current.reset();
	}
	c.result.reset();
	c.statements.clear(); // prepared statements die with their connection
	c.preparing.clear();
	c.executing.clear();
	if (c.pg)
		PQfinish(c.pg);
	c.pg = nullptr;
	c.state = Conn::State::kDown;
	c.want_write = false;
	c.retry_at_ms = NowMs() + c.backoff_ms;
	c.backoff_ms = std::min(c.backoff_ms * 2, options_.reconnect_max_ms);
	if (was_up) {
		Log(LogLevel::kWarn, "pg pool: connection lost", {{"conn", c.index}, {"error", why}});
		if (up_.fetch_sub(1) == 1)
			FailQueued("PostgreSQL is unavailable: " + why);
	} else if (c.backoff_ms == options_.reconnect_min_ms * 2) {
		// The first failed attempt of a series (later ones stay quiet until it connects again).
		Log(LogLevel::kWarn, "pg pool: cannot connect, retrying with backoff", {{"conn", c.index}, {"error", why}});
	}
}

// Sends the next queued query on an idle connection.
void Pool::Dispatch(Conn &c) {
	if (c.state != Conn::State::kIdle)
		return;
	{
		std::lock_guard<std::mutex> lock(mu_);
		if (queue_.empty())
			return;
		c.current = std::move(queue_.front());
		queue_.pop_front();
		depth_.store(queue_.size(), std::memory_order_relaxed);
	}
	c.state = Conn::State::kBusy;
	Send(c);
}

// Sends the current query: prepared under its name, prepares it first, or (statement cache
// full) as an unnamed statement.
void Pool::Send(Conn &c) {
	const Query &q = *c.current;
	const int n = static_cast<int>(q.params.size());
	auto known = c.statements.find(q.sql);
	int sent;
	c.executing.clear();
	if (known != c.statements.end()) {
		std::vector<const char *> values;
		values.reserve(q.params.size());
		for (const auto &p : q.params)
			values.push_back(p ? p->c_str() : nullptr);
		c.executing = known->second;
		sent = PQsendQueryPrepared(c.pg, known->second.c_str(), n, values.data(), nullptr, nullptr, 0);
	} else if (c.statements.size() < kMaxStatements) {
		c.preparing = "event_api_" + std::to_string(c.next_statement++);
		sent = PQsendPrepare(c.pg, c.preparing.c_str(), q.sql.c_str(), n, nullptr);
	} else {
		std::vector<const char *> values;
		values.reserve(q.params.size());
		for (const auto &p : q.params)
			values.push_back(p ? p->c_str() : nullptr);
		sent = PQsendQueryParams(c.pg, q.sql.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0);
	}
	if (!sent) {
		Lost(c, ConnError(c.pg));
		return;
	}
	int flushed = PQflush(c.pg);
	if (flushed < 0)
		Lost(c, ConnError(c.pg));
	else
		c.want_write = flushed == 1;
}

// Reads what the server sent; completes the query in flight when its last result arrived.
void Pool::Read(Conn &c) {
	if (!PQconsumeInput(c.pg)) {
		Lost(c, ConnError(c.pg));
		return;
	}
	if (c.state == Conn::State::kBusy && PQisBusy(c.pg)) {
		// More of a large result to come over TCP: acknowledge what was read at once. Left to
		// the delayed ACK, the window this read opened reached the server up to 40-80 ms later,
		// while it had the rest of the result ready (a 420 kB query page: p99 26-64 ms, against
		// 8-10 ms with this or over a Unix socket). Fails harmlessly on a Unix socket.
		int one = 1;
		(void)setsockopt(PQsocket(c.pg), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	}
	while (PGnotify *n = PQnotifies(c.pg))
		PQfreemem(n);
	if (c.state == Conn::State::kIdle) {
		if (PQstatus(c.pg) == CONNECTION_BAD)
			Lost(c, ConnError(c.pg));
		return;
	}
	while (c.state == Conn::State::kBusy && !PQisBusy(c.pg)) {
		PGresult *res = PQgetResult(c.pg);
		if (res == nullptr) {
			Result r = c.result ? std::move(*c.result) : Failure(Result::Status::kUnavailable, "no result");
			c.result.reset();
			if (!c.preparing.empty()) {
				std::string name = std::move(c.preparing);
				c.preparing.clear();
				if (r.ok()) {
					// Prepared: now the query itself, on the same connection.
					c.statements.emplace(c.current->sql, std::move(name));
					Send(c);
					if (c.state != Conn::State::kBusy)
						return; // lost
					continue;
				}
				// The statement does not prepare (an error in the SQL, a missing function): that
				// error is the query's answer.
			} else if (!r.ok() && !c.executing.empty() &&
			           (r.sqlstate == "0A000" || r.sqlstate == "26000")) {
				// "cached plan must not change result type" (an extension update changed a
				// function's type) or the statement vanished: prepared again next time.
				c.statements.erase(c.current->sql);
			}
			Query q = std::move(*c.current);
			c.current.reset();
			c.state = Conn::State::kIdle;
			Deliver(q, std::move(r));
			break;
		}
		if (!c.result)
			c.result = Convert(res);
		PQclear(res);
	}
	if (c.state == Conn::State::kBusy && PQstatus(c.pg) == CONNECTION_BAD)
		Lost(c, ConnError(c.pg));
}

void Pool::Run() {
	std::vector<pollfd> fds;
	std::vector<Conn *> owners;
	while (!stop_.load()) {
		int64_t now = NowMs();
		int timeout = 1000;
		for (auto &c : conns_) {
			Advance(*c, now);
			Dispatch(*c);
			if (c->state == Conn::State::kDown)
				timeout = static_cast<int>(std::clamp<int64_t>(c->retry_at_ms - now, 0, timeout));
		}
		fds.assign(1, pollfd{wake_fd_, POLLIN, 0});
		owners.assign(1, nullptr);
		for (auto &c : conns_) {
			if (c->state == Conn::State::kDown)
				continue;
			short events = POLLIN;
			if (c->state == Conn::State::kConnecting)
				events = c->want == PGRES_POLLING_READING ? POLLIN : POLLOUT;
			else if (c->want_write)
				events |= POLLOUT;
			fds.push_back(pollfd{PQsocket(c->pg), events, 0});
			owners.push_back(c.get());
		}
		int n = poll(fds.data(), fds.size(), timeout);
		if (n < 0 && errno != EINTR) {
			Log(LogLevel::kError, "pg pool: poll failed", {{"errno", errno}});
			break;
		}
		if (fds[0].revents & POLLIN) {
			uint64_t v;
			while (read(wake_fd_, &v, sizeof(v)) > 0) {
			}
		}
		for (size_t i = 1; i < fds.size(); i++) {
			Conn &c = *owners[i];
			if (fds[i].revents == 0)
				continue;
			if (c.state == Conn::State::kConnecting) {
				c.want = PQconnectPoll(c.pg);
				if (c.want == PGRES_POLLING_OK) {
					PQsetnonblocking(c.pg, 1);
					c.state = Conn::State::kIdle;
					c.backoff_ms = options_.reconnect_min_ms;
					if (up_.fetch_add(1) == 0)
						Log(LogLevel::kInfo, "pg pool: PostgreSQL available", {{"conn", c.index}});
				} else if (c.want == PGRES_POLLING_FAILED) {
					Lost(c, ConnError(c.pg));
				}
				continue;
			}
			if ((fds[i].revents & POLLOUT) && c.want_write) {
				int flushed = PQflush(c.pg);
				if (flushed < 0) {
					Lost(c, ConnError(c.pg));
					continue;
				}
				c.want_write = flushed == 1;
			}
			if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
				Read(c);
		}
	}
	for (auto &c : conns_)
		if (c->state != Conn::State::kDown)
			Lost(*c, "pool stopped");
	FailQueued("pool stopped");
}

} // namespace event::sidecar::pg
