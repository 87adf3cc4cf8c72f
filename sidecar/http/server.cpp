// server.cpp — the Boost.Beast/Asio HTTP/1.1 server (see server.hpp). The only file that includes
// Beast for plain HTTP, so that the rest of the sidecar compiles quickly.
//
// One io_context per I/O thread (no reactor shared between threads, so a reply posted by the
// database or NATS thread wakes only the connection's own thread, and handlers posted from that
// thread need no cross-thread signal); connections are spread over them round-robin at accept.
// One Session per connection, all of its handlers on its context's thread. A connection serves its requests
// one after the other: it reads a head, asks the router (route, auth, content type, declared
// length), answers 100 Continue if asked and allowed, reads the body with a progress deadline,
// inflates gzip, calls the handler and writes the response before it parses the next request.
// Pipelined requests wait in the read buffer, so responses go out in request order.
//
// Deadlines: idle keep-alive (no byte of a next request), the whole request head from its first
// byte (slowloris), every pause within a body, the handler's reply, each response write.
#include "http/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "http/access_log.hpp"
#include "http/gzip.hpp"
#include "http/reply_batch.hpp"
#include "http/stream_session.hpp"
#include "log.hpp"
#include "metrics/registry.hpp"

namespace event::sidecar::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

metrics::Gauge &OpenConnections() {
	static auto &g = metrics::Default().Gauge("http_connections_open", "Open HTTP connections.").With();
	return g;
}

metrics::Counter &RejectedConnections() {
	static auto &c = metrics::Default()
						 .Counter("http_connections_rejected_total", "Connections answered 503 at the connection cap.")
						 .With();
	return c;
}

metrics::CounterFamily &ClosedSlow() {
	static auto &f = metrics::Default().Counter("http_connections_timed_out_total",
												"Connections closed by a deadline, by phase (head, body, write).",
												{"phase"});
	return f;
}

// Bodies up to this size are read and dropped after an early error answer (keeps the connection).
constexpr uint64_t kMaxDiscardedBody = 64 * 1024;

const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// PostReply's way to an I/O thread.
void PostToContext(void *context, std::function<void()> task) {
	net::post(*static_cast<net::io_context *>(context), std::move(task));
}

} // namespace

class Session;

class Server::Impl {
public:
	Impl(Options o, const Router *r) : options(std::move(o)), router(r) {
		int n = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
		for (int i = 0; i < std::max(1, n); i++)
			contexts.push_back(std::make_unique<net::io_context>(1));
		for (auto &context : contexts)
			guards.push_back(net::make_work_guard(*context));
		acceptor.emplace(*contexts[0]);
	}

	void Accept();
	net::io_context &NextContext() { return *contexts[next_context++ % contexts.size()]; }

	// Declared before ioc: sessions still queued in ioc are destroyed with it and touch these.
	std::atomic<int64_t> connections{0};
	std::atomic<bool> stopping{false};
	Options options;
	const Router *router;
	std::vector<std::unique_ptr<net::io_context>> contexts; // one per I/O thread
	// Keep each context's run() going while it has no connection.
	std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
	size_t next_context = 0;                                // acceptor's thread only
	std::optional<tcp::acceptor> acceptor;
	std::vector<std::thread> threads;
	int port = 0;
	bool started = false;
};

class Session : public std::enable_shared_from_this<Session> {
public:
	Session(tcp::socket socket, Server::Impl *server)
		: stream_(std::move(socket)), wait_timer_(stream_.get_executor()), reply_timer_(stream_.get_executor()),
		  server_(server) {
		server_->connections.fetch_add(1);
		OpenConnections().Add(1);
		beast::error_code ec;
		auto ep = stream_.socket().remote_endpoint(ec);
		if (!ec)
			remote_ = ep.address().to_string();
	}
	~Session() {
		server_->connections.fetch_sub(1);
		OpenConnections().Add(-1);
	}

	void Start() {
		net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->WaitRequest(); });
	}

	// A handler's reply, on the session's thread.
	void Answer(uint64_t seq, Response r) {
		if (seq_ != seq || replied_)
			return;
		Finish(std::move(r));
	}

