# charnn: build, test and install. Plain make, no configure step.
#   make                 the charnn binary, build/libcharnn.a and build/libcharnn.so
#   make test            every test; ends with "N passed, N failed"
#   make test SANITIZE=1 the same, built with AddressSanitizer and UBSan
#   make test TSAN=1     the same, built with ThreadSanitizer
#   make bench           training and sampling throughput (charnn bench)
#   make soak            SIGKILL soak of the checkpoint (KILLS=, default 60)
#   make abuse           a careless user, repeated: concurrent runs, the corpus
#                        changed while training, signals (ROUNDS=, default 20);
#                        big inputs: a 100 MB corpus, a vocabulary of 100,000
#   make fuzz            libFuzzer targets with clang (FUZZ_SECONDS= each, 60)
#   make MPI=1 test-mpi  data-parallel training under mpirun, 2 ranks against 1
#   make install         charnn, charnn.h, charnn_tools.h, libcharnn.a, libcharnn.so
#                        (soname libcharnn.so.MAJOR.MINOR), charnn.1, charnn.pc under
#                        PREFIX (default /usr/local), DESTDIR respected; the Python
#                        module charnn.py where python3 looks under PREFIX (PYDIR=)
#   make uninstall       removes them
#   make clean
#   make CROSS_COMPILE=aarch64-linux-gnu-
#                        charnn for ARM64 Linux, with aarch64-linux-gnu-gcc, into
#                        build/aarch64-linux-gnu/ (programs linked statically)
#   make test CROSS_COMPILE=aarch64-linux-gnu-
#                        every test on that build, run by qemu-aarch64 (EMU=)
#   make CROSS_COMPILE=x86_64-w64-mingw32-
#                        charnn.exe for Windows, with MinGW-w64, into
#                        build/x86_64-w64-mingw32/ (needs only Windows' DLLs)
#   make test CROSS_COMPILE=x86_64-w64-mingw32-
#                        the C tests under wine, then charnn.exe against charnn
# The matrix and cell kernels (ISA_SRC) are compiled once per instruction
# set: portable C, on x86-64 also x86-64-v3 (AVX2, FMA) and x86-64-v4
# (AVX-512), on AArch64 also NEON; the binary picks the best the CPU
# supports at run time, so the default build is fast where it runs and
# still runs on any x86-64.
# -ffp-contract=off keeps a*b+c unfused unless the code asks for fma, so
# vectorized and scalar code round alike; -fno-math-errno lets sqrt
# vectorize (nothing reads errno). No -ffast-math: arithmetic stays IEEE.

CC       ?= cc
# CROSS_COMPILE=prefix- (aarch64-linux-gnu-, x86_64-w64-mingw32-): a build
# for another system (charnn help platforms). The compiler and archiver
# are prefix-gcc and prefix-ar (unless CC or AR is given), the build goes
# to build/<target>/, and make test runs its programs under EMU (qemu-<cpu>)
# or, for Windows, wine.
ifneq ($(CROSS_COMPILE),)
ifeq ($(origin CC),default)
CC       := $(CROSS_COMPILE)gcc
endif
ifeq ($(origin AR),default)
AR       := $(CROSS_COMPILE)ar
endif
endif
CFLAGS   ?= -O3 -g
TARGET   := $(shell $(CC) -dumpmachine)
comma    := ,
# Windows (MinGW-w64): charnn.exe needs no DLL but Windows' own (the
# toolchain's runtime linked in), takes UTF-8 arguments and file names (its
# manifest, src/os/charnn.manifest) and calls Windows for what POSIX gives
# elsewhere (src/os/windows.c).
WINDOWS  := $(findstring mingw,$(TARGET))
EXE      := $(if $(WINDOWS),.exe)
BASE     := -std=c11 -ffp-contract=off -fno-math-errno -pthread -Wall -Wextra -Wpedantic \
            -Werror=implicit-function-declaration \
            -Wshadow -Wstrict-prototypes
