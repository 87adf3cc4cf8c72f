# sidecar/unit_sources.mk — sidecar files linked into build/unit_tests by the root Makefile
# (paths relative to sidecar/). Only files without libpq/nats.c dependencies.
SIDECAR_UNIT_SOURCES = config.cpp log.cpp metrics.cpp relay/protocol.cpp relay/lsn_tracker.cpp \
	relay/decoded_message.cpp http/request.cpp http/response.cpp http/router.cpp \
	http/gzip.cpp http/stream.cpp metrics/registry.cpp
SIDECAR_UNIT_LIBS = -lz
