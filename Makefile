# Convenience targets over the same sources the rockspec builds.
# `make demo` and `make test` do all the set-up on a fresh Debian 12 machine.
#
# The compiler flags come from pkg-config, which `make deps` installs along
# with the Lua and libcurl headers. So they are asked for when a recipe that
# compiles runs, never when make starts (the variables below are expanded
# late: `=`/`?=`, never `:=`), and every rule that compiles waits for `deps`
# (an order-only prerequisite). On a fresh machine the first `make demo`
# therefore installs the packages and then compiles with the right -I flags.
# `make fresh-check` checks exactly that.

LUA_VERSION ?= 5.4
LUA         ?= lua$(LUA_VERSION)
LUA_CFLAGS  ?= $(shell pkg-config --cflags lua$(LUA_VERSION))
CURL_CFLAGS ?= $(shell pkg-config --cflags libcurl)
CURL_LIBS   ?= $(shell pkg-config --libs libcurl || echo -lcurl)
OPT         ?= -O2 -g
WARN        := -Wall -Wextra -Wshadow -Wwrite-strings -pedantic -Werror
CFLAGS_ALL   = -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC $(OPT) $(WARN) \
               $(LUA_CFLAGS) $(CURL_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS_ALL  = -shared $(CURL_LIBS) -lpthread $(EXTRA_LDFLAGS)

BUILD   ?= build
CORE_SO := $(BUILD)/genesiscloud/core.so
SOURCES := $(wildcard src/*.c)
HEADERS := $(wildcard src/*.h)
# genesiscloud.core_testing: C helpers for the specs and the fuzz target
# only (core_testing.clean), built beside the core, never shipped: the
# rockspec does not list it.
TESTING_SRC := src/testing/core_testing.c
TESTING_SO  := $(BUILD)/genesiscloud/core_testing.so

# busted and lua-http are installed by Debian under the 5.1 tree only.
DEBIAN_LUA_PATH := /usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua
BUSTED := LUA_PATH="$(DEBIAN_LUA_PATH);;" $(LUA) /usr/bin/busted
BUSTED_ARGS ?=

.PHONY: all build build-luajit deps tools demo test memcheck chaos lint clean env fresh-check mutate

all: build

build: $(CORE_SO) $(TESTING_SO)

$(CORE_SO): $(SOURCES) $(HEADERS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $(SOURCES) $(LDFLAGS_ALL)

$(TESTING_SO): $(TESTING_SRC) src/compat.h | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $(TESTING_SRC) -shared $(EXTRA_LDFLAGS)

# The core built for LuaJIT, into $(BUILD)/luajit/: what Neovim (LuaJIT,
# vim.loop) loads in spec/loop_hosts_spec.lua and examples/nvim/.
LUAJIT_SO := $(BUILD)/luajit/genesiscloud/core.so

build-luajit: $(LUAJIT_SO)

$(LUAJIT_SO): LUA_CFLAGS = $(shell pkg-config --cflags luajit)
$(LUAJIT_SO): $(SOURCES) $(HEADERS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $(SOURCES) $(LDFLAGS_ALL)

# Installs the Debian packages that are missing (no-op when all are there).
deps:
	@scripts/install-deps

# The OpenAPI mock server used by the contract spec.
tools:
	@scripts/install-tools

demo: deps build
	@scripts/demo

test: deps tools build build-luajit
	$(BUSTED) $(BUSTED_ARGS)

# The whole suite under valgrind: no errors, nothing definitely or
# indirectly lost. Not the chaos runs (too long) nor the #timing spec (its
# bounds are for a process at full speed).
memcheck: deps tools build
	LUA_PATH="$(DEBIAN_LUA_PATH);;" valgrind --quiet --error-exitcode=99 \
	  --leak-check=full --errors-for-leak-kinds=definite,indirect \
	  --show-leak-kinds=definite,indirect \
	  $(LUA) /usr/bin/busted --exclude-tags=chaos,timing $(BUSTED_ARGS)

# 2,000 mixed operations against an emulator faulting 30% of its answers,
# then 2,000 in loop mode beside blocking mode (needs lua-luv); prints the
# loop run's figures as the last line.
chaos: deps build
	LUA_PATH="$(DEBIAN_LUA_PATH);;" $(LUA) scripts/chaos.lua

# `make mutate`: plants the bugs of scripts/mutations.lua one at a time in
# a throwaway copy of the checkout (the working tree is never touched),
# runs the specs each entry names, and prints a table: caught (by which
# spec), survived, or stale anchor. Fails when any bug survives or any
# anchor is stale. MUTATE_ARGS: mutation ids, --keep, --no-baseline, --list.
MUTATE_ARGS ?=
mutate: deps tools
	LUA=$(LUA) $(LUA) scripts/mutate $(MUTATE_ARGS)

# luacheck over the Lua (see .luacheckrc) and the C against .clang-format.
lint:
	@scripts/install-packages lua-check clang-format
	luacheck -q .
	clang-format --dry-run --Werror src/*.c src/*.h $(TESTING_SRC)
	scripts/function-length 60

clean:
	rm -rf $(BUILD) build-5.* build-jit docs/html genesiscloud src/*.o

# `eval "$(make -s env)"`: the paths a shell needs to use the checkout as
# it is (after `make demo` or `make build`): LUA_PATH with lua/ first, then
# Lua's defaults (`;;`), then Debian's Lua 5.1 tree, the only one where
# Debian 12 installs lua-http and two of its modules (basexx, fifo) - its
# files work on 5.4 (argparse and busted are in Debian's 5.4 tree already);
# LUA_CPATH with the C core in build/; PATH with bin/. Only prints, so
# `-s` output can be eval'ed; the paths are single-quoted for the shell.
env:
	@q() { printf "'%s'" "$$(printf '%s' "$$1" | sed "s/'/'\\\\''/g")"; }; \
	root=$$(pwd); build='$(BUILD)'; case "$$build" in /*) ;; *) build="$$root/$$build";; esac; \
	echo "export LUA_PATH=$$(q "$$root/lua/?.lua;$$root/lua/?/init.lua;;$(DEBIAN_LUA_PATH)")"; \
	echo "export LUA_CPATH=$$(q "$$build/?.so;;")"; \
	echo "export PATH=$$(q "$$root/bin"):\"\$$PATH\""

# `make fresh-check`: the README's promise on a machine without the
# project's packages - removes the Debian packages `make deps` installs
# (FRESH_CHECK_PURGE=0 keeps them) and tools/, clones HEAD into a temporary
# directory and runs `make demo` then `make test` there, each the first
# time (scripts/fresh-check). Needs root and apt; CI runs it first.
fresh-check:
	@scripts/fresh-check

# ---- C hygiene: sanitizers, fuzzing, static analysis ------------------------
# Each target installs the Debian packages it needs beyond `make deps`
# (scripts/install-packages, a no-op when they are there). Everything is
# built under $(BUILD)/, so `make clean` removes it and the normal build
# in $(BUILD)/genesiscloud/ is never touched.

.PHONY: asan fuzz fuzz-coverage lint-c asan-deps fuzz-deps lint-c-deps

SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer
LUA_LIBS  ?= $(shell pkg-config --libs lua$(LUA_VERSION) || echo -llua$(LUA_VERSION))

# `make asan`: the core built with ASan + UBSan (gcc) into $(BUILD)/asan/,
# and the whole suite run with it by the stock, uninstrumented lua5.4. The
# ASan runtime has to be preloaded into that interpreter, followed by
# scripts/asan-preload.c, which takes LD_PRELOAD out of the environment
# (the programs the specs start, emulator, prism and curl, must not inherit
# it: curl deadlocks in setlocale() under a preloaded libasan) and keeps C
# modules mapped after lua_close(), so leak reports name our functions.
# The command-line tool and the examples, which the specs run as separate
# lua5.4 processes, load the normal build/ core (hence `build` below).
# Leak detection is on: busted ends with os.exit(code, true), which closes
# the Lua state, so anything LeakSanitizer reports is really lost. The one
# suppression (scripts/lsan.supp) is for OpenSSL, used in the busted
# process by lua-http, not by src/; the file says why.
# The ASan build also leaves libcurl's header API aside (GC_NO_HEADER_API),
# so the header callback that older libcurls need runs the whole suite too.
# The #timing spec (loop_hosts_spec.lua) is left out: its bounds are for a
# core at full speed.
ASAN_CC        := gcc
ASAN_BUILD     := $(BUILD)/asan
ASAN_SO        := $(ASAN_BUILD)/genesiscloud/core.so
ASAN_TESTING_SO := $(ASAN_BUILD)/genesiscloud/core_testing.so
ASAN_PRELOAD   := $(ASAN_BUILD)/asan-preload.so
ASAN_RUN_OPTIONS  ?= detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1
UBSAN_RUN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
LSAN_RUN_OPTIONS  ?= suppressions=$(CURDIR)/scripts/lsan.supp:print_suppressions=0

asan-deps:
	@scripts/install-packages gcc libasan8 libubsan1

$(ASAN_SO): $(SOURCES) $(HEADERS) | deps asan-deps
	@mkdir -p $(dir $@)
	$(ASAN_CC) -std=c99 -D_POSIX_C_SOURCE=200809L -DGC_NO_HEADER_API -fPIC -O1 -g \
	  $(SAN_FLAGS) $(WARN) $(LUA_CFLAGS) $(CURL_CFLAGS) -o $@ $(SOURCES) \
	  -shared $(CURL_LIBS) -lpthread

$(ASAN_TESTING_SO): $(TESTING_SRC) src/compat.h | deps asan-deps
	@mkdir -p $(dir $@)
	$(ASAN_CC) -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC -O1 -g \
	  $(SAN_FLAGS) $(WARN) $(LUA_CFLAGS) -o $@ $(TESTING_SRC) -shared

$(ASAN_PRELOAD): scripts/asan-preload.c | deps asan-deps
	@mkdir -p $(dir $@)
	$(ASAN_CC) -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC -O2 $(WARN) -shared -o $@ $<

asan: deps tools build $(ASAN_SO) $(ASAN_TESTING_SO) $(ASAN_PRELOAD)
	@libasan=$$($(ASAN_CC) -print-file-name=libasan.so); \
	case "$$libasan" in /*) ;; *) echo "asan: $(ASAN_CC) has no libasan.so" >&2; exit 1;; esac; \
	set -x; \
	env LD_PRELOAD="$$libasan $(CURDIR)/$(ASAN_PRELOAD)" \
	  ASAN_OPTIONS="$(ASAN_RUN_OPTIONS)" UBSAN_OPTIONS="$(UBSAN_RUN_OPTIONS)" \
	  LSAN_OPTIONS="$(LSAN_RUN_OPTIONS)" \
	  LUA_PATH="$(DEBIAN_LUA_PATH);;" \
	  $(LUA) /usr/bin/busted --exclude-tags=timing --cpath='$(CURDIR)/$(ASAN_BUILD)/?.so' $(BUSTED_ARGS)

# `make fuzz`: libFuzzer over the response handling (fuzz/fuzz_response.c:
# gc_push_headers, gc_push_answer against request.interpret, core.decode
# against cjson + core_testing.clean), for FUZZ_TIME
# seconds. New inputs go to $(BUILD)/fuzz/corpus (kept between runs), the
# seeds in fuzz/corpus are only read; a crash is written to
# $(BUILD)/fuzz/artifacts/ and fails the target. The last command replays
# the whole corpus once and prints its coverage (cov: C edges, ft: features
# including the Lua lines the driver counts).
FUZZ_CC   := clang
FUZZ_TIME ?= 60
FUZZ_ARGS ?=
FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_BIN   := $(FUZZ_BUILD)/fuzz_response

fuzz-deps:
	@scripts/install-packages clang libclang-rt-dev

$(FUZZ_BIN): fuzz/fuzz_response.c $(SOURCES) $(HEADERS) $(TESTING_SRC) | deps fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c99 -D_POSIX_C_SOURCE=200809L -O1 -g \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -fno-omit-frame-pointer $(WARN) $(LUA_CFLAGS) $(CURL_CFLAGS) \
	  -DGC_FUZZ_LUA_DIR='"$(CURDIR)/lua"' -o $@ fuzz/fuzz_response.c \
	  $(SOURCES) $(TESTING_SRC) $(LUA_LIBS) $(CURL_LIBS) -lpthread

fuzz: deps $(FUZZ_BIN)
	@mkdir -p $(FUZZ_BUILD)/corpus $(FUZZ_BUILD)/artifacts
	$(FUZZ_BIN) -max_total_time=$(FUZZ_TIME) -timeout=10 -max_len=8192 \
	  -dict=fuzz/response.dict -print_final_stats=1 \
	  -artifact_prefix=$(FUZZ_BUILD)/artifacts/ $(FUZZ_ARGS) \
	  $(FUZZ_BUILD)/corpus fuzz/corpus
	@$(FUZZ_BIN) -runs=0 $(FUZZ_BUILD)/corpus fuzz/corpus 2>&1 | grep 'INITED'

# `make fuzz-coverage`: line and branch coverage of what the corpus (seeds
# plus what `make fuzz` found) reaches, in the C and in the Lua layer
# (scripts/fuzz-coverage).
fuzz-coverage: deps fuzz-deps
	@mkdir -p $(FUZZ_BUILD)/corpus
	@scripts/fuzz-coverage $(FUZZ_BUILD)/coverage $(FUZZ_BUILD)/corpus fuzz/corpus

# `make lint-c`: cppcheck and clang-tidy (checks chosen in .clang-tidy) over
# the C; any finding fails. cppcheck reads the real Lua and libcurl headers
# (so it sees the same declarations as the compiler) but not the system
# headers; LLONG_MAX stands in for <limits.h>, without which luaconf.h
# stops with #error. Its libcurl.cfg is left out on purpose: it defines
# CURLE_OK as a macro, which breaks the real curl.h.
LINT_C_FILES  := $(SOURCES) $(TESTING_SRC) fuzz/fuzz_response.c scripts/asan-preload.c
LINT_C_CFLAGS  = -std=c99 -D_POSIX_C_SOURCE=200809L $(LUA_CFLAGS) $(CURL_CFLAGS)

lint-c-deps:
	@scripts/install-packages cppcheck clang-tidy

lint-c: deps lint-c-deps
	cppcheck --enable=warning,style,performance,portability --error-exitcode=1 \
	  --inline-suppr --quiet --std=c99 --library=posix -D_POSIX_C_SOURCE=200809L \
	  -DLLONG_MAX=9223372036854775807LL $(LUA_CFLAGS) $(CURL_CFLAGS) $(LINT_C_FILES)
	@echo "clang-tidy $(LINT_C_FILES)"; \
	out=$$(clang-tidy --quiet $(LINT_C_FILES) -- $(LINT_C_CFLAGS) 2>&1); rc=$$?; \
	printf '%s\n' "$$out" | grep -v 'warnings\? generated\.$$' || true; \
	exit $$rc

# ---- Lua versions, LuaRocks, reference documentation, embedding ------------

.PHONY: test-all test-all-deps rock rock-check rock-deps docs docs-deps embed-check

# `make test-all`: for each Lua in LUA_VERSIONS, the C core built with that
# version's headers into build-<version>/ and the whole suite run in that
# interpreter (scripts/test-all; a summary line per version at the end).
# The servers and programs the suite starts stay on lua5.4 with build/.
LUA_VERSIONS ?= 5.1 5.2 5.3 5.4 jit

test-all-deps:
	@scripts/install-packages lua5.1 lua5.2 lua5.3 luajit liblua5.1-0-dev \
	  liblua5.2-dev liblua5.3-dev libluajit-5.1-dev

test-all: deps tools build test-all-deps
	@scripts/test-all $(LUA_VERSIONS)

# `make rock`: `luarocks make` into ROCK_TREE, the README's command; the
# settings it needs on Debian are in .luarocks/config-5.x.lua. `make
# rock-check` installs into a fresh tree from a copy of the checkout and
# checks the result from /tmp (scripts/rock-check).
ROCKSPEC  := $(firstword $(wildcard *.rockspec))
ROCK_TREE ?= lua_modules

rock-deps:
	@scripts/install-packages luarocks

rock: deps rock-deps
	luarocks make --tree $(ROCK_TREE) $(ROCKSPEC)
	@rm -rf genesiscloud src/*.o   # luarocks builds in place

rock-check: deps rock-deps
	@scripts/rock-check

# `make docs`: the LDoc reference in docs/html/ (config.ld; the C functions
# are in docs/ldoc/core.ldoc). Any LDoc warning fails. Debian's LDoc finds its
# Markdown formatter (lua-markdown) under Lua 5.1 only.
docs-deps:
	@scripts/install-packages lua5.1 lua-ldoc lua-markdown

docs: docs-deps
	@rm -rf docs/html
	lua5.1 /usr/bin/ldoc --fatalwarnings .

# `make embed-check`: examples/embed/host.c (two lua_States, each in its own
# thread, loading the module at the same moment) and
# examples/embed/poll_host.c (a host with its own poll() loop driving a
# loop client, against 10,000 groups: scripts/poll-host-run) against the
# emulator, under valgrind (scripts/embed-check). `make test` builds and
# runs the poll host too, without valgrind (spec/loop_c_host_spec.lua).
EMBED_HOST := $(BUILD)/embed/host
POLL_HOST  := $(BUILD)/embed/poll_host

$(EMBED_HOST): examples/embed/host.c | deps
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -O1 -g $(WARN) $(LUA_CFLAGS) -o $@ $< \
	  $(shell pkg-config --libs lua$(LUA_VERSION)) -lpthread

$(POLL_HOST): examples/embed/poll_host.c | deps
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -O1 -g $(WARN) $(LUA_CFLAGS) -o $@ $< \
	  $(shell pkg-config --libs lua$(LUA_VERSION))

embed-check: deps build $(EMBED_HOST) $(POLL_HOST)
	@scripts/embed-check $(EMBED_HOST) $(POLL_HOST)

# ---- Benchmark --------------------------------------------------------------

.PHONY: bench bench-deps bench-compare

# `make bench`: bench/run.lua starts nginx (static JSON) and the emulator on
# loopback, compares this module with a raw libcurl C program, Debian's
# lua-curl, LuaSocket and the curl command line, times the concurrent
# listing and checks memory; prints markdown tables and writes them, with
# PNG charts, to bench/results/. Sizes: BENCH_N, BENCH_N_PAGE, BENCH_N_CLI,
# BENCH_REQUEST_REPS, BENCH_REPS, BENCH_GROUPS, BENCH_LATENCY, BENCH_MEM_N
# (see bench/run.lua);
# BENCH_ONLY=per_request,listing,memory runs some sections only.
# The core is also built for Lua 5.1 (into $(BUILD)/bench/lua5.1/) for a
# row beside lua-curl, which Debian builds for 5.1/5.2 only.
BENCH_BUILD := $(BUILD)/bench

bench-deps:
	@scripts/install-packages nginx lua-curl lua-socket lua-cjson gnuplot-nox time curl \
	  lua5.1 liblua5.1-0-dev libnginx-mod-http-echo

$(BENCH_BUILD)/raw_get: bench/raw_get.c | deps bench-deps
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L -O2 $(WARN) $(CURL_CFLAGS) -o $@ $< $(CURL_LIBS)

bench: deps bench-deps build $(BENCH_BUILD)/raw_get
	@$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD)/lua5.1 LUA_VERSION=5.1 build
	BENCH_ROOT="$(CURDIR)" BENCH_RAW_GET="$(CURDIR)/$(BENCH_BUILD)/raw_get" \
	  BENCH_CORE_51="$(CURDIR)/$(BENCH_BUILD)/lua5.1" \
	  LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;" \
	  LUA_CPATH="$(CURDIR)/$(BUILD)/?.so;;" \
	  $(LUA) bench/run.lua

# The same benchmark with another revision of this module run side by side
# (GET one group and the listing speed-up, as ratios to it): a change that
# must not slow things down is measured in one run, before and after.
#   make bench-compare BASELINE=<git revision>   (default: HEAD~1)
BASELINE ?= HEAD~1
BASELINE_DIR = /tmp/genesiscloud-bench-baseline
bench-compare: deps bench-deps build
	rm -rf $(BASELINE_DIR) && git worktree prune
	git worktree add --detach $(BASELINE_DIR) $(BASELINE)
	$(MAKE) --no-print-directory -C $(BASELINE_DIR) build
	$(MAKE) --no-print-directory bench BENCH_BASELINE=$(BASELINE_DIR) \
	  BENCH_ONLY=$${BENCH_ONLY:-per_request,listing}; \
	  rc=$$?; git worktree remove --force $(BASELINE_DIR); exit $$rc