private:
	const Options &opts() const { return server_->options; }

	// Waits for the first byte of the next request without holding a read buffer (idle deadline).
	void WaitRequest() {
		if (server_->stopping.load())
			return Close();
		if (buffer_.size() > 0)
			return ReadHead();
		buffer_.shrink_to_fit();
		Watch(Phase::kIdle, opts().idle_timeout_ms);
		stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
			self->phase_ = Phase::kNone;
			if (ec)
				return self->Close();
			self->ReadHead();
		});
	}

	void ReadHead() {
		start_ = Clock::now();
		req_ = Request{};
		req_.remote_addr = remote_;
		prep_ = Prepared{};
		close_after_ = false;
		keep_alive_ = false;
		head_.emplace();
		head_->header_limit(static_cast<uint32_t>(opts().max_header_bytes));
		head_->body_limit(boost::none); // the router compares Content-Length with the route's limit
		stream_.expires_after(std::chrono::milliseconds(opts().head_timeout_ms));
		bhttp::async_read_header(stream_, buffer_, *head_,
								 [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHead(ec); });
	}

	void OnHead(beast::error_code ec) {
		if (ec && LogEnabled(LogLevel::kDebug))
			Log(LogLevel::kDebug, "http: reading a request head failed", {{"remote", remote_}, {"error", ec.message()}});
		if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
			ec == net::error::operation_aborted)
			return Close();
		if (ec == beast::error::timeout) {
			ClosedSlow().With({"head"}).Inc();
			return Close();
		}
		req_.request_id = GenerateRequestId();
		if (ec == bhttp::error::header_limit)
			return AnswerAndClose(431, "request head larger than " + std::to_string(opts().max_header_bytes) + " bytes");
		if (ec)
			return AnswerAndClose(400, std::string("malformed request: ") + ec.message());
		const auto &h = head_->get();
		keep_alive_ = h.keep_alive();
		req_.method = std::string(h.method_string());
		req_.target = std::string(h.target());
		for (const auto &field : h)
			req_.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
		req_.request_id = ChooseRequestId(req_.Header("X-Request-Id"));
		const std::string *upgrade = req_.Header("Upgrade");
		req_.websocket = req_.method == "GET" && upgrade && EqualsIgnoreCase(*upgrade, "websocket");
		if (!ParseTarget(req_.target, &req_.path, &req_.query))
			return AnswerAndClose(400, "malformed request target");
		const std::string *expect = req_.Header("Expect");
		if (expect && !EqualsIgnoreCase(*expect, "100-continue"))
			return AnswerAndClose(417, "unsupported Expect: " + *expect);
		prep_ = server_->router->Prepare(&req_);
		if (prep_.answer_now) {
			// A small body already on its way is read and dropped so that the connection stays
			// usable; a body the client has not sent yet (Expect) or a large one: close after the answer.
			auto length = head_->content_length();
			if (!head_->is_done() && !expect && length && *length <= kMaxDiscardedBody) {
				discard_ = true;
				prep_.max_body = kMaxDiscardedBody;
				return ReadBody();
			}
			close_after_ = !head_->is_done();
			return Finish(std::move(prep_.response));
		}
		if (head_->is_done())
			return Dispatch();
		if (expect) {
			net::async_write(stream_, net::buffer(kContinue), [self = shared_from_this()](beast::error_code wec, size_t) {
				if (wec)
					return self->Close();
				self->ReadBody();
			});
			return;
		}
		ReadBody();
	}

	void ReadBody() {
		if (!body_) {
			body_.emplace(std::move(*head_));
			body_->body_limit(prep_.max_body);
		}
		// A timer of our own instead of the stream's expiry (which closes the socket): after a
		// stalled body the client still gets its 408.
		stream_.expires_never();
		body_timed_out_ = false;
		Watch(Phase::kBody, opts().body_timeout_ms);
		bhttp::async_read_some(stream_, buffer_, *body_,
							   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
	}

	void OnBody(beast::error_code ec) {
		phase_ = Phase::kNone;
		if (body_timed_out_)
			ec = beast::error::timeout;
		if (ec == bhttp::error::body_limit || ec == bhttp::error::buffer_overflow) {
			body_.reset();
			discard_ = false;
			return AnswerAndClose(413, "the body exceeds " + std::to_string(prep_.max_body) + " bytes");
		}
		if (ec == beast::error::timeout) {
			ClosedSlow().With({"body"}).Inc();
			body_.reset();
			discard_ = false;
			return AnswerAndClose(408, "the request body stalled");
		}
		if (ec) {
			body_.reset();
			return Close();
		}
		if (!body_->is_done())
			return ReadBody();
		std::string raw = std::move(body_->get().body());
		body_.reset();
		if (discard_) {
			discard_ = false;
			return Finish(std::move(prep_.response));
		}
		if (prep_.gzip) {
			switch (Gunzip(raw, prep_.max_body, &req_.body)) {
			case InflateResult::kOk:
				break;
			case InflateResult::kTooLarge:
				return AnswerAndClose(413, "the inflated body exceeds " + std::to_string(prep_.max_body) + " bytes",
									  false);
			case InflateResult::kBadData:
				return AnswerAndClose(400, "the body is not valid gzip", false);
			}
		} else {
			req_.body = std::move(raw);
		}
		Dispatch();
	}

	void Dispatch() {
		if (req_.websocket && head_)
			upgrade_ = head_->release();
		head_.reset();
		uint64_t seq = ++seq_;
		// The reply (and the reply timer) hold the session: nothing else does while the handler works.
		auto self = shared_from_this();
		auto executor = stream_.get_executor();
		reply_deadline_ = Clock::now() + std::chrono::milliseconds(opts().request_timeout_ms);
		replied_ = false;
		ArmReplyTimer();
		// The handler gets the request; the session keeps what the response and the log need.
		Request handed = std::move(req_);
		req_ = Request{};
		req_.method = handed.method;
		req_.route = handed.route;
		req_.request_id = handed.request_id;
		req_.remote_addr = handed.remote_addr;
		req_.key_id = handed.key_id;
		req_.websocket = handed.websocket;
		if (prep_.cors)
			if (const std::string *origin = handed.Header("Origin"))
				req_.headers.emplace_back("Origin", *origin);
		auto once = std::make_shared<std::atomic<bool>>(false);
		server_->router->Dispatch(std::move(handed), [self, seq, executor, once](Response r) {
			if (once->exchange(true))
				return;
			auto task = [self, seq, r = std::move(r)]() mutable { self->Answer(seq, std::move(r)); };
			PostReply(&executor.context(), PostToContext, std::move(task));
		});
	}

	// The idle and body-progress deadlines without a timer operation per request: wait_timer_
	// is armed when a phase starts and none is armed, for the phase's deadline but at most the
	// shorter of the two timeouts ahead, so it never fires after a deadline set later. When it
	// fires, a phase past its deadline cancels the socket's read (kBody: answered 408), an
	// earlier one re-arms, and with no phase it stays unarmed.
	enum class Phase { kNone, kIdle, kBody };
	void Watch(Phase phase, int64_t ms) {
		phase_ = phase;
		phase_deadline_ = Clock::now() + std::chrono::milliseconds(ms);
		if (!wait_timer_armed_)
			ArmWaitTimer();
	}
	void ArmWaitTimer() {
		wait_timer_armed_ = true;
		auto tick = std::chrono::milliseconds(std::min(opts().idle_timeout_ms, opts().body_timeout_ms));
		wait_timer_.expires_at(std::min(phase_deadline_, Clock::now() + tick));
		wait_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
			self->wait_timer_armed_ = false;
			if (ec || self->phase_ == Phase::kNone || self->closed_)
				return;
			if (Clock::now() < self->phase_deadline_)
				return self->ArmWaitTimer();
			if (self->phase_ == Phase::kBody)
				self->body_timed_out_ = true;
			beast::error_code ignored;
			self->stream_.socket().cancel(ignored);
		});
	}

	// The reply deadline without a timer operation per request: the timer is armed when a
	// handler starts and none is armed; when it fires it answers 503 if the handler in flight is
	// past reply_deadline_, re-arms for a later deadline, and stays unarmed when nothing waits.
	// Finish does not cancel it (a cancel per request costs a completion and a reactor wake-up).
	void ArmReplyTimer() {
		if (reply_timer_armed_)
			return;
		reply_timer_armed_ = true;
		reply_timer_.expires_at(reply_deadline_);
		reply_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
			self->reply_timer_armed_ = false;
			if (ec || self->replied_ || self->closed_)
				return;
			if (Clock::now() < self->reply_deadline_)
				return self->ArmReplyTimer();
			Log(LogLevel::kWarn, "http: handler did not reply in time",
				{{"route", self->req_.route}, {"request_id", self->req_.request_id}});
			self->Finish(ErrorResponse(503, "unavailable", "the request timed out", self->req_.request_id));
		});
	}

	// An error found by the server itself (before or instead of the router).
	void AnswerAndClose(int status, std::string message, bool close = true) {
		close_after_ = close_after_ || close;
		Finish(ErrorResponse(status, CodeForStatus(status), message, req_.request_id));
	}

	void Finish(Response r) {
		replied_ = true;
		if (prep_.cors)
			server_->router->AddCorsHeaders(req_, &r);
		if (r.stream && r.status == 200 && req_.method == "GET")
			return HandOver(std::move(r));
		// The head written by hand (Beast's serializer builds a field list per response): status
		// line, Content-Type, X-Request-Id, the handler's headers, Cache-Control, Connection,
		// Content-Length; always HTTP/1.1, so keep-alive is the default and only "close" is said.
		bool keep = keep_alive_ && !close_after_ && !r.close && !server_->stopping.load();
		// The session writes one response at a time: its head buffer is reused.
		std::string &head = out_head_;
		head.assign("HTTP/1.1 ");
		head += std::to_string(r.status);
		head += ' ';
		head += ReasonPhrase(r.status);
		head += "\r\n";
		auto field = [&head](std::string_view name, std::string_view value) {
			head.append(name).append(": ").append(value).append("\r\n");
		};
		if (!r.content_type.empty())
			field("Content-Type", r.content_type);
		field("X-Request-Id", req_.request_id);
		bool cache_control = false;
		for (auto &[name, value] : r.headers) {
			cache_control = cache_control || EqualsIgnoreCase(name, "Cache-Control");
			field(name, value);
		}
		if (!cache_control)
			field("Cache-Control", "no-store");
		if (!keep)
			field("Connection", "close");
		if (req_.method == "HEAD" || (r.status != 204 && r.status != 304))
			field("Content-Length", std::to_string(r.body.size()));
		head += "\r\n";
		out_body_.clear();
		if (req_.method != "HEAD" && r.status != 204 && r.status != 304)
			out_body_ = std::move(r.body);
		RecordRequest(req_, r.status, std::chrono::duration<double>(Clock::now() - start_).count());
		head_.reset();
		stream_.expires_after(std::chrono::milliseconds(opts().request_timeout_ms));
		std::array<net::const_buffer, 2> buffers{net::buffer(out_head_), net::buffer(out_body_)};
		net::async_write(stream_, buffers, [self = shared_from_this(), keep](beast::error_code ec, size_t) {
			self->out_body_ = std::string(); // not kept by an idle connection
			if (ec == beast::error::timeout)
				ClosedSlow().With({"write"}).Inc();
			if (ec)
				return self->Close();
			if (!keep)
				return self->Linger();
			self->WaitRequest();
		});
	}

	// The connection becomes an SSE or WebSocket stream session; this session ends here.
	void HandOver(Response r) {
		// Both timers hold a reference to this session; a handed-over session must not live on
		// until the reply deadline.
		wait_timer_.cancel();
		reply_timer_.cancel();
		stream_.expires_never();
		bool ws = req_.websocket;
		RecordRequest(req_, ws ? 101 : 200, std::chrono::duration<double>(Clock::now() - start_).count());
		if (ws)
			StartWebSocket(std::move(stream_), std::move(upgrade_), std::move(r), req_.request_id, &server_->connections);
		else
			StartSse(std::move(stream_), std::move(r), req_.request_id, &server_->connections);
		handed_over_ = true;
	}

	// After the last response: shut down our side, then read (and drop) what the client still
	// sends for a moment, so that unread data does not turn the close into a reset that destroys
	// the response before the client reads it.
	void Linger() {
		beast::error_code ec;
		stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
		if (ec)
			return Close();
		linger_ = std::make_unique<char[]>(4096);
		LingerRead(0);
	}

	void LingerRead(size_t total) {
		stream_.expires_after(std::chrono::seconds(2));
		stream_.async_read_some(net::buffer(linger_.get(), 4096),
								[self = shared_from_this(), total](beast::error_code ec, size_t n) {
									if (ec || total + n > (8u << 20))
										return self->Close();
									self->LingerRead(total + n);
								});
	}

	void Close() {
		if (handed_over_)
			return;
		closed_ = true;
		beast::error_code ec;
		wait_timer_.cancel();
		reply_timer_.cancel();
		stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
		stream_.socket().close(ec);
	}

	beast::tcp_stream stream_;
	net::steady_timer wait_timer_; // idle wait for a request, then body progress
	net::steady_timer reply_timer_;
	beast::flat_buffer buffer_;
	Server::Impl *server_;
	std::string remote_;
	std::optional<bhttp::request_parser<bhttp::empty_body>> head_;
	std::optional<bhttp::request_parser<bhttp::string_body>> body_;
	bhttp::request<bhttp::empty_body> upgrade_; // head of a WebSocket upgrade request
	std::unique_ptr<char[]> linger_;
	std::string out_head_, out_body_; // the response being written
	Request req_;
	Prepared prep_;
	Clock::time_point start_;
	Clock::time_point reply_deadline_;
	uint64_t seq_ = 0;
	bool replied_ = false;
	bool reply_timer_armed_ = false;
	bool wait_timer_armed_ = false;
	Phase phase_ = Phase::kNone;
	Clock::time_point phase_deadline_;
	bool closed_ = false;
	bool close_after_ = false;
	bool keep_alive_ = false;
	bool body_timed_out_ = false;
	bool handed_over_ = false; // stream_ moved to a stream session
	bool discard_ = false; // reading a body only to drop it (the answer is prep_.response)
};

