# agent9: two commands on a fresh Debian 12 machine.
#   make run    install what is missing, build, start the daemon with a FUSE mount and a demo agent
#   make test   install what is missing, build, run every test (unit + black-box)
# Also: make build, make stop, make clean, make asan (sanitized test run).

BUILD     ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS      ?= $(shell nproc)
DATA      ?= $(HOME)/.local/share/agent9
MNT       ?= /tmp/agent9
LISTEN    ?= 127.0.0.1:7909
AGENT9    := $(BUILD)/controlplane/agent9

.PHONY: all bootstrap configure build test run stop clean asan

all: build

bootstrap:
	@scripts/bootstrap

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: bootstrap $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

asan: bootstrap
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAGENT9_SANITIZE=address,undefined
	cmake --build build-asan -j $(JOBS)
	cd build-asan && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --output-on-failure -j $(JOBS) --timeout 600

run: build
	@scripts/run-demo "$(AGENT9)" "$(DATA)" "$(MNT)" "$(LISTEN)"

stop:
	@scripts/stop-demo "$(DATA)" "$(MNT)"

clean:
	rm -rf $(BUILD) build-asan
