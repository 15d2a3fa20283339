# charnn: build, test and install. Plain make, no configure step.
#   make            the charnn binary and build/libcharnn.a
#   make test       every test; ends with "N passed, N failed"
#   make clean
# The matrix and cell kernels (ISA_SRC) are compiled once per instruction
# set: portable C, and on x86-64 also x86-64-v3 (AVX2, FMA) and x86-64-v4
# (AVX-512); the binary picks the best the CPU supports at run time, so the
# default build is fast where it runs and still runs on any x86-64.
# -ffp-contract=off keeps a*b+c unfused unless the code asks for fma, so
# vectorized and scalar code round alike; -fno-math-errno lets sqrt
# vectorize (nothing reads errno). No -ffast-math: arithmetic stays IEEE.

CC       ?= cc
CFLAGS   ?= -O3 -g
BASE     := -std=c11 -ffp-contract=off -fno-math-errno -pthread -Wall -Wextra -Wpedantic -Wshadow \
            -Wstrict-prototypes
CPPFLAGS += -Iinclude -MMD -MP
LDLIBS   += -lm -pthread

ISA_SRC := src/gemm.c src/loss.c src/rnn.c src/lstm.c src/gru.c
LIB_SRC := $(filter-out src/main.c src/cli_%.c $(ISA_SRC),$(wildcard src/*.c))
CLI_SRC := src/main.c $(wildcard src/cli_*.c)

X86   := $(findstring x86_64,$(shell $(CC) -dumpmachine))
ISAS  := generic $(if $(X86),avx2 avx512)
FLAGS_generic :=
FLAGS_avx2    := -march=x86-64-v3
FLAGS_avx512  := -march=x86-64-v4

LIB_OBJ := $(LIB_SRC:src/%.c=build/%.o) $(foreach i,$(ISAS),$(ISA_SRC:src/%.c=build/$(i)/%.o))
CLI_OBJ := $(CLI_SRC:src/%.c=build/%.o)
# the library again in double precision (portable kernels only), for the
# gradient checks
LIB64_OBJ := $(LIB_SRC:src/%.c=build/f64/%.o) $(ISA_SRC:src/%.c=build/f64/generic/%.o)

TEST_SRC := $(wildcard tests/test_*.c)
TESTS    := $(TEST_SRC:tests/%.c=build/%)
TEST_SH  := $(wildcard tests/test_*.sh)

all: charnn

charnn: $(CLI_OBJ) build/libcharnn.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) build/libcharnn.a $(LDLIBS)

build/libcharnn.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

build/libcharnn64.a: $(LIB64_OBJ)
	$(AR) rcs $@ $^

build/%.o: src/%.c | build
	$(CC) $(CPPFLAGS) $(BASE) $(CFLAGS) -c -o $@ $<

build/f64/%.o: src/%.c | build/f64
	$(CC) $(CPPFLAGS) -DCHARNN_DOUBLE $(BASE) $(CFLAGS) -c -o $@ $<

define isa_rules
build/$(1)/%.o: src/%.c | build/$(1)
	$$(CC) $$(CPPFLAGS) -DCN_ISA=$(1) $$(FLAGS_$(1)) $$(BASE) $$(CFLAGS) -c -o $$@ $$<
endef
$(foreach i,$(ISAS),$(eval $(call isa_rules,$(i))))

build/f64/generic/%.o: src/%.c | build/f64/generic
	$(CC) $(CPPFLAGS) -DCHARNN_DOUBLE -DCN_ISA=generic $(BASE) $(CFLAGS) -c -o $@ $<

# tests named test_*_f64.c link the double-precision library
build/test_%_f64: tests/test_%_f64.c tests/check.h build/libcharnn64.a | build
	$(CC) $(CPPFLAGS) -Isrc -DCHARNN_DOUBLE $(BASE) $(CFLAGS) -o $@ $< build/libcharnn64.a \
	    $(LDLIBS)

build/test_%: tests/test_%.c tests/check.h build/libcharnn.a | build
	$(CC) $(CPPFLAGS) -Isrc $(BASE) $(CFLAGS) -o $@ $< build/libcharnn.a $(LDLIBS)

build build/f64 build/f64/generic $(ISAS:%=build/%):
	mkdir -p $@

test: charnn $(TESTS)
	@sh tests/run.sh $(TESTS) $(TEST_SH)

# Throughput of the speed issue's configurations, 1 and 2 threads, and of
# sampling (tests/bench.c). Run it on an otherwise idle machine.
BENCH_THREADS ?= 1 2
bench: build/bench
	@for t in $(BENCH_THREADS); do \
	  build/bench train --model lstm --hidden 128 --layers 2 --batch 50 --seq 50 --iters 40 --threads $$t; \
	  build/bench train --model lstm --hidden 512 --layers 2 --batch 32 --seq 64 --iters 6 --threads $$t; \
	  build/bench train --model gru --hidden 512 --layers 1 --batch 32 --seq 64 --iters 15 --threads $$t; \
	  build/bench train --model rnn --hidden 100 --layers 1 --batch 1 --seq 25 --iters 20000 --warmup 200 --threads $$t; \
	done
	@build/bench sample --model lstm --hidden 128 --layers 2

build/bench: tests/bench.c build/libcharnn.a | build
	$(CC) $(CPPFLAGS) $(BASE) $(CFLAGS) -o $@ $< build/libcharnn.a $(LDLIBS)

clean:
	rm -rf build charnn

.PHONY: all test bench clean
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(LIB64_OBJ:.o=.d)
