// delayed_release.hpp — things to free once a delay has passed since they were given up. The
// sidecar retires its NATS subscriptions this way (nats::UnsubscribeAndRetire in
// connect_options.hpp): nats.c before 3.6 (Debian 12 ships 3.4.1) finds the subscription of an
// incoming message under the connection's lock, releases the lock and only then uses the
// subscription, without holding a reference to it, so one destroyed right after its unsubscribe
// can be used after it was freed (nats.c issue 637, fixed upstream in 3.6.0). Unsubscribing
// takes it out of that lookup at once; keeping it a few seconds longer lets a reader that found
// it just before finish with it. Pure C++ (unit tests: test/unit/sidecar_delayed_release_test.cpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>

namespace event::sidecar::nats {

class DelayedRelease {
public:
	using Clock = std::chrono::steady_clock;

	DelayedRelease(Clock::duration delay, std::function<void(void *)> release)
		: delay_(delay), release_(std::move(release)) {}
	~DelayedRelease() { ReleaseAll(); }
	DelayedRelease(const DelayedRelease &) = delete;
	DelayedRelease &operator=(const DelayedRelease &) = delete;

	// Holds p until delay after now; first releases those that are due.
	void Retire(void *p, Clock::time_point now = Clock::now());
	// Releases those retired at least delay before now; returns how many.
	size_t ReleaseDue(Clock::time_point now = Clock::now());
	// Releases everything held, due or not (at shutdown, once nothing reads any more).
	size_t ReleaseAll();
	size_t Held() const;

private:
	// Releases those due at or before limit (retirement order is due order).
	size_t ReleaseUpTo(Clock::time_point limit);

	const Clock::duration delay_;
	const std::function<void(void *)> release_;
	mutable std::mutex mu_;
	std::deque<std::pair<Clock::time_point, void *>> held_; // in retirement order
};

} // namespace event::sidecar::nats
