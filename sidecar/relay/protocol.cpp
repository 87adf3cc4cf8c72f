// protocol.cpp — encode/decode of the replication CopyBoth messages and LSN text.
#include "relay/protocol.hpp"

#include <chrono>
#include <cstdio>

namespace event::sidecar::relay {

namespace {
// Seconds between 1970-01-01 and 2000-01-01.
constexpr int64_t kPgEpochOffsetSecs = 946684800;
} // namespace

uint64_t ReadBe64(const char *p) {
	uint64_t v = 0;
	for (int i = 0; i < 8; ++i)
		v = (v << 8) | static_cast<unsigned char>(p[i]);
	return v;
}

void WriteBe64(char *p, uint64_t v) {
	for (int i = 7; i >= 0; --i) {
		p[i] = static_cast<char>(v & 0xff);
		v >>= 8;
	}
}

CopyMessage ParseCopyMessage(const char *buf, size_t len) {
	CopyMessage m;
	if (len < 1)
		return m;
	if (buf[0] == 'w') {
		if (len < 25)
			return m;
		m.kind = CopyMessageKind::kXLogData;
		m.xlog.data_start = ReadBe64(buf + 1);
		m.xlog.wal_end = ReadBe64(buf + 9);
		m.xlog.send_time = static_cast<int64_t>(ReadBe64(buf + 17));
		m.xlog.payload = std::string_view(buf + 25, len - 25);
		return m;
	}
	if (buf[0] == 'k') {
		if (len < 18)
			return m;
		m.kind = CopyMessageKind::kKeepalive;
		m.keepalive.wal_end = ReadBe64(buf + 1);
		m.keepalive.send_time = static_cast<int64_t>(ReadBe64(buf + 9));
		m.keepalive.reply_requested = buf[17] != 0;
		return m;
	}
	m.kind = CopyMessageKind::kUnknown;
	return m;
}

std::string BuildStandbyStatus(Lsn write, Lsn flush, Lsn apply, int64_t send_time, bool reply_requested) {
	std::string out(34, '\0');
	out[0] = 'r';
	WriteBe64(&out[1], write);
	WriteBe64(&out[9], flush);
	WriteBe64(&out[17], apply);
	WriteBe64(&out[25], static_cast<uint64_t>(send_time));
	out[33] = reply_requested ? 1 : 0;
	return out;
}

int64_t PgNowMicros() {
	auto us = std::chrono::duration_cast<std::chrono::microseconds>(
				  std::chrono::system_clock::now().time_since_epoch())
				  .count();
	return us - kPgEpochOffsetSecs * 1000000;
}

bool ParseLsn(std::string_view text, Lsn *lsn) {
	size_t slash = text.find('/');
	if (slash == std::string_view::npos || slash == 0 || slash > 8 || text.size() - slash - 1 == 0 ||
		text.size() - slash - 1 > 8)
		return false;
	auto hex = [](std::string_view s, uint64_t *out) {
		uint64_t v = 0;
		for (char c : s) {
			int d;
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else
				return false;
			v = (v << 4) | static_cast<uint64_t>(d);
		}
		*out = v;
		return true;
	};
	uint64_t hi = 0, lo = 0;
	if (!hex(text.substr(0, slash), &hi) || !hex(text.substr(slash + 1), &lo))
		return false;
	*lsn = (hi << 32) | lo;
	return true;
}

std::string FormatLsn(Lsn lsn) {
	char buf[32];
	std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32), static_cast<unsigned>(lsn & 0xffffffffu));
	return buf;
}

} // namespace event::sidecar::relay
