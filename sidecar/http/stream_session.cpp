// stream_session.cpp — the SSE and WebSocket stream sessions (see stream.hpp, stream_session.hpp).
//
// Both share one bounded queue: Send appends from any thread; the session's strand writes one
// message at a time. When the unsent backlog would pass the response's stream_buffer, the queue is
// dropped and the stream closed with "slow reader" (WebSocket code 1008): memory stays bounded and
// the reader learns why. Reading continues in the background only to notice a client that left
// (and, for WebSocket, to answer pings and the closing handshake).
#include "http/stream_session.hpp"

#include <boost/asio.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <mutex>

#include "log.hpp"

namespace event::sidecar::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr auto kWriteTimeout = std::chrono::seconds(30);
constexpr int kCloseNormal = 1000;
constexpr int kClosePolicy = 1008;

// Queue, strand pumping and close logic; Derived provides WriteMessage, WriteClose, Shutdown,
// StartReading.
template <typename Derived>
class QueuedStream : public Stream, public std::enable_shared_from_this<Derived> {
public:
	QueuedStream(net::any_io_executor executor, size_t limit, std::atomic<int64_t> *connections)
		: executor_(std::move(executor)), limit_(limit), connections_(connections) {
		connections_->fetch_add(1);
	}
	~QueuedStream() override { connections_->fetch_sub(1); }

	bool Send(std::string message) override {
		if (!open_.load())
			return false;
		bool overflow = false;
		{
			std::lock_guard<std::mutex> lock(mu_);
			if (closing_)
				return false;
			if (queued_ + message.size() > limit_) {
				overflow = true;
			} else {
				queued_ += message.size();
				queue_.push_back(std::move(message));
			}
		}
		if (overflow) {
			CloseWith(kClosePolicy, "slow reader: more than " + std::to_string(limit_) + " bytes unsent");
			return false;
		}
		net::post(executor_, [self = this->shared_from_this()] { self->Pump(); });
		return true;
	}

	void Close(std::string reason) override { CloseWith(kCloseNormal, std::move(reason)); }

	bool IsOpen() const override { return open_.load(); }

	void OnClose(std::function<void(const std::string &)> fn) override {
		std::unique_lock<std::mutex> lock(mu_);
		if (ended_) {
			std::string reason = close_reason_;
			lock.unlock();
			fn(reason);
			return;
		}
		on_close_ = std::move(fn);
	}

protected:
	// Queues a message that ignores the limit (the SSE head).
	void QueueFirst(std::string message) {
		std::lock_guard<std::mutex> lock(mu_);
		queue_.push_front(std::move(message));
	}

	void CloseWith(int code, std::string reason) {
		{
			std::lock_guard<std::mutex> lock(mu_);
			if (closing_)
				return;
			closing_ = true;
			close_code_ = code;
			close_reason_ = std::move(reason);
			if (code == kClosePolicy) {
				queue_.clear();
				queued_ = 0;
			}
		}
		net::post(executor_, [self = this->shared_from_this()] { self->Pump(); });
	}

	// On the strand: writes the next message, or the close once the queue is empty.
	void Pump() {
		if (finished_ || writing_)
			return;
		std::unique_lock<std::mutex> lock(mu_);
		if (!queue_.empty()) {
			current_ = std::move(queue_.front());
			queue_.pop_front();
			queued_ -= std::min(queued_, current_.size());
			lock.unlock();
			writing_ = true;
			derived().WriteMessage(current_, [s = this->shared_from_this()](beast::error_code ec) {
				s->writing_ = false;
				if (ec)
					return s->End("client gone: " + ec.message());
				s->Pump();
			});
			return;
		}
		if (!closing_)
			return;
		int code = close_code_;
		std::string reason = close_reason_;
		lock.unlock();
		writing_ = true;
		derived().WriteClose(code, reason, [s = this->shared_from_this(), reason](beast::error_code) {
			s->writing_ = false;
			s->End(reason);
		});
	}

	// On the strand: the stream is over; closes the socket and tells the owner once.
	void End(std::string reason) {
		if (finished_)
			return;
		finished_ = true;
		open_.store(false);
		derived().Shutdown();
		std::function<void(const std::string &)> fn;
		{
			std::lock_guard<std::mutex> lock(mu_);
			ended_ = true;
			closing_ = true;
			if (close_reason_.empty())
				close_reason_ = reason;
			reason = close_reason_;
			fn = std::move(on_close_);
			queue_.clear();
		}
		if (fn) {
			try {
				fn(reason);
			} catch (...) {
				Log(LogLevel::kError, "http: stream close callback threw");
			}
		}
	}

	Derived &derived() { return static_cast<Derived &>(*this); }

	net::any_io_executor executor_;

private:
	size_t limit_;
	std::atomic<int64_t> *connections_;
	std::atomic<bool> open_{true};
	std::mutex mu_; // guards the fields below up to ended_
	std::deque<std::string> queue_;
	size_t queued_ = 0;
	bool closing_ = false;
	bool ended_ = false;
	int close_code_ = kCloseNormal;
	std::string close_reason_;
	std::function<void(const std::string &)> on_close_;
	// Strand-only state.
	std::string current_;
	bool writing_ = false;
	bool finished_ = false;
};

