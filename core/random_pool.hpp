// random_pool.hpp — random bytes from a strong source, drawn a block at a time.
//
// A UUIDv7 needs 10 random bytes. Asking OpenSSL (PostgreSQL's pg_strong_random) for 10 bytes
// costs about as much as asking for 512: its fixed cost per call (provider and state checks,
// locks) was 4 % of a backend's time in a single-event append. The pool asks for a block and
// hands it out in pieces; every byte is handed out once and wiped. A pool copied into a child
// by fork() must not hand the same bytes to parent and child, so each call names its process
// and a pool owned by another one starts afresh.
#pragma once

#include "core/cpp_only.hpp"
#include "core/uuid7.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

namespace event::core {

class RandomPool {
public:
	static constexpr size_t kBlock = 512;

	explicit RandomPool(RandomFill source) : source_(std::move(source)) {}

	// Fills buf with len bytes for process owner; false if the source failed (nothing handed out).
	bool Fill(uint8_t *buf, size_t len, int owner) {
		if (owner != owner_) {
			Wipe(0, kBlock);
			used_ = kBlock;
			owner_ = owner;
		}
		if (len > kBlock / 4)
			return source_(buf, len); // large requests gain nothing from the pool
		if (kBlock - used_ < len) {
			Wipe(used_, kBlock);
			used_ = kBlock;
			if (!source_(block_.data(), kBlock))
				return false;
			used_ = 0;
		}
		memcpy(buf, block_.data() + used_, len);
		Wipe(used_, used_ + len);
		used_ += len;
		return true;
	}

private:
	void Wipe(size_t from, size_t to) {
		if (to > from)
			memset(block_.data() + from, 0, to - from);
	}

	RandomFill source_;
	std::array<uint8_t, kBlock> block_{};
	size_t used_ = kBlock; // bytes of block_ already handed out
	int owner_ = 0;
};

} // namespace event::core
