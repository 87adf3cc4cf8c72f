// server.cpp — poll-based HTTP/1.1 responder (see server.hpp).
#include "http/server.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "log.hpp"

namespace event::sidecar::http {

namespace {

constexpr size_t kMaxHead = 8192;
constexpr size_t kMaxConnections = 64;
constexpr auto kDeadline = std::chrono::seconds(5);

struct Conn {
	int fd = -1;
	std::string in;
	std::string out;
	size_t sent = 0;
	bool responding = false;
	std::chrono::steady_clock::time_point deadline;
};

const char *Reason(int status) {
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

std::string Serialize(const Response &r) {
	std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + Reason(r.status) + "\r\n";
	out += "Content-Type: " + r.content_type + "\r\n";
	out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
	out += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
	out += r.body;
	return out;
}

Response Error(int status, const char *code, const char *message) {
	Response r;
	r.status = status;
	r.content_type = "application/json";
	r.body = std::string("{\"error\":{\"code\":\"") + code + "\",\"message\":\"" + message + "\"}}";
	return r;
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

} // namespace

bool ParseRequestLine(const std::string &head, std::string *method, std::string *path) {
	size_t eol = head.find("\r\n");
	std::string line = head.substr(0, eol);
	size_t sp1 = line.find(' ');
	if (sp1 == std::string::npos || sp1 == 0)
		return false;
	size_t sp2 = line.find(' ', sp1 + 1);
	if (sp2 == std::string::npos || sp2 == sp1 + 1)
		return false;
	if (line.compare(sp2 + 1, 5, "HTTP/") != 0)
		return false;
	*method = line.substr(0, sp1);
	std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
	size_t q = target.find('?');
	*path = target.substr(0, q);
	return !path->empty() && (*path)[0] == '/';
}

Server::Server(Handler handler) : handler_(std::move(handler)) {}

Server::~Server() { Stop(); }

bool Server::Start(const std::string &host, int port, std::string *error) {
	struct addrinfo hints {};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	struct addrinfo *res = nullptr;
	std::string port_text = std::to_string(port);
	int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res);
	if (rc != 0) {
		*error = "http-addr " + host + ": " + gai_strerror(rc);
		return false;
	}
	std::unique_ptr<struct addrinfo, void (*)(struct addrinfo *)> guard(res, freeaddrinfo);
	for (auto *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0) {
			listen_fd_ = fd;
			break;
		}
		*error = "http-addr " + host + ":" + port_text + ": " + std::strerror(errno);
		close(fd);
	}
	if (listen_fd_ < 0) {
		if (error->empty())
			*error = "http-addr " + host + ":" + port_text + ": cannot bind";
		return false;
	}
	SetNonBlocking(listen_fd_);
	if (pipe2(stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
		*error = std::string("pipe: ") + std::strerror(errno);
		return false;
	}
	port_ = port;
	thread_ = std::thread([this] { Run(); });
	return true;
}

void Server::Stop() {
	if (stop_pipe_[1] >= 0) {
		char c = 'x';
		ssize_t ignored = write(stop_pipe_[1], &c, 1);
		(void)ignored;
	}
	if (thread_.joinable())
		thread_.join();
	for (int &fd : {std::ref(listen_fd_), std::ref(stop_pipe_[0]), std::ref(stop_pipe_[1])}) {
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
}

void Server::Run() noexcept {
	std::vector<Conn> conns;
	try {
		for (;;) {
			std::vector<struct pollfd> fds;
			fds.push_back({stop_pipe_[0], POLLIN, 0});
			fds.push_back({listen_fd_, static_cast<short>(conns.size() < kMaxConnections ? POLLIN : 0), 0});
			for (auto &c : conns)
				fds.push_back({c.fd, static_cast<short>(c.responding ? POLLOUT : POLLIN), 0});
			if (poll(fds.data(), fds.size(), 500) < 0 && errno != EINTR)
				break;
			if (fds[0].revents & POLLIN)
				break;
			auto now = std::chrono::steady_clock::now();
			for (size_t i = 0; i < conns.size(); ++i) {
				Conn &c = conns[i];
				short rev = fds[i + 2].revents;
				bool done = false;
				if (!c.responding && (rev & (POLLIN | POLLHUP | POLLERR))) {
					char buf[2048];
					ssize_t n = recv(c.fd, buf, sizeof buf, 0);
					if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
						done = true;
					} else if (n > 0) {
						c.in.append(buf, static_cast<size_t>(n));
						Response r;
						bool complete = c.in.find("\r\n\r\n") != std::string::npos;
						if (!complete && c.in.size() > kMaxHead) {
							r = Error(431, "header_too_large", "request head too large");
							complete = true;
						} else if (complete) {
							std::string method, path;
							if (!ParseRequestLine(c.in, &method, &path))
								r = Error(400, "bad_request", "malformed request line");
							else {
								try {
									r = handler_(method, path);
								} catch (...) {
									r = Error(503, "unavailable", "handler failed");
								}
							}
						}
						if (complete) {
							c.out = Serialize(r);
							c.responding = true;
						}
					}
				} else if (c.responding && (rev & (POLLOUT | POLLERR | POLLHUP))) {
					ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
					if (n > 0)
						c.sent += static_cast<size_t>(n);
					if ((n < 0 && errno != EAGAIN && errno != EINTR) || c.sent == c.out.size())
						done = true;
				}
				if (now > c.deadline)
					done = true;
				if (done) {
					close(c.fd);
					c.fd = -1;
				}
			}
			conns.erase(std::remove_if(conns.begin(), conns.end(), [](const Conn &c) { return c.fd < 0; }),
						conns.end());
			if (fds[1].revents & POLLIN) {
				for (;;) {
					int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					if (conns.size() >= kMaxConnections) {
						close(fd);
						break;
					}
					Conn c;
					c.fd = fd;
					c.deadline = now + kDeadline;
					conns.push_back(std::move(c));
				}
			}
		}
	} catch (...) {
		Log(LogLevel::kError, "http: server thread stopped after an unexpected exception");
	}
	for (auto &c : conns)
		close(c.fd);
}

} // namespace event::sidecar::http
