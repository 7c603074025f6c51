# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# gilscope: libbpf-bootstrap style build with Debian's libbpf, bpftool, clang.
#
#   make              build/gilscope, build/gildemo
#   make test         unit + integration tests (integration needs root)
#   make demo         the default teaching demo (needs root)
#   make demos        the six teaching demos of docs/demos.md (needs root)
#   make bench        traced/untraced ratios
#   make vmlinux      regenerate vmlinux/<arch>/vmlinux.h from this kernel
#   make SANITIZE=1   ASan + UBSan user space
#   make install PREFIX=/usr/local DESTDIR=...

OUTPUT    ?= build
CLANG     ?= clang
CC        ?= gcc
BPFTOOL   ?= bpftool
PYTHON    ?= python3
PREFIX    ?= /usr/local
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX   := vmlinux/$(ARCH)/vmlinux.h
VERSION   := 0.1.0

CFLAGS    ?= -g -O2
CFLAGS    += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE \
             -DGILSCOPE_VERSION='"$(VERSION)"' -fno-omit-frame-pointer
CPPFLAGS  += -I$(OUTPUT) -Ibpf -Iuser
# zydis decodes x86 for probe placement (user/insn.c); Debian's
# libzydis-dev 4.0 ships no pkg-config file
ZYDIS_LIBS := $(shell pkg-config --libs zydis 2>/dev/null || echo -lZydis)
# elfutils' libdw (libdwfl): names from debug files, MiniDebugInfo, DWARF
DW_LIBS   := $(shell pkg-config --libs libdw 2>/dev/null || echo -ldw -lelf)
LDLIBS    += -lbpf $(DW_LIBS) -lelf -lz -lm $(ZYDIS_LIBS)
ifeq ($(SANITIZE),1)
CFLAGS    += -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS   += -fsanitize=address,undefined
endif