CPPFLAGS += -MMD -MP
LDLIBS   += -lm -pthread
ifneq ($(WINDOWS),)
# C99's printf and 64-bit file sizes from MinGW; the C runtime and libgcc
# linked in, so that charnn.exe needs only Windows' own DLLs. GCC cannot
# align Windows' stack to 32 or 64 bytes (GCC bug 54412): a spilled vector
# register would be stored with an aligned move and fault, so the assembler
# makes every aligned vector move an unaligned one (same speed on aligned
# data).
BASE     := $(filter-out -pthread,$(BASE)) -Wa,-muse-unaligned-vector-move
CPPFLAGS += -D__USE_MINGW_ANSI_STDIO=1 -D_FILE_OFFSET_BITS=64
LDLIBS   := -lm
LDFLAGS  += -static
endif
# The layers (charnn help testing, "Layout"): the library (src/core, src/kernels,
# src/os) sees its own headers; the command line is a client like any other
# program: it sees the public headers (include/) and the platform layer's
# (src/os/os.h, of which it links a copy of its own, src/cli/os.c, under
# names of its own), so reaching inside the library does not compile, and
# it links against either library build (build/charnn-shared: the shared
# one). The Python module (src/python/charnn.py) loads the shared library.
# Tests see everything.
LIB_INC  := -Iinclude -Isrc/core -Isrc/kernels -Isrc/os
# The library's objects serve the static and the shared library alike:
# position-independent, and exporting only what charnn.h and charnn_tools.h
# mark CN_API (every name cn_).
LIB_CFLAGS := -fPIC -fvisibility=hidden -DCHARNN_BUILD
CLI_INC  := -Iinclude -Isrc/os -DCN_OS_FOR_CLI
TEST_INC := $(LIB_INC) -Isrc/cli

# SANITIZE=1: everything in build/san, with ASan and UBSan, any report fatal.
# MPI=1: everything in build/mpi, built with mpicc, charnn trains data-parallel
# under mpirun (src/cli/comm_mpi.c); without it nothing of MPI is compiled.
# TSAN=1: everything in build/tsan, with ThreadSanitizer, any report fatal.
ifeq ($(SANITIZE),1)
B        := build/san
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
BASE     += $(SAN)
LDFLAGS  += $(SAN)
CHARNN   := $(B)/charnn
else ifeq ($(TSAN),1)
B        := build/tsan
SAN      := -fsanitize=thread -fno-omit-frame-pointer
BASE     += $(SAN)
LDFLAGS  += $(SAN)
CHARNN   := $(B)/charnn
export TSAN_OPTIONS := halt_on_error=1 exitcode=66 $(TSAN_OPTIONS)
else ifeq ($(MPI),1)
B        := build/mpi
CC       := mpicc
CHARNN   := $(B)/charnn
else ifneq ($(CROSS_COMPILE),)
B        := build/$(TARGET)
CHARNN   := $(B)/charnn$(EXE)
else
B        := build
CHARNN   := charnn$(EXE)
endif
ifneq ($(CROSS_COMPILE),)
ifneq ($(filter 1,$(SANITIZE) $(TSAN) $(MPI)),)
$(error SANITIZE, TSAN and MPI are for native builds, not with CROSS_COMPILE)
endif
# statically linked (the shared library aside), so that they run anywhere,
# and under qemu without the target's libraries
LDFLAGS  += -static
EMU      ?= qemu-$(firstword $(subst -, ,$(shell $(CC) -dumpmachine)))
endif

