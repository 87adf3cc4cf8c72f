// sidecar_protocol_test.cpp — replication message byte layouts (big-endian) and LSN text.
#include <gtest/gtest.h>

#include <string>

#include "relay/protocol.hpp"

using namespace event::sidecar::relay;

namespace {
std::string Be64(uint64_t v) {
	std::string s(8, '\0');
	for (int i = 7; i >= 0; --i) {
		s[i] = static_cast<char>(v & 0xff);
		v >>= 8;
	}
	return s;
}
} // namespace

TEST(SidecarProtocol, Be64RoundTrip) {
	char buf[8];
	WriteBe64(buf, 0x0102030405060708ull);
	EXPECT_EQ(static_cast<unsigned char>(buf[0]), 0x01);
	EXPECT_EQ(static_cast<unsigned char>(buf[7]), 0x08);
	EXPECT_EQ(ReadBe64(buf), 0x0102030405060708ull);
	WriteBe64(buf, ~0ull);
	EXPECT_EQ(ReadBe64(buf), ~0ull);
}

TEST(SidecarProtocol, ParsesXLogData) {
	std::string msg = "w" + Be64(0x16B3748) + Be64(0x16B3800) + Be64(12345) + "{\"a\":1}";
	CopyMessage m = ParseCopyMessage(msg.data(), msg.size());
	ASSERT_EQ(m.kind, CopyMessageKind::kXLogData);
	EXPECT_EQ(m.xlog.data_start, 0x16B3748u);
	EXPECT_EQ(m.xlog.wal_end, 0x16B3800u);
	EXPECT_EQ(m.xlog.send_time, 12345);
	EXPECT_EQ(m.xlog.payload, "{\"a\":1}");
}

TEST(SidecarProtocol, XLogDataWithEmptyPayload) {
	std::string msg = "w" + Be64(1) + Be64(2) + Be64(3);
	CopyMessage m = ParseCopyMessage(msg.data(), msg.size());
	ASSERT_EQ(m.kind, CopyMessageKind::kXLogData);
	EXPECT_TRUE(m.xlog.payload.empty());
}

TEST(SidecarProtocol, ParsesKeepalive) {
	std::string msg = "k" + Be64(0xAB00000010ull) + Be64(777) + std::string(1, '\1');
	CopyMessage m = ParseCopyMessage(msg.data(), msg.size());
	ASSERT_EQ(m.kind, CopyMessageKind::kKeepalive);
	EXPECT_EQ(m.keepalive.wal_end, 0xAB00000010ull);
	EXPECT_EQ(m.keepalive.send_time, 777);
	EXPECT_TRUE(m.keepalive.reply_requested);
	msg.back() = '\0';
	EXPECT_FALSE(ParseCopyMessage(msg.data(), msg.size()).keepalive.reply_requested);
}

TEST(SidecarProtocol, RejectsShortMessages) {
	std::string w = "w" + Be64(1) + Be64(2) + "1234567"; // 24 bytes
	EXPECT_EQ(ParseCopyMessage(w.data(), w.size()).kind, CopyMessageKind::kMalformed);
	std::string k = "k" + Be64(1) + Be64(2); // 17 bytes
	EXPECT_EQ(ParseCopyMessage(k.data(), k.size()).kind, CopyMessageKind::kMalformed);
	EXPECT_EQ(ParseCopyMessage("", 0).kind, CopyMessageKind::kMalformed);
	EXPECT_EQ(ParseCopyMessage("x", 1).kind, CopyMessageKind::kUnknown);
}

TEST(SidecarProtocol, BuildsStandbyStatus) {
	std::string s = BuildStandbyStatus(0x30, 0x20, 0x10, 0x0102, true);
	ASSERT_EQ(s.size(), 34u);
	EXPECT_EQ(s[0], 'r');
	EXPECT_EQ(s.substr(1, 8), Be64(0x30));
	EXPECT_EQ(s.substr(9, 8), Be64(0x20));
	EXPECT_EQ(s.substr(17, 8), Be64(0x10));
	EXPECT_EQ(s.substr(25, 8), Be64(0x0102));
	EXPECT_EQ(s[33], 1);
	EXPECT_EQ(BuildStandbyStatus(0, 0, 0, 0, false)[33], 0);
}

TEST(SidecarProtocol, PgEpochTime) {
	// 2020-01-01 is 631152000 s after 2000-01-01; now is later than that.
	EXPECT_GT(PgNowMicros(), 631152000LL * 1000000);
}

TEST(SidecarProtocol, LsnText) {
	Lsn l = 0;
	ASSERT_TRUE(ParseLsn("0/16B3748", &l));
	EXPECT_EQ(l, 0x16B3748u);
	ASSERT_TRUE(ParseLsn("16/B374D848", &l));
	EXPECT_EQ(l, 0x16B374D848ull);
	ASSERT_TRUE(ParseLsn("ffffffff/FFFFFFFF", &l));
	EXPECT_EQ(l, ~0ull);
	EXPECT_EQ(FormatLsn(0x16B374D848ull), "16/B374D848");
	EXPECT_EQ(FormatLsn(0), "0/0");
	for (const char *bad : {"", "/", "0/", "/1", "0x1/2", "1/2/3", "g/1", "123456789/1", "1/123456789", "1 /2"})
		EXPECT_FALSE(ParseLsn(bad, &l)) << bad;
}