class SseSession : public QueuedStream<SseSession> {
public:
	SseSession(beast::tcp_stream stream, size_t limit, std::atomic<int64_t> *connections)
		: QueuedStream(stream.get_executor(), limit, connections), stream_(std::move(stream)) {}

	void Begin(std::string head, StreamStart start) {
		QueueFirst(std::move(head));
		start(shared_from_this());
		StartReading();
		Pump();
	}

	bool IsWebSocket() const override { return false; }

	template <typename Handler>
	void WriteMessage(const std::string &message, Handler &&handler) {
		stream_.expires_after(kWriteTimeout);
		net::async_write(stream_, net::buffer(message),
						 [h = std::forward<Handler>(handler)](beast::error_code ec, size_t) mutable { h(ec); });
	}

	template <typename Handler>
	void WriteClose(int, const std::string &reason, Handler &&handler) {
		close_event_ = SseEvent(reason, {}, "close");
		WriteMessage(close_event_, std::forward<Handler>(handler));
	}

	void Shutdown() {
		beast::error_code ec;
		stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
		stream_.socket().close(ec);
	}

	// The raw socket (no stream deadline): a read only ends when the client leaves.
	void StartReading() {
		stream_.socket().async_read_some(net::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, size_t) {
			if (ec)
				return self->End(ec == net::error::eof ? "client closed" : "client gone: " + ec.message());
			self->StartReading();
		});
	}

private:
	beast::tcp_stream stream_;
	std::string close_event_;
	char scratch_[512];
};

class WsSession : public QueuedStream<WsSession> {
public:
	WsSession(beast::tcp_stream stream, size_t limit, std::atomic<int64_t> *connections)
		: QueuedStream(stream.get_executor(), limit, connections), ws_(std::move(stream)) {}

	void Begin(bhttp::request<bhttp::empty_body> upgrade, std::string request_id, StreamStart start) {
		beast::get_lowest_layer(ws_).expires_never();
		auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
		timeouts.idle_timeout = std::chrono::seconds(60);
		timeouts.keep_alive_pings = true;
		ws_.set_option(timeouts);
		ws_.set_option(websocket::stream_base::decorator([request_id](websocket::response_type &res) {
			res.set("X-Request-Id", request_id);
		}));
		upgrade_ = std::move(upgrade);
		ws_.async_accept(upgrade_, [self = shared_from_this(), start = std::move(start)](beast::error_code ec) {
			if (ec)
				return self->End("websocket handshake failed: " + ec.message());
			start(self);
			self->StartReading();
			self->Pump();
		});
	}

	bool IsWebSocket() const override { return true; }

	template <typename Handler>
	void WriteMessage(const std::string &message, Handler &&handler) {
		ws_.text(true);
		ws_.async_write(net::buffer(message),
						[h = std::forward<Handler>(handler)](beast::error_code ec, size_t) mutable { h(ec); });
	}

	template <typename Handler>
	void WriteClose(int code, const std::string &reason, Handler &&handler) {
		websocket::close_reason cr(static_cast<websocket::close_code>(code));
		cr.reason = reason.substr(0, 123); // a close frame carries at most 123 bytes of reason
		ws_.async_close(cr, std::forward<Handler>(handler));
	}

	void Shutdown() {
		beast::error_code ec;
		beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
		beast::get_lowest_layer(ws_).socket().close(ec);
	}

	// Incoming messages are not used (filters come in the URL); reading answers pings and the
	// client's close.
	void StartReading() {
		ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, size_t) {
			if (ec)
				return self->End(ec == websocket::error::closed ? "client closed" : "client gone: " + ec.message());
			self->in_.consume(self->in_.size());
			self->StartReading();
		});
	}

private:
	websocket::stream<beast::tcp_stream> ws_;
	bhttp::request<bhttp::empty_body> upgrade_;
	beast::flat_buffer in_;
};

} // namespace

void StartSse(beast::tcp_stream stream, Response r, const std::string &request_id, std::atomic<int64_t> *connections) {
	std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
					   "X-Accel-Buffering: no\r\nConnection: close\r\nX-Request-Id: " +
					   request_id + "\r\n";
	for (const auto &[name, value] : r.headers)
		head += name + ": " + value + "\r\n";
	head += "\r\n";
	auto session = std::make_shared<SseSession>(std::move(stream), r.stream_buffer, connections);
	session->Begin(std::move(head), std::move(r.stream));
}

void StartWebSocket(beast::tcp_stream stream, bhttp::request<bhttp::empty_body> upgrade, Response r,
					const std::string &request_id, std::atomic<int64_t> *connections) {
	auto session = std::make_shared<WsSession>(std::move(stream), r.stream_buffer, connections);
	session->Begin(std::move(upgrade), request_id, std::move(r.stream));
}

} // namespace event::sidecar::http
