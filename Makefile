# charnn: build, test and install. Plain make, no configure step.
#   make            the charnn binary and libcharnn.a
#   make test       every test; ends with "N passed, N failed"
#   make clean

CC      ?= cc
CFLAGS  ?= -O3 -g
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
CPPFLAGS += -Iinclude -MMD -MP
LDLIBS  += -lm

LIB_SRC := $(filter-out src/main.c src/cli_%.c,$(wildcard src/*.c))
CLI_SRC := src/main.c $(wildcard src/cli_*.c)
LIB_OBJ := $(LIB_SRC:src/%.c=build/%.o)
CLI_OBJ := $(CLI_SRC:src/%.c=build/%.o)
# the library again in double precision, for the gradient checks
LIB64_OBJ := $(LIB_SRC:src/%.c=build/f64/%.o)

TEST_SRC := $(wildcard tests/test_*.c)
TESTS    := $(TEST_SRC:tests/%.c=build/%)
TEST_SH  := $(wildcard tests/test_*.sh)

all: charnn

charnn: $(CLI_OBJ) build/libcharnn.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) build/libcharnn.a $(LDLIBS)

build/libcharnn.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

build/%.o: src/%.c | build
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

build/f64/%.o: src/%.c | build/f64
	$(CC) $(CPPFLAGS) -DCHARNN_DOUBLE $(WARN) $(CFLAGS) -c -o $@ $<

build/libcharnn64.a: $(LIB64_OBJ)
	$(AR) rcs $@ $^

# tests named test_*_f64.c link the double-precision library
build/test_%_f64: tests/test_%_f64.c tests/check.h build/libcharnn64.a | build
	$(CC) $(CPPFLAGS) -Isrc -DCHARNN_DOUBLE $(WARN) $(CFLAGS) -o $@ $< build/libcharnn64.a $(LDLIBS)

build/test_%: tests/test_%.c tests/check.h build/libcharnn.a | build
	$(CC) $(CPPFLAGS) -Isrc $(WARN) $(CFLAGS) -o $@ $< build/libcharnn.a $(LDLIBS)

build build/f64:
	mkdir -p $@

test: charnn $(TESTS)
	@sh tests/run.sh $(TESTS) $(TEST_SH)

clean:
	rm -rf build charnn

.PHONY: all test clean
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(LIB64_OBJ:.o=.d)
