// encoded_size.hpp — does an event's relay message fit event.max_message_size (encoded_size.cpp).
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// Raises 54000 if the output plugin's JSON message of an event with these text fields (nullptr
// = absent) and jsonb fields would be longer than event.max_message_size.
void CheckEncodedSize(const char *const *texts, int ntexts, Jsonb *const *jsons, int njsons);

} // namespace event::pg
