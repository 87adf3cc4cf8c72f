// delayed_release.cpp — see delayed_release.hpp.
#include "nats/delayed_release.hpp"

#include <vector>

namespace event::sidecar::nats {

void DelayedRelease::Retire(void *p, Clock::time_point now) {
	ReleaseDue(now);
	if (p == nullptr)
		return;
	std::lock_guard<std::mutex> lock(mu_);
	held_.emplace_back(now + delay_, p);
}

size_t DelayedRelease::ReleaseDue(Clock::time_point now) {
	return ReleaseUpTo(now);
}

size_t DelayedRelease::ReleaseAll() {
	return ReleaseUpTo(Clock::time_point::max());
}

size_t DelayedRelease::Held() const {
	std::lock_guard<std::mutex> lock(mu_);
	return held_.size();
}

size_t DelayedRelease::ReleaseUpTo(Clock::time_point limit) {
	std::vector<void *> out;
	{
		std::lock_guard<std::mutex> lock(mu_);
		while (!held_.empty() && held_.front().first <= limit) {
			out.push_back(held_.front().second);
			held_.pop_front();
		}
	}
	for (void *p : out) // outside the lock: a release may take the library's own locks
		release_(p);
	return out.size();
}

} // namespace event::sidecar::nats
