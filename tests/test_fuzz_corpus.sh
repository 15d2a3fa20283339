#!/bin/sh
# Replays every fuzz target over its seed corpus and every input a fuzzer
# ever crashed it with (tests/fuzz/<target>/), without libFuzzer. Under
# make test SANITIZE=1 the replays run with ASan and UBSan.
for t in checkpoint text cli; do
    "${BUILD:-build}/replay_$t" tests/fuzz/$t/* || echo "not ok - replaying tests/fuzz/$t crashed (exit $?)"
done