# clang's own system include dirs, so BPF code finds asm/types.h etc.
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
SKELS     := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%.o,$(UNIT_SRCS))
DEMO_SRCS := $(wildcard demo/*.c)
DEMO_BINS := $(patsubst demo/%.c,$(OUTPUT)/%,$(DEMO_SRCS))
TEST_BINS := $(patsubst tests/workloads/%.c,$(OUTPUT)/tests/%,$(wildcard tests/workloads/*.c)) \
	     $(OUTPUT)/tests/lockholder-static

.PHONY: all clean test unit demo demos bench vmlinux install fuzz deps traces
.DELETE_ON_ERROR:
.SECONDARY:

all: $(OUTPUT)/gilscope $(DEMO_BINS) $(OUTPUT)/unit_tests $(TEST_BINS) $(OUTPUT)/pyprobe

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/tests:
	$(Q)mkdir -p $@

# -mcpu=v3: atomic compare-and-exchange (--summary's histograms' max)
$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
		-Ibpf -I$(dir $(VMLINUX)) $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/user/%.o: user/%.c $(wildcard user/*.h) $(wildcard bpf/*.h) $(SKELS) | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(CPPFLAGS) -c $< -o $@

$(OUTPUT)/gilscope: $(OUTPUT)/user/main.o $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Demo programs and test workloads: plain pthread programs with frame
# pointers and symbols, so stacks and lock names resolve.  They are what
# gets traced, so never sanitizer builds: ASan's own futex locks would
# join the contention the tests measure.
TARGET_CFLAGS := -g -O2 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -fno-omit-frame-pointer

$(OUTPUT)/%: demo/%.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TARGET_CFLAGS) -pthread $< -o $@ -lm

$(OUTPUT)/tests/%: tests/workloads/%.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(TARGET_CFLAGS) -pthread $< -o $@ -lm

# a static program: no dynamic glibc for the pthread uprobes
$(OUTPUT)/tests/lockholder-static: tests/workloads/lockholder.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(TARGET_CFLAGS) -static -pthread $< -o $@ -lm

$(OUTPUT)/tests/%.o: tests/unit/%.c tests/unit/testlib.h $(wildcard user/*.h) $(wildcard bpf/*.h) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(CPPFLAGS) -Itests/unit -c $< -o $@

# the Python readers' live checks, frames and thread names
# (tests/integration/test_pyread.py, test_pythreads.py)
$(OUTPUT)/pyprobe: tests/tools/pyprobe.c $(USER_OBJS) $(wildcard user/*.h) $(wildcard bpf/*.h)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) $< $(USER_OBJS) $(LDLIBS) -o $@

$(OUTPUT)/unit_tests: $(UNIT_OBJS) $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Install what a fresh Debian/Ubuntu machine lacks (root only; a no-op
# when everything is present).
deps:
	$(Q)./tests/install-deps.sh

test: deps all
	$(Q)$(PYTHON) tests/run.py --build $(OUTPUT)

unit: $(OUTPUT)/unit_tests
	$(Q)$(PYTHON) tests/run.py --build $(OUTPUT) --only unit

demo: deps all
	$(Q)./demo/run-demo.sh $(OUTPUT)

# the six teaching demos (docs/demos.md), one after another; needs root
demos: deps all
	$(Q)for d in demo/[1-6]-*.py; do GILSCOPE_BUILD=$(OUTPUT) python3 $$d || exit 1; echo; done

traces: deps all
	$(Q)./traces/make-traces.sh $(OUTPUT)

bench: deps all
	$(Q)$(PYTHON) tests/bench/bench.py --build $(OUTPUT)

# libFuzzer runs of a fixed length over the trace reader (byte-level, and
# structure-aware: chunks reordered, dropped, re-deflated and re-CRCed),
# the ELF symbol reader and the perf map reader (FUZZ_SECONDS each), seeded with real inputs
# (a lock trace, a hung program's, and one that follows an exec into Python).
FUZZ_SECONDS ?= 20
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -DGILSCOPE_VERSION='"fuzz"' \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Ibpf -Iuser -I$(OUTPUT)
FUZZ_USER := $(filter-out user/main.c user/live.c user/tracer.c user/watch.c user/summary.c \
		user/inflight.c user/session.c user/target.c user/exec_follow.c user/holdguard.c,\
		$(wildcard user/*.c))

$(OUTPUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_USER) $(wildcard user/*.h) | $(OUTPUT)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $< $(FUZZ_USER) $(DW_LIBS) -lelf -lz -lm $(ZYDIS_LIBS) -o $@

fuzz: $(OUTPUT)/fuzz_tracefile $(OUTPUT)/fuzz_tracefile_chunks $(OUTPUT)/fuzz_elf $(OUTPUT)/fuzz_perfmap \
		$(OUTPUT)/gilscope $(OUTPUT)/tests/lockholder $(OUTPUT)/tests/deadlock
	$(Q)mkdir -p $(OUTPUT)/corpus/tracefile $(OUTPUT)/corpus/tracefile_chunks $(OUTPUT)/corpus/elf \
		$(OUTPUT)/corpus/perfmap
	$(Q)printf '7f00 40 py::fib:/tmp/x.py\n7f40 10 [jit] stub\n' > $(OUTPUT)/corpus/perfmap/seed.map
	$(Q)rm -f $(OUTPUT)/corpus/tracefile/seed.gst $(OUTPUT)/corpus/tracefile/hung.gst \
		$(OUTPUT)/corpus/tracefile/exec.gst
	$(Q)if [ "$$(id -u)" = 0 ]; then $(OUTPUT)/gilscope -o $(OUTPUT)/corpus/tracefile/seed.gst \
		--locks=all -- $(OUTPUT)/tests/lockholder -r 3 >/dev/null 2>&1 || true; \
		$(OUTPUT)/gilscope -o $(OUTPUT)/corpus/tracefile/hung.gst -d 0.5 \
		-- $(OUTPUT)/tests/deadlock >/dev/null 2>&1 || true; \
		$(OUTPUT)/gilscope -o $(OUTPUT)/corpus/tracefile/exec.gst \
		-- env python3 -c pass >/dev/null 2>&1 || true; fi
	$(Q)cp traces/*.gst $(OUTPUT)/corpus/tracefile/ 2>/dev/null || true
	$(Q)cp traces/*.gst tests/fuzz/seeds/*.gst $(OUTPUT)/corpus/tracefile_chunks/ 2>/dev/null || true
	$(Q)cp $(OUTPUT)/corpus/tracefile/seed.gst $(OUTPUT)/corpus/tracefile/hung.gst \
		$(OUTPUT)/corpus/tracefile/exec.gst $(OUTPUT)/corpus/tracefile_chunks/ 2>/dev/null || true
	$(Q)cp $(OUTPUT)/tests/lockholder $(OUTPUT)/corpus/elf/ 2>/dev/null || true
	$(Q)./tests/fuzz/run.sh $(OUTPUT)/fuzz_tracefile $(OUTPUT)/corpus/tracefile $(FUZZ_SECONDS)
	$(Q)./tests/fuzz/run.sh $(OUTPUT)/fuzz_tracefile_chunks $(OUTPUT)/corpus/tracefile_chunks \
		$(FUZZ_SECONDS) 1048576
	$(Q)./tests/fuzz/run.sh $(OUTPUT)/fuzz_elf $(OUTPUT)/corpus/elf $(FUZZ_SECONDS)
	$(Q)./tests/fuzz/run.sh $(OUTPUT)/fuzz_perfmap $(OUTPUT)/corpus/perfmap $(FUZZ_SECONDS)

vmlinux:
	$(Q)mkdir -p $(dir $(VMLINUX))
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

install: $(OUTPUT)/gilscope $(OUTPUT)/gildemo
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(OUTPUT)/gilscope $(DESTDIR)$(PREFIX)/bin/gilscope
	install -m 0755 $(OUTPUT)/gildemo $(DESTDIR)$(PREFIX)/bin/gildemo

clean:
	rm -rf $(OUTPUT)
