# sidecar/unit_sources.mk — sidecar files linked into build/unit_tests by the root Makefile
# (paths relative to sidecar/). No nats.c; the API files need libpq (linked, never connected).
SIDECAR_UNIT_SOURCES = config.cpp log.cpp metrics.cpp relay/protocol.cpp relay/lsn_tracker.cpp \
	relay/decoded_message.cpp http/request.cpp http/response.cpp http/router.cpp \
	http/gzip.cpp http/stream.cpp http/reply_batch.cpp metrics/registry.cpp api/common.cpp api/group_commit.cpp auth/key_cache.cpp \
	pg/pool.cpp pg/conninfo.cpp pg/refresher.cpp collect/categories.cpp delivery/signing.cpp processing/tasks.cpp
# The JetStream PubAck parser of the frontend collector (nats/pub_ack.hpp).
SIDECAR_UNIT_SOURCES += nats/pub_ack.cpp
# Delayed destruction of NATS subscriptions (nats/delayed_release.hpp).
SIDECAR_UNIT_SOURCES += nats/delayed_release.cpp
SIDECAR_UNIT_LIBS = -lz -lpq
SIDECAR_UNIT_CXXFLAGS = -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
