# Convenience targets over the same sources the rockspec builds.
# `make demo` and `make test` do all the set-up on a fresh Debian 12 machine.

LUA_VERSION ?= 5.4
LUA         ?= lua$(LUA_VERSION)
LUA_CFLAGS  ?= $(shell pkg-config --cflags lua$(LUA_VERSION) 2>/dev/null)
CURL_CFLAGS ?= $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS   ?= $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
OPT         ?= -O2 -g
WARN        := -Wall -Wextra -Wshadow -Wwrite-strings -pedantic -Werror
CFLAGS_ALL  := -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC $(OPT) $(WARN) \
               $(LUA_CFLAGS) $(CURL_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS_ALL := -shared $(CURL_LIBS) -lpthread $(EXTRA_LDFLAGS)

BUILD   ?= build
CORE_SO := $(BUILD)/genesiscloud/core.so
SOURCES := $(wildcard src/*.c)
HEADERS := $(wildcard src/*.h)

# busted and lua-http are installed by Debian under the 5.1 tree only.
DEBIAN_LUA_PATH := /usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua
BUSTED := LUA_PATH="$(DEBIAN_LUA_PATH);;" $(LUA) /usr/bin/busted
BUSTED_ARGS ?=

.PHONY: all build deps tools demo test memcheck clean

all: build

build: $(CORE_SO)

$(CORE_SO): $(SOURCES) $(HEADERS)
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

test: deps tools build
	$(BUSTED) $(BUSTED_ARGS)

# The whole suite under valgrind: no errors, nothing definitely or
# indirectly lost.
memcheck: deps tools build
	LUA_PATH="$(DEBIAN_LUA_PATH);;" valgrind --quiet --error-exitcode=99 \
	  --leak-check=full --errors-for-leak-kinds=definite,indirect \
	  --show-leak-kinds=definite,indirect \
	  $(LUA) /usr/bin/busted $(BUSTED_ARGS)

clean:
	rm -rf $(BUILD)
