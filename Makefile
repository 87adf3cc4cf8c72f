# event — PostgreSQL extension (PGXS) plus the decoder module and the sidecar.
#
#   make          build extension (+ extension/decoder, sidecar when present)
#   make install  install extension and decoder into the PostgreSQL 15 tree
#   make deps     install missing Debian packages (idempotent)
#   make unit     build and run the GoogleTest suite (build/unit_tests)
#   make test     everything: unit, pgTAP, upgrade, memory and e2e suites
#   make run      dev stack in .run/ (postgres, nats-server, sidecar); make stop
#   make bench    test/bench/run.sh, relay.sh and big_txn.sh (docs/benchmarks.md)
# See docs/development.md.

PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)

EXTENSION  = event
MODULE_big = event
# extension/test/*.cpp: the C side of the test-only extension event_test (its symbols are in
# event.so because sql/event--0.1.0.sql references them); its SQL is installed only by
# install-for-tests (TEST_MODULE_DATA), never by `make install`.
CXX_SOURCES = $(wildcard extension/pg/*.cpp core/*.cpp extension/guard.cpp extension/test/*.cpp)
OBJS = $(CXX_SOURCES:.cpp=.o)
DATA = $(wildcard sql/event--*.sql) $(wildcard migrations/event--*--*.sql)
EXTRA_CLEAN = $(OBJS:.o=.d) build

WERROR = $(if $(filter true,$(CI)),-Werror)
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wshadow -Wno-register -fexceptions -MMD -MP \
	-I$(srcdir) -I$(srcdir)/extension $(WERROR)
SHLIB_LINK += -lstdc++

# Debian's PostgreSQL is built with LLVM, so PGXS would also compile every file
# to bitcode with clang using its own C++14 flags (our C++17 code fails there),
# and JIT inlining of our code is not worth it. `override` because
# Makefile.global assigns with_llvm = yes after this point.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

-include $(OBJS:.o=.d)

HARNESS := $(CURDIR)/test/harness
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
export PG_CONFIG

# ---------------------------------------------------------------- deps
DEB_PACKAGES = postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap pgtap \
	libtap-parser-sourcehandler-pgtap-perl postgresql-15-cron postgresql-15-wal2json python3 \
	postgresql-contrib libpq-dev libnats-dev nats-server libboost1.81-dev zlib1g-dev libgtest-dev \
	rapidjson-dev wrk libcurl4-openssl-dev libssl-dev g++ make pkg-config nodejs libvalijson-dev json-schema-test-suite

# Installs only what dpkg does not report as installed; no apt call otherwise. npm (for `npm ci`
# in test/e2e/sdk) only when missing: NodeSource's nodejs brings its own, Debian's has none.
deps:
	@command -v dpkg-query >/dev/null || { echo "deps: not a Debian system, skipping package check"; exit 0; }; \
	missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null | grep -qx installed || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing" $$missing; \
		export DEBIAN_FRONTEND=noninteractive; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends $$missing </dev/null; \
	fi; \
	command -v npm >/dev/null || { export DEBIAN_FRONTEND=noninteractive; \
		$(SUDO) apt-get install -y -q --no-install-recommends npm </dev/null; }

$(OBJS): | deps

# ---------------------------------------------------------------- sub-makes
ifneq ($(wildcard extension/decoder/Makefile),)
all: build-decoder
install: install-decoder
clean: clean-decoder
build-decoder: | deps
	$(MAKE) -C extension/decoder PG_CONFIG=$(PG_CONFIG)
install-decoder: build-decoder
	$(MAKE) -C extension/decoder PG_CONFIG=$(PG_CONFIG) install
clean-decoder:
	$(MAKE) -C extension/decoder PG_CONFIG=$(PG_CONFIG) clean
endif

ifneq ($(wildcard sidecar/Makefile),)
all: build-sidecar
clean: clean-sidecar
build-sidecar: | deps
	$(MAKE) -C sidecar
clean-sidecar:
	$(MAKE) -C sidecar clean
endif

# ---------------------------------------------------------------- unit tests
# test/unit/*_test.cpp + core/*.cpp (pure C++, no PG headers) + the pure C++ parts
# of the output plugin (DECODER_UNIT_SOURCES) + the sidecar files named by SIDECAR_UNIT_SOURCES in sidecar/unit_sources.mk
# (paths from the repo root or from sidecar/; extra libs in SIDECAR_UNIT_LIBS).
-include sidecar/unit_sources.mk
UNIT_SIDECAR = $(foreach f,$(SIDECAR_UNIT_SOURCES),$(if $(wildcard $(f)),$(f),sidecar/$(f)))
DECODER_UNIT_SOURCES = extension/decoder/message.cpp extension/decoder/options.cpp
UNIT_SOURCES = $(wildcard test/unit/*_test.cpp) $(wildcard core/*.cpp) $(DECODER_UNIT_SOURCES) \
	$(UNIT_SIDECAR)
UNIT_OBJS = $(patsubst %.cpp,build/unit/%.o,$(UNIT_SOURCES))
UNIT_CXXFLAGS = -std=c++17 -g -O1 -Wall -Wextra -Wshadow -fexceptions -MMD -MP $(WERROR) \
	-I. -Iextension -Isidecar $(SIDECAR_UNIT_CXXFLAGS)
UNIT_LIBS = $(SIDECAR_UNIT_LIBS) -lgtest_main -lgtest -pthread -lssl -lcrypto

build/unit/%.o: %.cpp | deps
	@mkdir -p $(@D)
	$(CXX) $(UNIT_CXXFLAGS) -c $< -o $@

build/unit_tests: $(UNIT_OBJS)
	$(CXX) -o $@ $^ $(UNIT_LIBS)

-include $(UNIT_OBJS:.o=.d)

unit: build/unit_tests
	build/unit_tests

# ---------------------------------------------------------------- test / run / bench
# Installs as root, or through sudo for a normal user.
TEST_MODULE_DATA = extension/test/event_test.control $(wildcard extension/test/event_test--*.sql)
install-for-tests: all
	$(SUDO) $(MAKE) --no-print-directory install install-test-module

install-test-module:
	$(INSTALL_DATA) $(TEST_MODULE_DATA) '$(DESTDIR)$(datadir)/extension/'

test: deps all install-for-tests
	MAKE="$(MAKE)" REPO_ROOT=$(CURDIR) SIDECAR_BIN=$(CURDIR)/sidecar/event-sidecar \
		$(HARNESS)/run_tests.sh </dev/null

run: deps all install-for-tests
	REPO_ROOT=$(CURDIR) $(HARNESS)/run_stack.sh start

stop:
	REPO_ROOT=$(CURDIR) $(HARNESS)/run_stack.sh stop

# Write/read benchmarks (run.sh), output plugin and relay benchmarks (relay.sh), one transaction
# of more than 1 GB of decoded output (big_txn.sh); each writes
# its table under build/bench/, both printed at the end (docs/benchmarks.md).
bench: deps all install-for-tests
	@[ -f test/bench/run.sh ] || { echo "bench: no benchmark (test/bench/run.sh does not exist)"; exit 1; }
	REPO_ROOT=$(CURDIR) HARNESS=$(HARNESS) bash test/bench/run.sh
	REPO_ROOT=$(CURDIR) HARNESS=$(HARNESS) bash test/bench/relay.sh
	REPO_ROOT=$(CURDIR) HARNESS=$(HARNESS) bash test/bench/big_txn.sh
	REPO_ROOT=$(CURDIR) HARNESS=$(HARNESS) bash test/bench/http.sh
	REPO_ROOT=$(CURDIR) HARNESS=$(HARNESS) bash test/bench/collect.sh
	REPO_ROOT=$(CURDIR) HARNESS=$(HARNESS) bash test/bench/tracking.sh
	REPO_ROOT=$(CURDIR) HARNESS=$(HARNESS) bash test/bench/processing.sh
	REPO_ROOT=$(CURDIR) HARNESS=$(HARNESS) bash test/bench/projections.sh
	REPO_ROOT=$(CURDIR) HARNESS=$(HARNESS) bash test/bench/delivery.sh
	REPO_ROOT=$(CURDIR) HARNESS=$(HARNESS) bash test/bench/schema.sh
	@echo; cat build/bench/results.md; echo; cat build/bench/relay-results.md; echo; cat build/bench/big_txn.md
	@echo; cat build/bench/http-results.md
	@echo; cat build/bench/collect-results.md; echo; cat build/bench/tracking-results.md
	@echo; cat build/bench/processing-results.md; echo; cat build/bench/projections.md
	@echo; cat build/bench/delivery-results.md; echo; cat build/bench/schema.md

.PHONY: deps unit test run stop bench install-for-tests install-test-module \
	build-decoder install-decoder clean-decoder build-sidecar clean-sidecar
