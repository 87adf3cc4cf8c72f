// sidecar_signing_test.cpp — webhook signatures (sidecar/delivery/signing.hpp): RFC 4231 HMAC
// vector, the Standard Webhooks example signature, base64 round trips, both secrets signed.
#include <gtest/gtest.h>

#include "delivery/signing.hpp"

using namespace event::sidecar::delivery;

TEST(Signing, HmacSha256Rfc4231Case2) {
	EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
	          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Signing, StandardWebhooksExample) {
	// The example of the Standard Webhooks specification.
	Signatures s = Sign({"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
	                    "{\"test\": 2432232314}");
	EXPECT_EQ(s.webhook_signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	EXPECT_EQ(s.event_signature.substr(0, 14), "t=1614265330,v");
}

TEST(Signing, BothSecretsDuringRotation) {
	Signatures s = Sign({"new-secret-0123456", "old-secret-0123456"}, "d1", 10, "{}");
	EXPECT_EQ(s.event_signature, "t=10,v1=" + Hex(HmacSha256("new-secret-0123456", "10.{}")) +
	                                 ",v1=" + Hex(HmacSha256("old-secret-0123456", "10.{}")));
	EXPECT_EQ(s.webhook_signature, "v1," + Base64(HmacSha256("new-secret-0123456", "d1.10.{}")) + " v1," +
	                                   Base64(HmacSha256("old-secret-0123456", "d1.10.{}")));
}

TEST(Signing, Base64) {
	for (std::string v : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
		std::string back;
		if (v.empty())
			continue;
		ASSERT_TRUE(Base64Decode(Base64(v), &back)) << v;
		EXPECT_EQ(back, v);
	}
	EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
	std::string out;
	EXPECT_FALSE(Base64Decode("abc", &out));
	EXPECT_FALSE(Base64Decode("", &out));
	EXPECT_EQ(StandardWebhooksKey("plain-secret"), "plain-secret");
	EXPECT_EQ(StandardWebhooksKey("whsec_Zm9vYmFy"), "foobar");
	EXPECT_EQ(StandardWebhooksKey("whsec_not base64!"), "whsec_not base64!");
}
