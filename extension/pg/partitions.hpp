// partitions.hpp — monthly partitions of event.events and event.event_status, by UUIDv7 range.
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// Makes sure the partition that holds events created at unix time ms exists (creating it,
// online, when it does not). Cheap when it was already checked in this backend.
void EnsurePartitionFor(uint64 unix_ms);

} // namespace event::pg
