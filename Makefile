# mgdcfs - mount a Microsoft Graph Data Connect tenant as a directory.
# A short hand-written Makefile: knobs first, then rules.

# Installation prefix and staging root (make install PREFIX=/usr DESTDIR=pkg).
PREFIX     ?= /usr/local
DESTDIR    ?=
# Where mount(8) looks for mount.TYPE helpers (always /sbin, whatever PREFIX is).
SBINDIR    ?= /sbin
# systemd's unit directory for the sample units (systemd also reads /usr/local/lib).
UNITDIR    ?= $(PREFIX)/lib/systemd/system
# C compiler; fuzz targets always use clang.
CC         ?= cc
# Build directory; sanitizer builds go to their own (build-asan, ...).
BUILD      ?= build
# DEVELOPER=1 turns on strict warnings and -Werror.
DEVELOPER  ?=
# SANITIZE=address,undefined (or thread) builds the sanitizer variant.
SANITIZE   ?=
# Optimisation and debug info.
OPT        ?= -O2 -g

VERSION    := 0.1.0
PKGS       := fuse3 libcurl openssl libcjson lmdb expat libsystemd

CFLAGS_PKG := $(shell pkg-config --cflags $(PKGS))
LIBS_PKG   := $(shell pkg-config --libs $(PKGS))

CFLAGS     ?=
CFLAGS     += -std=gnu11 $(OPT) -Wall -Wextra -Wno-unused-parameter -pthread \
              -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -DMGDCFS_VERSION='"$(VERSION)"' -I. $(CFLAGS_PKG)
LDLIBS     += -Wl,--as-needed $(LIBS_PKG) -pthread -lm

ifeq ($(DEVELOPER),1)
CFLAGS     += -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
              -Wvla -Wpointer-arith -Wcast-qual -Wno-format-nonliteral
endif
ifneq ($(SANITIZE),)
CFLAGS     += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=$(SANITIZE)
endif

CORE_SRC   := $(wildcard base/*.c net/*.c cache/*.c)
FS_SRC     := $(filter-out fs/main.c,$(wildcard fs/*.c))
CORE_OBJ   := $(CORE_SRC:%.c=$(BUILD)/%.o)
FS_OBJ     := $(FS_SRC:%.c=$(BUILD)/%.o) $(BUILD)/catalog_blob.o
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Micro-benchmarks (tests/bench): built with the unit tests so they keep compiling, run by hand.
BENCH_SRC  := $(wildcard tests/bench/bench_*.c)
BENCH_BIN  := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/tests/%)
CATALOG    := scripts/sandbox.d/catalog.json

.PHONY: all clean install uninstall check test unit unit-build format format-check demo bench fuzz \
        fuzz-build fuzz-bins

all: $(BUILD)/mgdcfs

$(BUILD)/mgdcfs: $(BUILD)/fs/main.o $(BUILD)/libfs.a $(BUILD)/libcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libcore.a: $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libfs.a: $(FS_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# The dataset catalog is shared with the sandbox and embedded at build time.
$(BUILD)/catalog_blob.o: $(CATALOG)
	@mkdir -p $(BUILD)
	printf '\t.section .rodata\n\t.global catalog_json\n\t.global catalog_json_end\ncatalog_json:\n\t.incbin "%s"\ncatalog_json_end:\n\t.byte 0\n\t.section .note.GNU-stack,"",@progbits\n' "$(CATALOG)" > $(BUILD)/catalog_blob.S
	$(CC) -c -o $@ $(BUILD)/catalog_blob.S

# Unit tests link the archives; the linker pulls in only the modules a test uses.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libfs.a $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $^ $(LDLIBS)

$(BUILD)/tests/bench_%: tests/bench/bench_%.c $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit-build: $(UNIT_BIN) $(BENCH_BIN)

# The C unit tests alone (no sandbox needed; the sandbox cases skip without one).
unit: all unit-build
	BUILD=$(BUILD) MGDC_TEST_BUILDS=$(BUILD) tests/run unit

# The README's test command: installs what is missing, starts the sandbox, runs everything.
test:
	scripts/test

# The same suites without installing anything: names what is missing and stops.
check:
	MGDC_DEPS=check scripts/test

demo:
	scripts/demo

bench:
	scripts/bench

fuzz:
	tests/fuzz/run

# libFuzzer targets (tests/fuzz/fuzz_<name>.c), built with clang under ASan and
# UBSan in their own build directory: `make fuzz-build` compiles the parsers
# they drive there with fuzzer instrumentation and links one binary per target.
FUZZ_BUILD ?= build-fuzz
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
# Only the modules under test (no FUSE adapter, no cache): an unrelated change
# elsewhere cannot stop the fuzzers from building.
FUZZ_LIB   := $(patsubst %.c,$(BUILD)/%.o,base/clock.c base/log.c base/text.c $(wildcard net/*.c) fs/catalog.c \
              fs/config.c fs/jsonkeys.c fs/plan.c fs/spec.c fs/spec_pipeline.c fs/spec_fuzz.c fs/tree.c \
              fs/window.c) \
              $(BUILD)/catalog_blob.o
# fuzz_rest answers the REST clients' requests itself: auth_do is replaced.
FUZZ_LDFLAGS_fuzz_rest := -Wl,--wrap=auth_do

fuzz-build:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang SANITIZE=fuzzer-no-link,address,undefined fuzz-bins

fuzz-bins: $(FUZZ_BIN)

$(BUILD)/libfuzz.a: $(FUZZ_LIB)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libfuzz.a
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS) $(FUZZ_LDFLAGS_fuzz_$*)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

MAN7       := $(notdir $(wildcard man/*.7))
UNITS      := $(notdir $(wildcard systemd/*.service systemd/*.mount))

install: $(BUILD)/mgdcfs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man7 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/mgdcfs $(DESTDIR)$(PREFIX)/bin/mgdcfs
	install -m 0644 man/mgdcfs.1 $(DESTDIR)$(PREFIX)/share/man/man1/mgdcfs.1
	for m in $(MAN7); do install -m 0644 man/$$m $(DESTDIR)$(PREFIX)/share/man/man7/$$m; done
	sed 's|@BINDIR@|$(PREFIX)/bin|g' scripts/mount.mgdcfs > $(DESTDIR)$(SBINDIR)/mount.mgdcfs
	chmod 0755 $(DESTDIR)$(SBINDIR)/mount.mgdcfs
	ln -sf mount.mgdcfs $(DESTDIR)$(SBINDIR)/mount.fuse.mgdcfs
	for u in $(UNITS); do sed 's|@BINDIR@|$(PREFIX)/bin|g' systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u; done

# Removes exactly what install put.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mgdcfs $(DESTDIR)$(PREFIX)/share/man/man1/mgdcfs.1
	for m in $(MAN7); do rm -f $(DESTDIR)$(PREFIX)/share/man/man7/$$m; done
	rm -f $(DESTDIR)$(SBINDIR)/mount.mgdcfs $(DESTDIR)$(SBINDIR)/mount.fuse.mgdcfs
	for u in $(UNITS); do rm -f $(DESTDIR)$(UNITDIR)/$$u; done

clean:
	rm -rf build build-*

-include $(CORE_OBJ:.o=.d) $(FS_OBJ:.o=.d) $(BUILD)/fs/main.d