ISA_SRC := $(addprefix src/kernels/,gemm.c loss.c rnn.c lstm.c gru.c)
# the operating system's calls (src/os/os.h): Windows' or POSIX's
OS_SRC  := src/os/$(if $(WINDOWS),windows,posix).c
LIB_SRC := $(wildcard src/core/*.c) $(filter-out $(ISA_SRC),$(wildcard src/kernels/*.c)) $(OS_SRC)
CLI_SRC := $(filter-out src/cli/comm_%.c,$(wildcard src/cli/*.c)) \
           $(if $(filter 1,$(MPI)),src/cli/comm_mpi.c,src/cli/comm_solo.c)

# aarch64-linux-gnu (GCC) or arm64-apple-darwin (Apple's clang): NEON is
# baseline there, armv8-a keeps the build running on any AArch64 CPU.
X86   := $(findstring x86_64,$(TARGET))
ARM64 := $(filter aarch64-% arm64-%,$(TARGET))
ISAS  := generic $(if $(X86),avx2 avx512) $(if $(ARM64),neon)
FLAGS_generic :=
FLAGS_avx2    := -march=x86-64-v3
FLAGS_avx512  := -march=x86-64-v4
FLAGS_neon    := -march=armv8-a

LIB_OBJ := $(LIB_SRC:src/%.c=$(B)/%.o) $(foreach i,$(ISAS),$(ISA_SRC:src/%.c=$(B)/$(i)/%.o))
CLI_OBJ := $(CLI_SRC:src/%.c=$(B)/%.o) $(B)/cli/topics.o
# The manual's topics (charnn help TOPIC, and man charnn): Markdown in
# src/doc, compiled into the program line by line as C strings.
TOPICS  := model train commands export precision speed quality files safety mpi library platforms testing
# the library again in double precision (portable kernels only), for the
# gradient checks
LIB64_OBJ := $(LIB_SRC:src/%.c=$(B)/f64/%.o) $(ISA_SRC:src/%.c=$(B)/f64/generic/%.o)

TESTS   := $(patsubst tests/%.c,$(B)/%$(EXE),$(wildcard tests/test_*.c))
TEST_SH := $(wildcard tests/test_*.sh)
FUZZ    := checkpoint text cli
REPLAY  := $(FUZZ:%=$(B)/replay_%)

SANITIZED := $(if $(filter 1,$(SANITIZE) $(TSAN)),1)
# (no shared library on Windows, charnn.exe and libcharnn.a; nor on macOS,
# where ld64 wants a .dylib: make install builds one named for ld64)
DARWIN := $(findstring darwin,$(TARGET))
all: $(CHARNN) $(if $(filter 1,$(SANITIZED) $(MPI))$(WINDOWS)$(DARWIN),,$(B)/libcharnn.so)

# Windows: the manifest (UTF-8 code page) as a resource of charnn.exe
MANIFEST := $(if $(WINDOWS),$(B)/os/manifest.o)
$(B)/os/manifest.o: src/os/charnn.manifest
	@mkdir -p $(@D)
	printf '1 24 "%s"\n' $< > $(B)/os/manifest.rc
	$(CROSS_COMPILE)windres $(B)/os/manifest.rc -O coff -o $@

$(CHARNN): $(CLI_OBJ) $(MANIFEST) $(B)/libcharnn.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(MANIFEST) $(B)/libcharnn.a $(LDLIBS)

$(B)/libcharnn.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

# The shared library: libcharnn.so.MAJOR.MINOR.PATCH, its soname
# libcharnn.so.MAJOR.MINOR while the version is 0.x (a 0.x release may change
# the API), libcharnn.so for linking.
VERSION := $(shell sed -n 's/^\#define CHARNN_VERSION "\(.*\)"/\1/p' include/charnn.h)
SONAME  := libcharnn.so.$(word 1,$(subst ., ,$(VERSION))).$(word 2,$(subst ., ,$(VERSION)))
# macOS's linker names a library's install name, not a soname
SONAME_FLAG := $(if $(findstring darwin,$(TARGET)),-Wl$(comma)-install_name$(comma)$(SONAME),\
                 -Wl$(comma)-soname$(comma)$(SONAME))
$(B)/libcharnn.so: $(LIB_OBJ)
	$(CC) $(filter-out -static,$(LDFLAGS)) -shared $(SONAME_FLAG) -o $@ $^ $(LDLIBS)

# The command line linked against the shared library (tests/test_shared.sh):
# it needs nothing of the library but the public interface.
$(B)/charnn-shared: $(CLI_OBJ) $(B)/libcharnn.so
	ln -sf libcharnn.so $(B)/$(SONAME)
	$(CC) $(filter-out -static,$(LDFLAGS)) -o $@ $(CLI_OBJ) -L$(B) -Wl,-rpath,'$$ORIGIN' \
	    -l:libcharnn.so $(LDLIBS)

$(B)/libcharnn64.a: $(LIB64_OBJ)
	$(AR) rcs $@ $^

$(B)/cli/topics.c: $(TOPICS:%=src/doc/%.md) Makefile
	@mkdir -p $(@D)
	@{ printf '/* made by the Makefile from the topics in src/doc */\n#include "cli.h"\n'; \
	  for t in $(TOPICS); do printf 'static const char *const topic_%s[] = {\n' $$t; \
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/    "/' \
	        -e 's/$$/",/' src/doc/$$t.md; printf '    NULL,\n};\n'; done; \
	  printf 'const CliTopic cli_topics[] = {\n'; \
	  for t in $(TOPICS); do printf '    {"%s", topic_%s},\n' $$t $$t; done; \
	  printf '    {NULL, NULL},\n};\n'; } > $@

