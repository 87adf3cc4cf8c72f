// lsn_tracker.cpp — see lsn_tracker.hpp for the confirmation rule.
#include "relay/lsn_tracker.hpp"

#include <algorithm>

namespace event::sidecar::relay {

void LsnTracker::Add(Lsn key) {
	// An event at `key` proves every smaller key complete (messages arrive in commit order).
	closed_below_ = std::max(closed_below_, key);
	received_ = std::max(received_, key);
	++keys_[key];
	++outstanding_;
	Advance();
}

bool LsnTracker::Ack(Lsn key) {
	auto it = keys_.find(key);
	if (it == keys_.end() || it->second <= 0)
		return false;
	--it->second;
	--outstanding_;
	Advance();
	return true;
}

void LsnTracker::Observe(Lsn end) {
	closed_below_ = std::max(closed_below_, end);
	observed_end_ = std::max(observed_end_, end);
	received_ = std::max(received_, end);
	Advance();
}

void LsnTracker::SetConfirmedFloor(Lsn lsn) { confirmed_ = std::max(confirmed_, lsn); }

void LsnTracker::Advance() {
	while (!keys_.empty()) {
		auto first = keys_.begin();
		if (first->second > 0 || first->first >= closed_below_)
			break;
		confirmed_ = std::max(confirmed_, first->first);
		keys_.erase(first);
	}
	if (keys_.empty())
		confirmed_ = std::max(confirmed_, observed_end_);
}

} // namespace event::sidecar::relay
