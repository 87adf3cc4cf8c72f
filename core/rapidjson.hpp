// rapidjson.hpp — RapidJSON for core/ files: a failed RapidJSON assertion (an access of the
// wrong type) throws std::logic_error instead of calling abort(), which would take the whole
// PostgreSQL backend down. Include it instead of <rapidjson/document.h>.
#pragma once

#include "core/cpp_only.hpp"

#include <stdexcept>

#ifndef RAPIDJSON_ASSERT
#define RAPIDJSON_ASSERT(x) \
	(static_cast<bool>(x) ? static_cast<void>(0) : throw std::logic_error("RapidJSON assertion failed: " #x))
#endif
#include <rapidjson/document.h>
