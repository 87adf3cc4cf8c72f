// server.hpp — the HTTP/1.1 server of the sidecar (Boost.Beast/Asio, included only by server.cpp):
// keep-alive, pipelining (answers in request order), chunked bodies, Expect: 100-continue,
// gzip request bodies, head/body/idle deadlines and a connection cap, on N I/O threads.
//
//   http::Router router;
//   router.Add("GET", "/health", handler);
//   http::Server server(options, &router);   // router must outlive the server
//   if (!server.Start(&error)) ...           // binds, starts the I/O threads
//   server.Stop();                           // closes the listener and every connection, joins
#pragma once

#include <memory>
#include <string>

#include "http/options.hpp"
#include "http/router.hpp"

namespace event::sidecar::http {

class Server {
public:
	Server(Options options, const Router *router);
	~Server();
	Server(const Server &) = delete;
	Server &operator=(const Server &) = delete;

	// Binds host:port and starts the I/O threads; false with a one-line error (port in use, bad host).
	bool Start(std::string *error);
	// Stops accepting, closes every connection and joins the threads. Idempotent.
	void Stop();
	// The bound port (useful with port 0).
	int Port() const;

	class Impl;

private:
	std::unique_ptr<Impl> impl_;
};

} // namespace event::sidecar::http