void Server::Impl::Accept() {
	acceptor->async_accept(NextContext(), [this](beast::error_code ec, tcp::socket socket) {
		if (stopping.load())
			return;
		if (ec) {
			if (ec == net::error::operation_aborted)
				return;
			// Out of file descriptors and the like: pause instead of spinning.
			Log(LogLevel::kWarn, "http: accept failed", {{"error", ec.message()}});
			auto timer = std::make_shared<net::steady_timer>(*contexts[0], std::chrono::milliseconds(100));
			timer->async_wait([this, timer](beast::error_code) { Accept(); });
			return;
		}
		// No Nagle: a response is written whole (one gathered write), and its last partial
		// segment must not wait for the ACK of the ones before it, which a client's delayed ACK
		// holds back up to 40 ms (the tail of a large query page on a quiet connection).
		beast::error_code nodelay_ec;
		socket.set_option(tcp::no_delay(true), nodelay_ec);
		if (connections.load() >= options.max_connections) {
			RejectedConnections().Inc();
			auto sock = std::make_shared<tcp::socket>(std::move(socket));
			static const std::string kBusy = [] {
				Response r = ErrorResponse(503, "unavailable", "too many connections", "connection-cap");
				return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
					   "Connection: close\r\nContent-Length: " +
					   std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
			}();
			net::async_write(*sock, net::buffer(kBusy), [sock](beast::error_code, size_t) {
				beast::error_code ignored;
				sock->shutdown(tcp::socket::shutdown_both, ignored);
				sock->close(ignored);
			});
		} else {
			std::make_shared<Session>(std::move(socket), this)->Start();
		}
		Accept();
	});
}

