// group_commit_options.hpp — configuration of the group commit of single-event creates
// (flags --group-commit-*, env EVENT_GROUP_COMMIT_*); see group_commit.hpp.
#pragma once

#include <cstdint>

namespace event::sidecar::api {

struct GroupCommitOptions {
	int max_batch = 256;         // requests per transaction (event.max_batch_size caps at 1000)
	int64_t max_wait_us = 2000;  // longest a request waits for companions while batches are in flight
	int64_t max_pending = 20000; // waiting requests; beyond: 429
	int max_inflight = 0;        // batches in flight at once; 0 = the pool size
};

} // namespace event::sidecar::api
