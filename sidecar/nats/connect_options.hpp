// connect_options.hpp — what every NATS connection of the sidecar shares: credentials and TLS
// from the configuration (--nats-user/-password/-token/-creds, --nats-tls-*), and small nats.c
// helpers for error texts and option chains.
#pragma once

#include <nats/nats.h>

#include <string>

#include "config.hpp"

namespace event::sidecar::nats {

// Applies the credentials and TLS settings of config to o (the URL and callbacks are the
// caller's). False with a one-line error naming the flag (e.g. an invalid creds seed).
bool ApplyAuthOptions(natsOptions *o, const Config &config, std::string *error);

std::string StatusText(natsStatus s);
// True when a JetStream API call's answer says the stream or the consumer does not exist (not a
// timeout or any other failure, which say nothing about them).
inline bool StreamOrConsumerMissing(natsStatus s, jsErrCode jerr) {
	return s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr || jerr == JSStreamNotFoundErr;
}
// nats_GetLastError() without its "(file.c:123): " prefix; "" if there is none.
std::string LastErrorText();

// Runs a chain of nats.c option setters, stopping at the first failure.
struct Chain {
	natsStatus s = NATS_OK;
	const char *what = "";
	Chain &Do(natsStatus next, const char *name) {
		if (s == NATS_OK && next != NATS_OK) {
			s = next;
			what = name;
		}
		return *this;
	}
};

// "flag: status (detail)" for a failed chain.
std::string ChainError(const Chain &c);

// A connection of its own for a JetStream reader (tail, delivery): --nats-url, this client name,
// unlimited reconnects, the configuration's credentials, and a connected callback so that the
// first connect does not block while NATS is away (nats.c then retries in the background); plus
// its JetStream context. False with "<who>: ..." in *error. The caller destroys what is set.
bool ConnectInBackground(const Config &config, const char *name, const char *who, natsOptions **opts,
                         natsConnection **nc, jsCtx **js, std::string *error);
// Closes and frees what ConnectInBackground made (any of them may be null) and nulls the pointers.
void DestroyConnection(natsOptions **opts, natsConnection **nc, jsCtx **js);

// Unsubscribes sub (null: nothing) at once and destroys it a few seconds later, never right
// away: nats.c 3.4's reader thread may still be using a subscription it found just before the
// unsubscribe (delayed_release.hpp says why). Every subscription that may be receiving messages
// is given up this way.
void UnsubscribeAndRetire(natsSubscription *sub);
// Destroys the retired subscriptions that are still waiting; at shutdown, after every
// connection is closed (their reader threads have ended) and before nats_CloseAndWait.
void DestroyRetiredSubscriptions();

} // namespace event::sidecar::nats
