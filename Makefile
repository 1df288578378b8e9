# SPDX-License-Identifier: MIT
# forkvisor: a plain GNU Makefile. `make` builds, `make check` runs every test suite (also under
# ASan+UBSan) and ends with one "N passed, N failed" line, `make demo` runs conf/demo.ini.

VERSION    := 0.1.0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
# Where Debian's bats looks for `bats_load_library` (its default BATS_LIB_PATH) when PREFIX=/usr.
BATSDIR    ?= $(PREFIX)/lib/bats
SYSCONFDIR ?= /etc
# systemd reads units from /usr/local/lib/systemd/system (the administrator's) and, for the
# distribution's packages, /lib/systemd/system (Debian 12's systemdsystemunitdir; the same
# directory as /usr/lib/systemd/system on a merged-/usr system).
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
DESTDIR    ?=
BUILD      ?= build
DEBDIR     ?= $(BUILD)/deb
PKG_CONFIG ?= pkg-config
CLANG      ?= clang
FUZZ_SECONDS ?= 300

CFLAGS   ?= -O2 -g
CPPFLAGS += -Isrc -Ilib -D_GNU_SOURCE -DFORKVISOR_VERSION='"$(VERSION)"' -MMD -MP
WARN      = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 \
            -Wno-unused-parameter -Wno-missing-field-initializers $(if $(WERROR),-Werror)
HARDEN    = -fstack-protector-strong -fPIE
LDHARDEN  = -pie -Wl,-z,relro -Wl,-z,now
DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags libsystemd inih libnats 2>/dev/null)
DEP_LIBS   := $(shell $(PKG_CONFIG) --libs libsystemd inih libnats 2>/dev/null)

ifneq ($(SANITIZE),)
  CFLAGS  += -O1 -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=$(SANITIZE)
  BUILD   := build-san
else
  HARDEN  += -D_FORTIFY_SOURCE=2
endif

