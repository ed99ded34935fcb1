# agent9: two commands on a fresh Debian 12 machine.
#   make run    install what is missing, build, start the daemon with a FUSE mount and a demo agent
#   make test   install what is missing, build, run every test: unit, black-box, fuzz smoke,
#               then the same suite under ASan+UBSan and the concurrent code under TSan
# Also: make build, make check (the plain suite only), make stop, make clean, make asan,
# make tsan, make fuzz, make bench (Release benchmarks), make soak (kill -9 soak, ~5 min).

BUILD     ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS      ?= $(shell nproc)
DATA      ?= $(HOME)/.local/share/agent9
MNT       ?= /tmp/agent9
LISTEN    ?= 127.0.0.1:7909
AGENT9    := $(BUILD)/controlplane/agent9

.PHONY: all bootstrap configure build check test run stop clean asan tsan fuzz bench soak

all: build

bootstrap:
	@scripts/bootstrap

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: bootstrap $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

check: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

# What CI runs (.ci/run): the suite, then the sanitizer builds (docs/OPERATIONS.md).
test: check
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory tsan

asan: bootstrap
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAGENT9_SANITIZE=address,undefined
	cmake --build build-asan -j $(JOBS)
	cd build-asan && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --output-on-failure -j $(JOBS) --timeout 600 -LE 'lint|fuzz|soak'

# The concurrent code (engine, store, file service, control plane) under ThreadSanitizer.
# clang: its -Wthread-safety analysis runs in the same build. FUSE and black-box tests are
# left out: libfuse's threads are not instrumented, so TSan cannot judge them.
TSAN_TESTS := tests/unit/tick/tick_test tests/unit/fs/fs_test tests/unit/base/base_test tests/unit/controlplane/controlplane_test tests/unit/identity/identity_test tests/unit/nostr/nostr_test tests/unit/compute/compute_test tests/unit/containers/containers_test
tsan: bootstrap
	cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DAGENT9_SANITIZE=thread
	cmake --build build-tsan -j $(JOBS) --target $(notdir $(TSAN_TESTS))
	@scripts/nostr-relay-setup build-tsan/nostr-relay >/dev/null
	@set -e; for t in $(TSAN_TESTS); do echo "tsan: $$t"; TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build-tsan/$$t --gtest_brief=1; done

# libFuzzer targets (fuzz/README.md): builds build-fuzz/ with clang, FUZZ_SECS (20) per target.
fuzz: bootstrap
	@scripts/fuzz

# Release benchmarks against same-run baselines (bench/README.md); SCALE=1000000 for the 1M
# agent scale figures. Writes bench/results/latest.md and latest.json. Installs wrk, nginx and
# linux-perf (the pinned section's profiles) when missing.
SCALE ?= 100000
bench:
	@scripts/bootstrap --bench
	@SCALE=$(SCALE) bash bench/run.sh

# kill -9 soak (docs/OPERATIONS.md): SOAK_SECS (300), RATE, KILLS, ... pass through.
soak: build
	@AGENT9_BIN=$(abspath $(AGENT9)) bash bench/soak.sh

run: build
	@scripts/run-demo "$(AGENT9)" "$(DATA)" "$(MNT)" "$(LISTEN)"

stop:
	@scripts/stop-demo "$(DATA)" "$(MNT)"

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz build-bench