$(B)/cli/topics.o: $(B)/cli/topics.c src/cli/cli.h
	$(CC) $(CLI_INC) -Isrc/cli $(CPPFLAGS) $(BASE) $(CFLAGS) -c -o $@ $<

$(B)/cli/%.o: src/cli/%.c
	@mkdir -p $(@D)
	$(CC) $(CLI_INC) $(CPPFLAGS) $(BASE) $(CFLAGS) -c -o $@ $<

$(B)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(LIB_INC) $(CPPFLAGS) $(LIB_CFLAGS) $(BASE) $(CFLAGS) -c -o $@ $<

$(B)/f64/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(LIB_INC) $(CPPFLAGS) -DCHARNN_DOUBLE $(BASE) $(CFLAGS) -c -o $@ $<

define isa_rules
$(B)/$(1)/%.o: src/%.c
	@mkdir -p $$(@D)
	$$(CC) $$(LIB_INC) $$(CPPFLAGS) $$(LIB_CFLAGS) -DCN_ISA=$(1) $$(FLAGS_$(1)) $$(BASE) $$(CFLAGS) \
	    -c -o $$@ $$<
endef
$(foreach i,$(ISAS),$(eval $(call isa_rules,$(i))))

$(B)/f64/generic/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(LIB_INC) $(CPPFLAGS) -DCHARNN_DOUBLE -DCN_ISA=generic $(BASE) $(CFLAGS) -c -o $@ $<

# GCC for AArch64 (12.2, Debian 12's) dies vectorizing some of the tests'
# loops, fmax over floats widened to double (internal compiler error in
# vect_transform_reduction); those loops need no vectorizing.
IS_GCC   := $(findstring gcc version,$(shell $(CC) -v 2>&1))
TEST_CFLAGS := $(if $(and $(ARM64),$(IS_GCC)),-fno-tree-loop-vectorize)

# tests named test_*_f64.c link the double-precision library
$(B)/test_%_f64$(EXE): tests/test_%_f64.c tests/check.h $(B)/libcharnn64.a
	@mkdir -p $(@D)
	$(CC) $(TEST_INC) $(CPPFLAGS) -DCHARNN_DOUBLE $(BASE) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) \
	    -o $@ $< $(B)/libcharnn64.a $(LDLIBS)

$(B)/test_%$(EXE): tests/test_%.c tests/check.h $(B)/libcharnn.a
	@mkdir -p $(@D)
	$(CC) $(TEST_INC) $(CPPFLAGS) $(BASE) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< \
	    $(B)/libcharnn.a $(LDLIBS)

# The test build with fault injection (tests/faults.c): its own checkpoint
# and training code, the rest of the library as usual.
FAULT_OBJ := $(B)/faults/checkpoint.o $(B)/faults/train.o $(B)/faults/score.o \
             $(B)/faults/faults.o
$(B)/charnn-faults: $(CLI_OBJ) $(FAULT_OBJ) $(B)/libcharnn.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(FAULT_OBJ) $(B)/libcharnn.a $(LDLIBS)

$(B)/faults/%.o: src/core/%.c
	@mkdir -p $(@D)
	$(CC) $(LIB_INC) $(CPPFLAGS) -DCHARNN_FAULTS $(BASE) $(CFLAGS) -c -o $@ $<

$(B)/faults/faults.o: tests/faults.c
	@mkdir -p $(@D)
	$(CC) $(TEST_INC) $(CPPFLAGS) -DCHARNN_FAULTS $(BASE) $(CFLAGS) -c -o $@ $<

