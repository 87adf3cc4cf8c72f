// request.cpp — header/query lookup, request-id rules and target parsing (see request.hpp).
#include "http/request.hpp"

#include <random>

namespace event::sidecar::http {

namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int HexValue(char c) {
	if (c >= '0' && c <= '9')
		return c - '0';
	c = Lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

} // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); ++i)
		if (Lower(a[i]) != Lower(b[i]))
			return false;
	return true;
}

const std::string *Request::Header(std::string_view name) const {
	for (const auto &h : headers)
		if (EqualsIgnoreCase(h.first, name))
			return &h.second;
	return nullptr;
}

const std::string *Request::Query(std::string_view name) const {
	for (const auto &q : query)
		if (q.first == name)
			return &q.second;
	return nullptr;
}

bool IsSaneRequestId(std::string_view id) {
	if (id.empty() || id.size() > kMaxRequestIdLength)
		return false;
	for (unsigned char c : id)
		if (c < 0x21 || c > 0x7e)
			return false;
	return true;
}

std::string GenerateRequestId() {
	thread_local std::mt19937_64 rng{std::random_device{}()};
	static const char kHex[] = "0123456789abcdef";
	std::string out(32, '0');
	uint64_t a = rng(), b = rng();
	for (int i = 0; i < 16; ++i) {
		out[i] = kHex[(a >> (i * 4)) & 0xf];
		out[16 + i] = kHex[(b >> (i * 4)) & 0xf];
	}
	return out;
}

std::string ChooseRequestId(const std::string *client_id) {
	if (client_id && IsSaneRequestId(*client_id))
		return *client_id;
	return GenerateRequestId();
}

bool PercentDecode(std::string_view text, bool plus_is_space, std::string *out) {
	out->clear();
	out->reserve(text.size());
	for (size_t i = 0; i < text.size(); ++i) {
		char c = text[i];
		if (c == '%') {
			if (i + 2 >= text.size())
				return false;
			int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = static_cast<char>(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (c == '\0')
			return false;
		out->push_back(c);
	}
	return true;
}

bool ParseTarget(std::string_view target, std::string *path, std::vector<std::pair<std::string, std::string>> *query) {
	if (target.empty() || target[0] != '/')
		return false;
	size_t q = target.find('?');
	std::string_view raw_path = target.substr(0, q);
	size_t hash = raw_path.find('#');
	if (hash != std::string_view::npos)
		return false;
	if (!PercentDecode(raw_path, false, path))
		return false;
	query->clear();
	if (q == std::string_view::npos)
		return true;
	std::string_view rest = target.substr(q + 1);
	size_t hash_q = rest.find('#');
	if (hash_q != std::string_view::npos)
		rest = rest.substr(0, hash_q);
	size_t start = 0;
	while (start <= rest.size()) {
		size_t amp = rest.find('&', start);
		std::string_view item = rest.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
		if (!item.empty()) {
			size_t eq = item.find('=');
			std::string key, value;
			if (!PercentDecode(item.substr(0, eq), true, &key))
				return false;
			if (eq != std::string_view::npos && !PercentDecode(item.substr(eq + 1), true, &value))
				return false;
			query->emplace_back(std::move(key), std::move(value));
		}
		if (amp == std::string_view::npos)
			break;
		start = amp + 1;
	}
	return true;
}

} // namespace event::sidecar::http