ALL_CFLAGS  = -std=gnu17 $(WARN) $(HARDEN) $(DEP_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(LDHARDEN) $(LDFLAGS)

CORE_SRC   := $(filter-out src/main.c,$(wildcard src/*.c src/config/*.c src/cli/*.c))
CORE_OBJ   := $(CORE_SRC:src/%.c=$(BUILD)/%.o)
# An archive keeps one member per file name: two sources of one name would lose one of them.
ifneq ($(words $(notdir $(CORE_OBJ))),$(words $(sort $(notdir $(CORE_OBJ)))))
  $(error two sources in src/ share a file name: $(sort $(foreach o,$(notdir $(CORE_OBJ)),$(if $(filter-out 1,$(words $(filter %/$(o),$(CORE_OBJ)))),$(o)))))
endif
MAIN_OBJ   := $(BUILD)/main.o
WORKER_C   := $(wildcard workers/*.c)
WORKERS    := $(WORKER_C:workers/%.c=$(BUILD)/workers/%)
UNIT_SRC   := $(wildcard tests/unit/test-*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# tests/reliability: the trust suite (issue 11), C programs and bats files, one test per case.
REL_SRC    := $(wildcard tests/reliability/test-*.c)
REL_BIN    := $(REL_SRC:tests/reliability/%.c=$(BUILD)/reliability/%)
# libforkvisor: its own objects (PIC, hidden unless exported), src/proto.c, src/registry.c (the
# reader of the shared registry) and src/topic.c compiled in again.
LIB_OBJ    := $(BUILD)/lib/libforkvisor.o $(BUILD)/lib/proto.o $(BUILD)/lib/registry.o $(BUILD)/lib/topic.o
LIB_SONAME := libforkvisor.so.0
LIBS_OUT   := $(BUILD)/$(LIB_SONAME) $(BUILD)/libforkvisor.so $(BUILD)/libforkvisor.a $(BUILD)/forkvisor.pc
LIB_CFLAGS  = -std=gnu17 $(WARN) $(filter-out -fPIE,$(HARDEN)) -fPIC -fvisibility=hidden $(CFLAGS)
# Workers that use the library (they include forkvisor.h) link it statically.
LIB_WORKERS := $(patsubst workers/%.c,$(BUILD)/workers/%,$(shell grep -l 'include "forkvisor.h"' $(WORKER_C) /dev/null))
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
MAN        := $(wildcard man/*.[1-8])

.PHONY: FORCE all deps check check-conf check-unit check-bats check-man check-fuzz check-san \
        check-headers check-reliability check-cluster fuzz demo bench soak race-loop install uninstall deb clean
.DELETE_ON_ERROR:

all: $(BUILD)/forkvisor $(LIBS_OUT) $(WORKERS)

$(BUILD)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libcore.a: $(CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# The worker subcommands (src/cli/worker.c) use the library: one implementation of the worker side.
$(BUILD)/forkvisor: $(MAIN_OBJ) $(BUILD)/libcore.a $(BUILD)/libforkvisor.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS)

$(BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(LIB_CFLAGS) -c -o $@ $<

$(BUILD)/lib/proto.o $(BUILD)/lib/registry.o $(BUILD)/lib/topic.o: $(BUILD)/lib/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(LIB_CFLAGS) -c -o $@ $<

$(BUILD)/libforkvisor.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/$(LIB_SONAME): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(LIB_SONAME) -Wl,-z,relro -Wl,-z,now $(LDFLAGS) -o $@ $^

$(BUILD)/libforkvisor.so: $(BUILD)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $@

# Rewritten whenever PREFIX, LIBDIR or INCLUDEDIR change (`make install PREFIX=/usr` after
# `make`), and only then.
$(BUILD)/forkvisor.pc: lib/forkvisor.pc.in FORCE
	@mkdir -p $(@D)
	@sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' \
	    $< > $@.tmp && if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

# The systemd unit, with the installed paths; rewritten like forkvisor.pc.
$(BUILD)/forkvisor.service: packaging/forkvisor.service.in FORCE
	@mkdir -p $(@D)
	@sed -e 's|@BINDIR@|$(BINDIR)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    $< > $@.tmp && if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

FORCE:

# Test workers are tiny and built without sanitizers even in sanitizer builds: they are the
# processes being supervised, not the code under test.
$(BUILD)/workers/%: workers/%.c workers/markers.h
	@mkdir -p $(@D)
	$(CC) -std=gnu17 -O2 -Wall -Wextra -D_GNU_SOURCE -o $@ $< $(if $(filter workers/notify% workers/listen%,$<),$(shell $(PKG_CONFIG) --cflags --libs libsystemd))

# In a sanitizer build the library is instrumented, so its workers link with LDFLAGS
# (-fsanitize=...) too.
$(LIB_WORKERS): $(BUILD)/workers/%: workers/%.c workers/markers.h lib/forkvisor.h $(BUILD)/libforkvisor.a
	@mkdir -p $(@D)
	$(CC) -std=gnu17 -O2 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -Ilib -o $@ $< $(BUILD)/libforkvisor.a $(LDFLAGS)

# test-lib takes libforkvisor from its archive; the others never pull it in.
$(BUILD)/tests/%: tests/unit/%.c tests/unit/tests.h $(BUILD)/libcore.a $(BUILD)/libforkvisor.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Isrc $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libcore.a $(BUILD)/libforkvisor.a $(DEP_LIBS)

$(BUILD)/reliability/%: tests/reliability/%.c tests/unit/tests.h $(BUILD)/libcore.a $(BUILD)/libforkvisor.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Isrc -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libcore.a $(BUILD)/libforkvisor.a $(DEP_LIBS)

# libFuzzer targets need clang; they always build with ASan+UBSan.
FUZZ_LIB_SRC := $(filter-out src/cli/%,$(CORE_SRC))
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRC)
	@mkdir -p $(@D)
	$(CLANG) -std=gnu17 -g -O1 -D_GNU_SOURCE -DFORKVISOR_VERSION='"$(VERSION)"' -Isrc $(DEP_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o $@ $< $(FUZZ_LIB_SRC) $(DEP_LIBS)

# A package build sets NO_DEPS=1 (packaging/debian/rules): there dpkg checks Build-Depends, and
# nothing may be installed.
deps:
	@$(if $(NO_DEPS),:,packaging/build-deps.sh)

# --- tests ------------------------------------------------------------------------------
# Each suite writes "PASSED FAILED" into $(RESULTS)/<suite>; `check` adds them up.
RESULTS = $(BUILD)/results

check: deps
	@rm -rf build/results build-san/results
	@$(MAKE) --no-print-directory all check-headers check-conf check-unit check-man check-bats check-reliability check-cluster check-fuzz || true
	@$(MAKE) --no-print-directory SANITIZE=address,undefined all check-unit check-bats check-reliability check-cluster || true
	@tests/summarize.sh build/results build-san/results

check-conf: $(BUILD)/forkvisor
	@mkdir -p $(RESULTS)
	@tests/run-conf-check.sh $(BUILD)/forkvisor conf $(RESULTS)/conf

check-unit: $(UNIT_BIN)
	@mkdir -p $(RESULTS)
	@tests/run-unit.sh $(RESULTS)/unit $(UNIT_BIN)

check-bats: all
	@mkdir -p $(RESULTS)
	@FORKVISOR_BUILD=$(abspath $(BUILD)) tests/run-bats.sh $(RESULTS)/bats-$(if $(SANITIZE),san,plain) tests/bats

# The reliability suite: its C programs (like the unit tests), then its bats files.
check-reliability: all $(REL_BIN)
	@mkdir -p $(RESULTS)
	@tests/run-unit.sh $(RESULTS)/reliability-unit $(REL_BIN)
	@FORKVISOR_BUILD=$(abspath $(BUILD)) tests/run-bats.sh $(RESULTS)/reliability-$(if $(SANITIZE),san,plain) tests/reliability

# The cluster suite (forkvisor-cluster(7)): nodes and NATS servers of its own on 127.0.0.1.
check-cluster: all
	@mkdir -p $(RESULTS)
	@FORKVISOR_BUILD=$(abspath $(BUILD)) tests/run-bats.sh $(RESULTS)/cluster-$(if $(SANITIZE),san,plain) tests/cluster

check-man: $(BUILD)/forkvisor
	@mkdir -p $(RESULTS)
	@tests/run-man-check.sh $(BUILD)/forkvisor $(RESULTS)/man $(MAN)

check-fuzz: $(FUZZ_BIN)
	@mkdir -p $(RESULTS)
	@tests/run-fuzz.sh $(RESULTS)/fuzz 20 $(FUZZ_BIN)

check-san:
	@$(MAKE) --no-print-directory SANITIZE=address,undefined check-unit check-bats check-reliability check-cluster

# The node's rooms, which the client (src/cli/ but run.c, the daemon's entry) never includes: it
# talks to the node through the control protocol (ctlproto.h, control-path.h) only.
NODE_ROOMS := manager|cluster|cluster-names|cluster-kv|cluster-key|cluster-pubsub|cluster-rpc|cluster-subject|cluster-view|nats-loop|node|proc|child|reap|tree|reload|router|mailbox|broker|control|commands|commands-bus|inspect|event-log|status|notify|spawn|output|output-file|cgroup|guard|config|spec|events|journal|log-sink

# Every header compiles on its own; the public one as strict C99 too. One result per header, and
# one for the client's includes.
check-headers:
	@mkdir -p $(RESULTS)
	@p=0; f=0; \
	for h in src/*.h src/config/*.h; do \
	    if echo "#include \"$$h\"" | $(CC) $(filter-out -MMD -MP,$(CPPFLAGS)) $(ALL_CFLAGS) -x c -fsyntax-only -; then p=$$((p + 1)); \
	    else echo "  FAIL: $$h does not compile alone"; f=$$((f + 1)); fi; \
	done; \
	if echo '#include "forkvisor.h"' | $(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Ilib -x c -fsyntax-only -; then \
	    p=$$((p + 1)); else echo "  FAIL: lib/forkvisor.h is not strict C99"; f=$$((f + 1)); fi; \
	bad=$$(grep -lE '#include "($(NODE_ROOMS))\.h"' $(filter-out src/cli/run.c,$(wildcard src/cli/*.[ch]))); \
	if [ -z "$$bad" ]; then p=$$((p + 1)); \
	else echo "  FAIL: $$bad: the client includes node internals"; f=$$((f + 1)); fi; \
	echo "headers: $$p passed, $$f failed"; echo "$$p $$f" > $(RESULTS)/headers

fuzz: $(FUZZ_BIN)
	@mkdir -p $(BUILD)/results
	@tests/run-fuzz.sh $(BUILD)/results/fuzz-long $(FUZZ_SECONDS) $(FUZZ_BIN)

# --- running ----------------------------------------------------------------------------
# `all` in a second make: pkg-config's flags are read when a make starts, so a make that has just
# installed the build dependencies (deps) would link without them.
demo: deps
	@$(MAKE) --no-print-directory all
	@conf/run-demo.sh $(BUILD)

bench: all
	@CC="$(CC)" bench/run.sh $(BUILD)

# Not part of check: 200 workers under random SIGKILLs and control traffic for SOAK_SECONDS
# (default 600), then assertions on the node's health, printed as a table.
soak: all
	@tests/soak/soak.sh $(BUILD)

# README's shell test and a kill/restart/events script, ROUNDS times each: no failure allowed.
ROUNDS ?= 200
race-loop: all
	@tests/soak/race-loop.sh $(abspath $(BUILD)) $(ROUNDS)

# --- installing -------------------------------------------------------------------------
install: $(BUILD)/forkvisor $(LIBS_OUT) $(BUILD)/forkvisor.service
	install -Dm755 $(BUILD)/forkvisor $(DESTDIR)$(BINDIR)/forkvisor
	install -Dm644 $(BUILD)/$(LIB_SONAME) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libforkvisor.so
	install -Dm644 $(BUILD)/libforkvisor.a $(DESTDIR)$(LIBDIR)/libforkvisor.a
	install -Dm644 lib/forkvisor.h $(DESTDIR)$(INCLUDEDIR)/forkvisor.h
	install -Dm644 $(BUILD)/forkvisor.pc $(DESTDIR)$(LIBDIR)/pkgconfig/forkvisor.pc
	for m in $(MAN); do install -Dm644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/$$(basename $$m) || exit 1; done
	install -Dm644 $(BUILD)/forkvisor.service $(DESTDIR)$(UNITDIR)/forkvisor.service
	install -Dm644 lib/bats/forkvisor/load.bash $(DESTDIR)$(BATSDIR)/forkvisor/load.bash
	test -e $(DESTDIR)$(SYSCONFDIR)/forkvisor/forkvisor.ini || \
	    install -Dm644 conf/forkvisor.ini.example $(DESTDIR)$(SYSCONFDIR)/forkvisor/forkvisor.ini

# The configuration stays, edited or not, like a Debian conffile on `remove`: it is the
# administrator's file from the moment it is installed. Delete it by hand to drop it.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/forkvisor
	rm -f $(DESTDIR)$(LIBDIR)/$(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libforkvisor.so $(DESTDIR)$(LIBDIR)/libforkvisor.a
	rm -f $(DESTDIR)$(INCLUDEDIR)/forkvisor.h $(DESTDIR)$(LIBDIR)/pkgconfig/forkvisor.pc
	for m in $(MAN); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$$(basename $$m); done
	rm -f $(DESTDIR)$(UNITDIR)/forkvisor.service
	rm -f $(DESTDIR)$(BATSDIR)/forkvisor/load.bash
	-rmdir $(DESTDIR)$(BATSDIR)/forkvisor

# The Debian packages (packaging/debian), built from a copy of the tracked files, into $(DEBDIR).
# DEB_BUILD_OPTIONS=nocheck skips the package's own `make check`.
deb:
	@packaging/build-deb.sh $(DEBDIR)

clean:
	rm -rf build build-san

-include $(shell find build build-san -name '*.d' 2>/dev/null)
