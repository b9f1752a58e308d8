# lockscope: build, test, demo. Everything generated goes to $(OUTPUT) (git ignores it).
# make V=1 shows the commands.

# make SANITIZE=1 test: everything built with ASan and UBSan, in its own build directory.
ifeq ($(SANITIZE),1)
OUTPUT ?= build/sanitize
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# the interpreters do not depend on how lockscope is built: the sanitize build uses the normal one's
PYTHONS_OUT ?= build
endif
OUTPUT ?= build
PYTHONS_OUT ?= $(OUTPUT)
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE $(SAN_FLAGS)
# the folders: tracer/ (the recorder and the command line), tracer/format (the trace file),
# tracer/lib (what both halves use), reports/{analysis,model,render} and reports/ (its commands)
SRC_DIRS := tracer tracer/top tracer/format tracer/lib reports reports/analysis reports/model reports/render
INCLUDES := -I$(OUTPUT) -Ibpf $(addprefix -I,$(SRC_DIRS))
HEADERS := $(wildcard $(addsuffix /*.h,$(SRC_DIRS)))
LDLIBS := -lbpf -ldw -lelf -lz -lm -lncursesw

# Debian packages the build, the tests and the demo need.
DEPS := clang llvm gcc make pkg-config libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev \
	libcmocka-dev libncurses-dev tmux

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# reports/ reads traces; tracer/format and tracer/lib are shared with the recorder (tracer/)
SHARED_SRCS := $(wildcard tracer/format/*.c tracer/lib/*.c)
REPORT_SRCS := $(wildcard reports/*.c reports/*/*.c) $(SHARED_SRCS)
TRACER_SRCS := $(wildcard tracer/*.c tracer/top/*.c)
REPORT_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(REPORT_SRCS))
TRACER_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(TRACER_SRCS))
TESTS := $(patsubst tests/%.c,$(OUTPUT)/tests/%,$(wildcard tests/test_*.c))
WORKLOADS := $(patsubst workloads/%.c,$(OUTPUT)/workloads/%,\
	$(filter-out workloads/lib%.c,$(wildcard workloads/*.c))) \
	$(OUTPUT)/workloads/libsites.so $(OUTPUT)/workloads/sites-so
BIN := $(OUTPUT)/lockscope

.DELETE_ON_ERROR:
.PHONY: all clean install deps check-deps test tests format workloads demo golden bench soak soak-top fuzz \
	valgrind pythons

all: $(BIN) workloads

workloads: $(WORKLOADS)

$(OUTPUT) $(OUTPUT)/tests $(OUTPUT)/workloads:
	$(Q)mkdir -p $@

$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUTPUT)/lockscope.bpf.o: bpf/lockscope.bpf.c bpf/lockscope.h $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(OUTPUT) -Ibpf -c $< -o $@

$(OUTPUT)/lockscope.skel.h: $(OUTPUT)/lockscope.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name lockscope_bpf > $@

$(OUTPUT)/reports/%.o: reports/%.c $(HEADERS) bpf/lockscope.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@

$(OUTPUT)/tracer/%.o: tracer/%.c $(HEADERS) bpf/lockscope.h $(OUTPUT)/lockscope.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@

$(BIN): $(TRACER_OBJS) $(REPORT_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/workloads/%: workloads/%.c $(wildcard workloads/*.h) | $(OUTPUT)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) $(WORKLOAD_CFLAGS) $< -lpthread -lm -o $@

# the call sites of the stack tests: in the program, and in a shared library
WORKLOAD_CFLAGS = $(filter-out $(SAN_FLAGS),$(CFLAGS)) -Iworkloads

$(OUTPUT)/workloads/sites: workloads/sites.c workloads/libsites.c $(wildcard workloads/*.h) \
		| $(OUTPUT)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) $(WORKLOAD_CFLAGS) workloads/sites.c workloads/libsites.c -lpthread -o $@

$(OUTPUT)/workloads/libsites.so: workloads/libsites.c $(wildcard workloads/*.h) | $(OUTPUT)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) $(WORKLOAD_CFLAGS) -shared -fPIC $< -lpthread -o $@

$(OUTPUT)/workloads/sites-so: workloads/sites.c $(OUTPUT)/workloads/libsites.so | $(OUTPUT)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) $(WORKLOAD_CFLAGS) $< -L$(OUTPUT)/workloads -lsites -Wl,-rpath,'$$ORIGIN' \
		-lpthread -o $@

# tests link the pure user-space code: reports/, and the recorder's /proc reader
TEST_OBJS := $(REPORT_OBJS) $(OUTPUT)/tracer/procmaps.o $(OUTPUT)/tracer/pyfind.o \
	$(OUTPUT)/tracer/pyframes.o $(OUTPUT)/tracer/launch.o

$(OUTPUT)/tests/%: tests/%.c $(wildcard tests/*.h) $(TEST_OBJS) $(BIN) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -Itests -DLS_BUILD_DIR='"$(abspath $(OUTPUT))"' \
		-DLS_SOURCE_DIR='"$(CURDIR)"' \
		-DLS_PYTHONS_LIST='"$(abspath $(PYTHONS_OUT))/pythons.txt"' $< \
		$(TEST_OBJS) -lcmocka -lpthread -lelf -lm -o $@

tests: $(TESTS)

# The README's test command. Integration tests need root and BPF; they skip, saying why, without.
# They run as root: under sudo, SUDO_UID would make lockscope write as the user into root's
# scratch directories; the tests about the sudo user set it themselves.
test: check-deps
	$(Q)$(MAKE) --no-print-directory all tests
	$(Q)env -u SUDO_UID -u SUDO_GID -u SUDO_USER tests/run-tests $(TESTS)

# make pythons (root, Debian's mirror): the CPython interpreters test_python runs, listed in
# $(PYTHONS_OUT)/pythons.txt: pyenv's 3.8-3.13, a stripped copy of each, Debian sid's newest in a
# chroot, Debian's own. Without it, test_python's per-interpreter tests skip. Quick once made.
pythons:
	$(Q)tests/pythons.sh $(PYTHONS_OUT)

# The README's main command: build, trace the bundled workloads, print the reports.
DEMO_DIR ?= $(OUTPUT)/demo
demo: check-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)workloads/demo.sh $(BIN) $(OUTPUT)/workloads $(DEMO_DIR)

# Rewrite the golden reports on purpose; review the diff (git diff tests/golden) before committing.
golden: $(OUTPUT)/tests/test_golden
	$(Q)LS_GOLDEN_UPDATE=1 $<

# make bench: overhead, slowdown, loss, reporter speed and start-up, against the peers found
# (bpftrace, strace, perf trace); prints a table and writes $(BENCH_DIR)/results.txt.
BENCH_DIR := $(OUTPUT)/bench
BENCH_DEPS := bpftrace strace linux-perf time

$(BENCH_DIR):
	$(Q)mkdir -p $@

# the bench's own BPF programs: floor (the same hooks, counting) and hookcost (a hook's parts)
$(BENCH_DIR)/%.bpf.o: tests/bench/%.bpf.c $(OUTPUT)/vmlinux.h | $(BENCH_DIR)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(OUTPUT) -c $< -o $@

.PRECIOUS: $(BENCH_DIR)/%.bpf.o $(BENCH_DIR)/%.skel.h
$(BENCH_DIR)/%.skel.h: $(BENCH_DIR)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BENCH_DIR)/floor $(BENCH_DIR)/hookcost: $(BENCH_DIR)/%: tests/bench/%.c $(BENCH_DIR)/%.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(BENCH_DIR) $< $(LDLIBS) -o $@

$(BENCH_DIR)/gentrace: tests/bench/gentrace.c tests/bench/hostile.h $(REPORT_OBJS) | $(BENCH_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $< $(REPORT_OBJS) -lelf -lm -o $@

bench: check-deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_DIR)/floor $(BENCH_DIR)/hookcost $(BENCH_DIR)/gentrace
	$(Q)for p in $(BENCH_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || { echo "bench: installing $$p"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$p >/dev/null || true; }; done
	$(Q)python3 tests/bench/bench.py --build $(OUTPUT) --out $(BENCH_DIR)/results.txt

# make soak: a SOAK_SECONDS recording at SOAK_RATE futex wakes a second; fails when the recorder's
# memory grows after the warm-up, a record is lost, or the file does not grow as predicted.
SOAK_SECONDS ?= 600
SOAK_RATE ?= 1000000
soak: check-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)python3 tests/bench/soak.py --build $(OUTPUT) --seconds $(SOAK_SECONDS) --rate $(SOAK_RATE)

# make soak-top: lockscope top for SOAK_TOP_SECONDS on threads and locks that come and go; fails
# when its memory grows after the warm-up or a map fills.
SOAK_TOP_SECONDS ?= 1200
soak-top: check-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)python3 tests/bench/soak_top.py --build $(OUTPUT) --seconds $(SOAK_TOP_SECONDS)

# make fuzz: the trace reader, analysis and renderers under libFuzzer with ASan and UBSan, for
# FUZZ_SECONDS, from the corpus in tests/fuzz/corpus (new finds are added to it).
FUZZ_SECONDS ?= 60
FUZZ_SEED ?= 0 # 0: a new one each run
FUZZ_DIR := $(OUTPUT)/fuzz
FUZZ_DEPS := libclang-rt-14-dev
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Wall -std=gnu11 -D_GNU_SOURCE

$(FUZZ_DIR)/fuzz_trace: tests/fuzz/fuzz_trace.c $(REPORT_SRCS) $(HEADERS) \
		$(OUTPUT)/lockscope.skel.h
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(FUZZ_DIR)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(INCLUDES) $< $(REPORT_SRCS) -lelf -lm -o $@

fuzz: check-deps
	$(Q)for p in $(FUZZ_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || { echo "fuzz: installing $$p"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$p >/dev/null; }; done
	$(Q)$(MAKE) --no-print-directory $(FUZZ_DIR)/fuzz_trace
	$(Q)mkdir -p $(FUZZ_DIR)/new
	$(Q)$(FUZZ_DIR)/fuzz_trace -max_total_time=$(FUZZ_SECONDS) -max_len=131072 -rss_limit_mb=1024 \
		-timeout=10 -seed=$(FUZZ_SEED) -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/new \
		tests/fuzz/corpus

# The tests that need no root, under valgrind (user-space code only: valgrind cannot run BPF).
# test_hostile: its reports run in children, which valgrind does not follow
# test_launch: valgrind knows no pidfd_open (ENOSYS), which the launcher signals through
# test_pystacks, test_pyfunctions: recordings of interpreters, like test_python; test_top likewise
VALGRIND_TESTS := $(filter-out %/test_record %/test_accuracy %/test_faults %/test_python \
	%/test_pystacks %/test_pyfunctions %/test_hostile %/test_launch %/test_top, $(TESTS))
valgrind: check-deps
	$(Q)$(MAKE) --no-print-directory all tests
	$(Q)for t in $(VALGRIND_TESTS); do \
		valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
			--trace-children=no $$t >/dev/null 2>$(OUTPUT)/valgrind.log || \
			{ cat $(OUTPUT)/valgrind.log; echo "valgrind: $$t failed"; exit 1; }; \
		echo "valgrind: $$t clean"; done

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary and its man page (tracer/lockscope.1)
MANDIR ?= $(PREFIX)/share/man
install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/lockscope
	install -D -m 0644 tracer/lockscope.1 $(DESTDIR)$(MANDIR)/man1/lockscope.1

format:
	clang-format -i bpf/*.[ch] $(addsuffix /*.[ch],$(SRC_DIRS)) tests/*.[ch] tests/bench/*.c \
		workloads/*.[ch]

# Install the Debian packages that are missing, saying which.
deps:
	$(Q)missing=$$(for p in $(DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
			|| echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all present ($(DEPS))"; exit 0; fi; \
	echo "deps: installing" $$missing; \
	if [ "$$(id -u)" != 0 ]; then echo "deps: run as root (sudo make deps)" >&2; exit 1; fi; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing

# Run 'deps' only when a package is missing, so that a ready machine goes straight on.
check-deps:
	$(Q)for p in $(DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
			|| { $(MAKE) --no-print-directory deps; exit $$?; }; done

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)
