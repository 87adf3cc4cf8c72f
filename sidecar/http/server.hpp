// server.hpp — minimal HTTP/1.1 responder for GET /health and GET /metrics.
//
// A stop-gap until the full API server (libwebsockets) lands: one thread, poll(2), non-blocking
// sockets, one request per connection (Connection: close), 8 KiB request-head limit and a 5 s
// deadline per connection, so a slow client cannot stall the others.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace event::sidecar::http {

struct Response {
	int status = 200;
	std::string content_type = "text/plain; charset=utf-8";
	std::string body;
};

// Handler: (method, path without query) -> response.
using Handler = std::function<Response(const std::string &method, const std::string &path)>;

class Server {
public:
	explicit Server(Handler handler);
	~Server();
	// Binds and starts the thread; false with error on failure (port in use, bad host).
	bool Start(const std::string &host, int port, std::string *error);
	void Stop();
	int Port() const { return port_; }

private:
	void Run() noexcept;

	Handler handler_;
	int listen_fd_ = -1;
	int stop_pipe_[2] = {-1, -1};
	int port_ = 0;
	std::thread thread_;
};

// Parses "GET /path?x HTTP/1.1" from a request head; false if malformed.
bool ParseRequestLine(const std::string &head, std::string *method, std::string *path);

} // namespace event::sidecar::http
