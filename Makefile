# The three commands of the README. Everything else is CMake.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
PYTHON ?= /usr/bin/python3
CMAKE_FLAGS ?=

FUZZ_SECONDS ?= 60
# make bench: BENCH_QUICK=1 for the ~3-minute version; BENCH_ARGS passes options to run_bench.py.
BENCH ?= OFF
BENCH_QUICK ?=
BENCH_ARGS ?=

.PHONY: build run test unit integration deps deps-test bench soak clean format format-check headers \
        thread-safety asan tsan fuzz install

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release -DCACHET_BUILD_BENCH=$(BENCH) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	./$(BUILD_DIR)/cachet -p 11211 -l 127.0.0.1 -m 64 -t 4 $(if $(filter 0,$(shell id -u)),-u root,)

# The gates first (cheap, and a failure there says what to fix), then the tests.
test: deps-test build format-check headers thread-safety unit integration

unit:
	cd $(BUILD_DIR) && ctest --output-on-failure --no-tests=error -j $(JOBS)

integration:
	CACHET_BIN=$${CACHET_BIN:-$(CURDIR)/$(BUILD_DIR)/cachet} $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

deps:
	@scripts/install-deps.sh build

# Django's own cache tests come from Debian's source package of python3-django (not shipped in
# the binary one): test_django_own_suite.py runs them.
deps-test:
	@scripts/install-deps.sh test
	@/usr/bin/python3 scripts/fetch-django-tests.py >/dev/null

# Sanitizer builds: make asan / make tsan (then run ctest or the integration suite with CACHET_BIN).
asan:
	$(MAKE) build BUILD_DIR=build-asan CMAKE_FLAGS="-DCACHET_SANITIZE=address -DCMAKE_BUILD_TYPE=RelWithDebInfo"
tsan:
	$(MAKE) build BUILD_DIR=build-tsan CMAKE_FLAGS="-DCACHET_SANITIZE=thread -DCMAKE_BUILD_TYPE=RelWithDebInfo"

# libFuzzer on each parser for FUZZ_SECONDS, starting from the seed corpus (findings: build-fuzz/).
fuzz:
	@scripts/install-deps.sh fuzz
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCACHET_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS) --target text_parser_fuzz binary_parser_fuzz session_fuzz \
	  snapshot_fuzz
	for t in text_parser binary_parser session snapshot; do \
	  c=$${t%_parser}; mkdir -p build-fuzz/corpus/$$c && \
	  (cd build-fuzz && ./tests/$${t}_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -dict=$(CURDIR)/tests/fuzz/$$([ $$c = session ] && echo text || echo $$c).dict \
	    corpus/$$c $(CURDIR)/tests/fuzz/corpus/$$c) || exit 1; \
	done

# Installs like Debian's memcached package (see packaging/README.md); DESTDIR stages it.
PREFIX ?= /usr
install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)
	install -d $(DESTDIR)$(PREFIX)/lib/python3/dist-packages/cachet_django
	install -m 644 clients/python/cachet_django/*.py $(DESTDIR)$(PREFIX)/lib/python3/dist-packages/cachet_django/

# Release build with the micro benches, then the interleaved comparison (bench/README.md):
# ~15-20 minutes, or ~3 minutes with BENCH_QUICK=1. Results in bench/results/.
bench:
	@scripts/install-deps.sh bench
	$(MAKE) build BENCH=ON
	$(PYTHON) bench/run_bench.py $(if $(BENCH_QUICK),--quick,) $(BENCH_ARGS)

# Issue 17's hostile patterns together under a normal load, cachet then memcached, 10 minutes
# each (SOAK_ARGS="--minutes 2" for a short one; SOAK_ARGS=--patterns: each pattern alone, 1000
# connections, 3 rounds); not part of make test.
soak:
	@scripts/install-deps.sh bench
	$(MAKE) build BENCH=ON
	$(PYTHON) bench/soak.py $(SOAK_ARGS)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

# Fails on any file of src/ or tests/ that clang-format (.clang-format) would change.
format-check:
	clang-format --dry-run -Werror $$(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h')

# clang -Wthread-safety (syntax only) over the sources that take locks (common/mutex.h).
thread-safety:
	JOBS=$(JOBS) scripts/thread-safety.sh

# Every header of src/ compiled on its own (src/CMakeLists.txt).
headers: build
	cmake --build $(BUILD_DIR) -j $(JOBS) --target headers

clean:
	rm -rf $(BUILD_DIR)
