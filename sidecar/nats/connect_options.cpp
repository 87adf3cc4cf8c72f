// connect_options.cpp — credentials and TLS options shared by the sidecar's NATS connections.
#include "nats/connect_options.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string_view>

#include "nats/delayed_release.hpp"

namespace event::sidecar::nats {

std::string StatusText(natsStatus s) { return natsStatus_GetText(s); }

std::string LastErrorText() {
	const char *text = nats_GetLastError(nullptr);
	if (!text)
		return "";
	std::string_view t(text);
	if (!t.empty() && t.front() == '(') {
		size_t end = t.find("): ");
		if (end != std::string_view::npos)
			t.remove_prefix(end + 3);
	}
	return std::string(t);
}

bool ApplyAuthOptions(natsOptions *o, const Config &config, std::string *error) {
	Chain c;
	if (c.s == NATS_OK && !config.nats_user.empty())
		c.Do(natsOptions_SetUserInfo(o, config.nats_user.c_str(), config.nats_password.c_str()), "--nats-user");
	if (c.s == NATS_OK && !config.nats_token.empty())
		c.Do(natsOptions_SetToken(o, config.nats_token.c_str()), "--nats-token");
	if (c.s == NATS_OK && !config.nats_creds.empty()) {
		// nats.c reads the file only when connecting (and then retries silently): check the seed now.
		std::string jwt, seed, creds_error;
		if (!ReadNatsCreds(config.nats_creds, &jwt, &seed, &creds_error)) {
			*error = "--nats-creds: " + creds_error;
			return false;
		}
		unsigned char *sig = nullptr;
		int sig_len = 0;
		natsStatus signed_ok = nats_Sign(seed.c_str(), "event-sidecar", &sig, &sig_len);
		free(sig);
		std::fill(seed.begin(), seed.end(), '\0');
		if (signed_ok != NATS_OK) {
			std::string detail = LastErrorText();
			*error = "--nats-creds: the user nkey seed in \"" + config.nats_creds + "\" is invalid (" +
					 (detail.empty() ? StatusText(signed_ok) : detail) + ")";
			return false;
		}
		c.Do(natsOptions_SetUserCredentialsFromFiles(o, config.nats_creds.c_str(), nullptr), "--nats-creds");
	}
	// TLS is on with any --nats-tls-* flag or a tls:// URL. nats.c 3.4 does not treat tls:// as a
	// requirement by itself (it would follow a server that does not offer TLS into plain text).
	bool tls_url = config.nats_url.find("tls://") != std::string::npos;
	if (c.s == NATS_OK && tls_url)
		c.Do(natsOptions_SetSecure(o, true), "--nats-url (tls://)");
	if (c.s == NATS_OK && !config.nats_tls_ca.empty()) {
		c.Do(natsOptions_SetSecure(o, true), "--nats-tls-ca");
		c.Do(natsOptions_LoadCATrustedCertificates(o, config.nats_tls_ca.c_str()), "--nats-tls-ca");
	}
	if (c.s == NATS_OK && !config.nats_tls_cert.empty()) {
		c.Do(natsOptions_SetSecure(o, true), "--nats-tls-cert");
		c.Do(natsOptions_LoadCertificatesChain(o, config.nats_tls_cert.c_str(), config.nats_tls_key.c_str()),
			 "--nats-tls-cert/--nats-tls-key");
	}
	if (c.s != NATS_OK) {
		*error = ChainError(c);
		return false;
	}
	return true;
}

std::string ChainError(const Chain &c) {
	std::string detail = LastErrorText();
	return std::string(c.what) + ": " + StatusText(c.s) + (detail.empty() ? "" : " (" + detail + ")");
}

namespace {
void OnConnected(natsConnection *, void *) noexcept {}
} // namespace

bool ConnectInBackground(const Config &config, const char *name, const char *who, natsOptions **opts,
                         natsConnection **nc, jsCtx **js, std::string *error) {
	Chain c;
	c.Do(natsOptions_Create(opts), "nats options");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetURL(*opts, config.nats_url.c_str()), "--nats-url");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetName(*opts, name), "name");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetMaxReconnect(*opts, -1), "max reconnect");
	if (c.s == NATS_OK)
		// With a connected callback the first connect does not block (without one nats.c would
		// retry in the foreground forever while NATS is away or refuses the credentials).
		c.Do(natsOptions_SetRetryOnFailedConnect(*opts, true, &OnConnected, nullptr), "retry on failed connect");
	if (c.s != NATS_OK) {
		*error = ChainError(c);
		return false;
	}
	if (!ApplyAuthOptions(*opts, config, error))
		return false;
	natsStatus s = natsConnection_Connect(nc, *opts);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
		*error = std::string(who) + ": nats connect: " + StatusText(s);
		return false;
	}
	s = natsConnection_JetStream(js, *nc, nullptr);
	if (s != NATS_OK) {
		*error = std::string(who) + ": jetstream context: " + StatusText(s);
		return false;
	}
	return true;
}

void DestroyConnection(natsOptions **opts, natsConnection **nc, jsCtx **js) {
	if (*js)
		jsCtx_Destroy(*js);
	if (*nc) {
		natsConnection_Close(*nc);
		natsConnection_Destroy(*nc);
	}
	if (*opts)
		natsOptions_Destroy(*opts);
	*js = nullptr;
	*nc = nullptr;
	*opts = nullptr;
}

namespace {

// Five seconds: a reader that found the subscription before the unsubscribe is done with it
// within microseconds, or after a preemption within milliseconds.
// Never destroyed itself: a subscription still held at exit is not destroyed after nats.c closed.
DelayedRelease &RetiredSubscriptions() {
	static DelayedRelease *retired = new DelayedRelease(
		std::chrono::seconds(5), [](void *p) { natsSubscription_Destroy(static_cast<natsSubscription *>(p)); });
	return *retired;
}

} // namespace

void UnsubscribeAndRetire(natsSubscription *sub) {
	if (sub)
		natsSubscription_Unsubscribe(sub); // out of the connection's lookup: no new message reaches it
	RetiredSubscriptions().Retire(sub);
}

void DestroyRetiredSubscriptions() { RetiredSubscriptions().ReleaseAll(); }

} // namespace event::sidecar::nats
