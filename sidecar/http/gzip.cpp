// gzip.cpp — zlib inflate/deflate for request bodies (see gzip.hpp).
#include "http/gzip.hpp"

#include <zlib.h>

#include <memory>

namespace event::sidecar::http {

InflateResult Gunzip(std::string_view in, size_t max_out, std::string *out) {
	out->clear();
	z_stream zs{};
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return InflateResult::kBadData;
	std::unique_ptr<z_stream, int (*)(z_stream *)> guard(&zs, inflateEnd);
	zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
	zs.avail_in = static_cast<uInt>(in.size());
	if (in.size() != zs.avail_in)
		return InflateResult::kTooLarge;
	char buf[16384];
	for (;;) {
		zs.next_out = reinterpret_cast<Bytef *>(buf);
		zs.avail_out = sizeof buf;
		int rc = inflate(&zs, Z_NO_FLUSH);
		size_t produced = sizeof buf - zs.avail_out;
		if (out->size() + produced > max_out)
			return InflateResult::kTooLarge;
		out->append(buf, produced);
		if (rc == Z_STREAM_END) {
			if (zs.avail_in == 0)
				return InflateResult::kOk;
			if (inflateReset(&zs) != Z_OK) // another gzip member follows
				return InflateResult::kBadData;
			continue;
		}
		if (rc == Z_BUF_ERROR && zs.avail_in == 0)
			return InflateResult::kBadData; // truncated
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return InflateResult::kBadData;
	}
}

std::string GzipCompress(std::string_view data) {
	z_stream zs{};
	std::string out;
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return out;
	std::unique_ptr<z_stream, int (*)(z_stream *)> guard(&zs, deflateEnd);
	out.resize(deflateBound(&zs, static_cast<uLong>(data.size())));
	zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data.data()));
	zs.avail_in = static_cast<uInt>(data.size());
	zs.next_out = reinterpret_cast<Bytef *>(&out[0]);
	zs.avail_out = static_cast<uInt>(out.size());
	deflate(&zs, Z_FINISH);
	out.resize(out.size() - zs.avail_out);
	return out;
}

} // namespace event::sidecar::http
