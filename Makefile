# SPDX-License-Identifier: Apache-2.0
# tgprof's front door. `make run` and `make test` install what is missing
# (Debian packages, as root), configure and build into build/.
BUILD ?= build
CMAKE_FLAGS ?=
RUN_SECONDS ?= 10
RUN_OUT ?= tgprof-out

.PHONY: all deps configure build run test test-sanitize install install-deps clean

all: build

deps:
	@bash cmake/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD)

# Profiles the whole host for RUN_SECONDS while the bundled demo workload
# runs (its main thread leaves with pthread_exit right away).
run: build
	@$(BUILD)/fixtures/demo_workload $$(( $(RUN_SECONDS) + 2 )) & \
	demo=$$!; \
	$(BUILD)/tgprof record -d $(RUN_SECONDS) -o $(RUN_OUT); status=$$?; \
	kill $$demo 2>/dev/null; wait $$demo 2>/dev/null; \
	if [ $$status -eq 0 ]; then \
		echo; \
		echo "Flame graph:    $(RUN_OUT)/flamegraph.svg (open it in a browser)"; \
		echo "Folded stacks:  $(RUN_OUT)/stacks.folded"; \
	fi; \
	exit $$status

test: build
	@cd $(BUILD) && ctest --output-on-failure --timeout 900
	@$(MAKE) --no-print-directory test-sanitize

# The unit, plugin, run, cli and BPF tests again, everything built with
# AddressSanitizer and UndefinedBehaviorSanitizer (-Werror as always); any
# report fails its test.
SANITIZE_BUILD ?= build-sanitize
test-sanitize: deps
	@cmake -S . -B $(SANITIZE_BUILD) -G Ninja $(CMAKE_FLAGS) \
		-DTGPROF_SANITIZE=address,undefined >/dev/null
	@cmake --build $(SANITIZE_BUILD)
	@cd $(SANITIZE_BUILD) && \
		ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=0 \
		UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
		ctest --output-on-failure --timeout 900 -L 'unit|plugin|run|cli|bpf' \
		-LE 'e2e|deploy|pyroscope|collector|fuzz'

# Installs into PREFIX (default /usr/local): bin/tgprof, the receiver
# plugin lib/libtgprof_receiver.so* (with its symlinks), the ABI header
# include/tgprof/receiver.h and lib/pkgconfig/tgprof-receiver.pc.
# DESTDIR is honoured, as cmake --install does.
PREFIX ?= /usr/local
install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)
