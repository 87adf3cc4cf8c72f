// rapidjson.hpp — RapidJSON for core/ files: a failed RapidJSON assertion (an access of the
// wrong type) throws std::logic_error instead of calling abort(), which would take the whole
// PostgreSQL backend down (and a sidecar thread with it). Every file of the project that uses
// RapidJSON includes it instead of <rapidjson/document.h>, before any other RapidJSON header, so
// that one definition of RAPIDJSON_ASSERT is compiled into every binary (RapidJSON's templates
// are inline: two definitions linked into one program would be an ODR violation).
#pragma once

#include "core/cpp_only.hpp"

#include <stdexcept>

#if defined(RAPIDJSON_RAPIDJSON_H_) && !defined(EVENT_RAPIDJSON_HPP)
#error "include core/rapidjson.hpp before any RapidJSON header"
#endif
#define EVENT_RAPIDJSON_HPP
#ifndef RAPIDJSON_ASSERT
#define RAPIDJSON_ASSERT(x) \
	(static_cast<bool>(x) ? static_cast<void>(0) : throw std::logic_error("RapidJSON assertion failed: " #x))
#endif
#include <rapidjson/document.h>
