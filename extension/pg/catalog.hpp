// catalog.hpp — allowed event_source / event_category values, cached per backend and
// invalidated through the relcache when event.event_sources or event.event_categories change.
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// Raises 22023 with the allowed values in the hint unless value is an allowed source.
void CheckSource(const char *value);
// Raises 22023 with the allowed values in the hint unless value is an allowed category.
void CheckCategory(const char *value);
// Raises 22023 with the allowed values in the hint unless value is a processing status.
void CheckStatus(const char *value);

} // namespace event::pg