# tests named test_cli_*.c drive the command line's own code too
$(B)/test_cli_%$(EXE): tests/test_cli_%.c tests/check.h $(B)/libcharnn.a $(CLI_OBJ)
	@mkdir -p $(@D)
	$(CC) $(TEST_INC) $(CPPFLAGS) -DCN_OS_FOR_CLI $(BASE) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) \
	    -o $@ $< $(filter-out $(B)/cli/main.o,$(CLI_OBJ)) $(B)/libcharnn.a $(LDLIBS)

# fuzz targets replayed over their corpus without libFuzzer (make test)
$(B)/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(B)/libcharnn.a $(CLI_OBJ)
	@mkdir -p $(@D)
	$(CC) $(TEST_INC) $(CPPFLAGS) $(BASE) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c \
	    $(filter-out $(B)/cli/main.o,$(CLI_OBJ)) $(B)/libcharnn.a $(LDLIBS)

# checks the SVG of charnn plot (tests/test_ui.sh)
$(B)/xmlcheck: tests/xmlcheck.c
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CFLAGS) $(LDFLAGS) -o $@ $<

# what the Python module assumes of the C side, as C sees it (tests/test_python.sh):
# built against the public header alone
$(B)/abi: tests/abi.c include/charnn.h
	@mkdir -p $(@D)
	$(CC) -Iinclude $(BASE) $(CFLAGS) $(LDFLAGS) -o $@ $<

# the library's activations, to check charnn viz's page against (tests/test_viz.sh)
$(B)/activations: tests/activations.c $(B)/libcharnn.a
	@mkdir -p $(@D)
	$(CC) $(CLI_INC) $(CPPFLAGS) $(BASE) $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libcharnn.a $(LDLIBS)

ifneq ($(and $(WINDOWS),$(CROSS_COMPILE)),)
# Built for Windows on Linux: the C test programs under wine (Debian's
# wine64), then charnn.exe against the native charnn (tests/windows.sh).
test: $(CHARNN) $(TESTS)
	@$(MAKE) --no-print-directory CROSS_COMPILE= charnn
	@RUN=wine WINEDEBUG=-all EXE=./$(CHARNN) CHARNN=./charnn sh tests/run.sh $(TESTS) \
	    tests/windows.sh
else ifneq ($(WINDOWS),)
# Built on Windows (MSYS2): the C test programs (the shell tests need POSIX
# signals and tools)
test: $(CHARNN) $(TESTS)
	@sh tests/run.sh $(TESTS)
else
# The programs the tests run: natively themselves; under CROSS_COMPILE
# $(B)/emu/X, a script that execs $(EMU) on $(B)/X (exec keeps the pid,
# which the tests' signals and locks rely on).
SHARED_CLI := $(if $(filter 1,$(SANITIZED) $(MPI))$(DARWIN)$(CROSS_COMPILE),,$(B)/charnn-shared)
TEST_PROGS := $(CHARNN) $(B)/charnn-faults $(B)/xmlcheck $(B)/activations $(B)/abi $(TESTS) \
              $(REPLAY) $(SHARED_CLI)
ifneq ($(CROSS_COMPILE),)
PROGS := $(B)/emu
$(PROGS)/%: $(B)/%
	@mkdir -p $(@D)
	printf '#!/bin/sh\nexec %s "%s" "$$@"\n' '$(EMU)' '$(CURDIR)/$<' > $@ && chmod +x $@
else
PROGS := $(B)
endif

# tests/test_portable.sh loads each build's checkpoints in another: under
# CROSS_COMPILE the native charnn (made here); natively, on x86-64, the
# aarch64 build's when make CROSS_COMPILE=aarch64-linux-gnu- has made one
# and qemu-aarch64 is there (brought up to date first).
HOSTCC ?= cc
ifneq ($(CROSS_COMPILE),)
PEER := charnn
PEER_MAKE := CROSS_COMPILE= CC=$(HOSTCC) AR=ar
else ifneq ($(and $(X86),$(filter build,$(B)),$(wildcard build/aarch64-linux-gnu/charnn)),)
PEER := $(if $(shell command -v qemu-aarch64 2>/dev/null),build/aarch64-linux-gnu/emu/charnn)
PEER_MAKE := CROSS_COMPILE=aarch64-linux-gnu- CC=aarch64-linux-gnu-gcc AR=aarch64-linux-gnu-ar
endif
peer:
	$(if $(PEER),@$(MAKE) --no-print-directory $(PEER_MAKE) $(PEER))

