// horizon_checks.hpp — when the catch-up horizon can be computed at all (horizon_checks.cpp).
#pragma once

namespace event::pg {

// Raises EV005 on a server in recovery and 55000 if the position sequence caches values.
void CheckHorizonPreconditions();

} // namespace event::pg