Server::Server(Options options, const Router *router) : impl_(std::make_unique<Impl>(std::move(options), router)) {}

Server::~Server() { Stop(); }

int Server::Port() const { return impl_->port; }

bool Server::Start(std::string *error) {
	Impl &s = *impl_;
	beast::error_code ec;
	tcp::resolver resolver(*s.contexts[0]);
	auto results = resolver.resolve(s.options.host, std::to_string(s.options.port),
									tcp::resolver::passive | tcp::resolver::numeric_service, ec);
	const std::string where = "http-addr " + s.options.host + ":" + std::to_string(s.options.port);
	if (ec) {
		*error = where + ": " + ec.message();
		return false;
	}
	for (const auto &entry : results) {
		ec.clear();
		s.acceptor->open(entry.endpoint().protocol(), ec);
		if (!ec)
			s.acceptor->set_option(net::socket_base::reuse_address(true), ec);
		if (!ec)
			s.acceptor->bind(entry.endpoint(), ec);
		if (!ec)
			s.acceptor->listen(net::socket_base::max_listen_connections, ec);
		if (!ec)
			break;
		beast::error_code ignored;
		s.acceptor->close(ignored);
	}
	if (ec || !s.acceptor->is_open()) {
		*error = where + ": " + (ec ? ec.message() : std::string("cannot bind"));
		return false;
	}
	s.port = s.acceptor->local_endpoint().port();
	s.Accept();
	for (auto &context : s.contexts)
		s.threads.emplace_back([&s, ioc = context.get()] {
			for (;;) {
				try {
					ioc->run();
					return;
				} catch (const std::exception &e) {
					Log(LogLevel::kError, "http: I/O thread caught an exception", {{"error", e.what()}});
				}
			}
		});
	s.started = true;
	return true;
}

void Server::Stop() {
	Impl &s = *impl_;
	if (!s.started)
		return;
	s.started = false;
	s.stopping.store(true);
	net::post(*s.contexts[0], [&s] {
		beast::error_code ignored;
		s.acceptor->close(ignored);
	});
	for (auto &context : s.contexts)
		context->stop();
	for (auto &t : s.threads)
		t.join();
	s.threads.clear();
}

} // namespace event::sidecar::http