test: $(TEST_PROGS) $(TEST_PROGS:$(B)/%=$(PROGS)/%) peer
	@CHARNN=./$(CHARNN:$(B)/%=$(PROGS)/%) BUILD=$(PROGS) SANITIZE=$(SANITIZED) ISAS='$(ISAS)' \
	    EMU='$(if $(CROSS_COMPILE),$(EMU))' CROSS_COMPILE='$(CROSS_COMPILE)' \
	    PEER_CHARNN='$(if $(PEER),./$(PEER))' \
	    sh tests/run.sh $(TESTS:$(B)/%=$(PROGS)/%) $(TEST_SH)
endif

# Throughput of the speed table's configurations, 1 and 2 threads, beside
# PyTorch's where python3 has torch, then the table's rows
# (tests/bench/table.sh), and sampling (charnn bench). Run it on an
# otherwise idle machine.
BENCH_THREADS ?= 1 2
bench: $(CHARNN)
	@CHARNN=./$(CHARNN) BENCH_THREADS='$(BENCH_THREADS)' sh tests/bench/table.sh
	@./$(CHARNN) bench --model lstm --hidden 128 --layers 2 --iters 0
	@./$(CHARNN) bench --iters 0

# make MPI=1 test-mpi: 2 ranks against 1 (tests/mpi.sh); needs
# Debian's openmpi-bin and libopenmpi-dev
test-mpi: $(CHARNN) $(B)/charnn-faults
	@$(MAKE) --no-print-directory MPI= charnn
	@CHARNN=./$(CHARNN) CHARNN_FAULTS=$(B)/charnn-faults CHARNN_SOLO=./charnn sh tests/run.sh tests/mpi.sh

KILLS ?= 60
soak: $(CHARNN) $(B)/charnn-faults
	@CHARNN=./$(CHARNN) BUILD=$(B) sh tests/soak.sh $(KILLS)

ROUNDS ?= 20
abuse: $(CHARNN)
	@CHARNN=./$(CHARNN) SANITIZE=$(SANITIZE) ROUNDS=$(ROUNDS) sh tests/run.sh tests/abuse.sh \
	    tests/abuse_bounds.sh

# libFuzzer (clang, Debian's libclang-rt-dev): each target for FUZZ_SECONDS
# from its seed corpus; new inputs collect in build/fuzz/corpus_<target>.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -std=c11 -O1 -g -ffp-contract=off -fno-math-errno -pthread \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz:
	@mkdir -p build/fuzz
	@for t in $(FUZZ); do \
	  extra=; [ $$t = cli ] && extra="$(filter-out src/cli/main.c,$(CLI_SRC))"; \
	  $(FUZZ_CC) $(FUZZ_FLAGS) $(TEST_INC) -DCN_ISA=generic -DCHARNN_GENERIC_ONLY -o build/fuzz/$$t \
	      tests/fuzz/fuzz_$$t.c $$extra $(filter-out $(ISA_SRC),$(LIB_SRC)) $(ISA_SRC) -lm || exit 1; \
	  mkdir -p build/fuzz/corpus_$$t; \
	  build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -close_fd_mask=3 \
	      -artifact_prefix=build/fuzz/$$t- build/fuzz/corpus_$$t tests/fuzz/$$t 2>&1 | \
	      grep -E "stat::number_of_executed_units|ERROR|SUMMARY|crash-|Done" | sed "s/^/$$t: /"; \
	done

PREFIX  ?= /usr/local
BINDIR  := $(PREFIX)/bin
INCDIR  := $(PREFIX)/include
LIBDIR  := $(PREFIX)/lib
MANDIR  := $(PREFIX)/share/man
# The Python module (src/python/charnn.py) goes where PYTHON looks for
# modules under PREFIX: the entry of its sys.path below PREFIX/lib (Debian's
# python3 and /usr/local: lib/python3.X/dist-packages), else its
# site-packages there; PYDIR= chooses another place. make install writes the
# installed library's path into it. Without PYTHON (or on Windows, which
# has no shared library) it is not installed.
PYTHON  ?= python3
PYDIR_PY := import sys, sysconfig as s; lib = "$(PREFIX)/lib/"; \
            on = [d for d in sys.path if d.startswith(lib) and d.endswith("-packages")]; \
            scheme = "posix_prefix" if "posix_prefix" in s.get_scheme_names() else s.get_default_scheme(); \
            print(on[0] if on else s.get_path("purelib", scheme, {"base": "$(PREFIX)", "platbase": "$(PREFIX)"}))
PYDIR   ?= $(if $(WINDOWS),,$(shell $(PYTHON) -c '$(PYDIR_PY)' 2>/dev/null))
INSTALLED := $(BINDIR)/charnn $(INCDIR)/charnn.h $(INCDIR)/charnn_tools.h $(LIBDIR)/libcharnn.a \
             $(LIBDIR)/libcharnn.so.$(VERSION) $(LIBDIR)/$(SONAME) $(LIBDIR)/libcharnn.so \
             $(LIBDIR)/pkgconfig/charnn.pc $(MANDIR)/man1/charnn.1

# The man page comes from the same option tables as --help (charnn help --man).
install: $(CHARNN) $(B)/libcharnn.a $(B)/libcharnn.so install-python
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(INCDIR)" "$(DESTDIR)$(LIBDIR)/pkgconfig" \
	    "$(DESTDIR)$(MANDIR)/man1"
	install -m 755 $(CHARNN) "$(DESTDIR)$(BINDIR)/charnn"
	install -m 644 include/charnn.h include/charnn_tools.h "$(DESTDIR)$(INCDIR)"
	install -m 644 $(B)/libcharnn.a "$(DESTDIR)$(LIBDIR)/libcharnn.a"
	install -m 755 $(B)/libcharnn.so "$(DESTDIR)$(LIBDIR)/libcharnn.so.$(VERSION)"
	ln -sf libcharnn.so.$(VERSION) "$(DESTDIR)$(LIBDIR)/$(SONAME)"
	ln -sf $(SONAME) "$(DESTDIR)$(LIBDIR)/libcharnn.so"
	$(if $(CROSS_COMPILE),$(EMU)) ./$(CHARNN) help --man > "$(DESTDIR)$(MANDIR)/man1/charnn.1"
	printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$${prefix}/include' 'libdir=$${prefix}/lib' '' \
	    'Name: charnn' 'Description: character-level RNN, LSTM and GRU language models' \
	    'Version: $(VERSION)' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lcharnn' \
	    'Libs.private: -lm -pthread' > "$(DESTDIR)$(LIBDIR)/pkgconfig/charnn.pc"

install-python:
	$(if $(PYDIR),install -d "$(DESTDIR)$(PYDIR)",@echo "make install: no $(PYTHON) to install \
	    the Python module for (give PYTHON= or PYDIR=)")
	$(if $(PYDIR),sed 's|^_INSTALLED = None.*|_INSTALLED = "$(LIBDIR)/$(SONAME)"|' \
	    src/python/charnn.py > "$(DESTDIR)$(PYDIR)/charnn.py")
	$(if $(PYDIR),chmod 644 "$(DESTDIR)$(PYDIR)/charnn.py")

uninstall: uninstall-python
	rm -f $(INSTALLED:%="$(DESTDIR)%")

# the module, and what importing it wrote beside it
uninstall-python:
	$(if $(PYDIR),rm -f "$(DESTDIR)$(PYDIR)/charnn.py" "$(DESTDIR)$(PYDIR)/__pycache__/"charnn.*.pyc)

clean:
	rm -rf build charnn

.PHONY: all test peer test-mpi bench soak abuse fuzz install install-python uninstall \
        uninstall-python clean
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(LIB64_OBJ:.o=.d) $(FAULT_OBJ:.o=.d)
