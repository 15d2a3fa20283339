#!/bin/sh
# SPDX-License-Identifier: MIT
# The command line is a client of the library like any other: built against
# the public header and linked against libcharnn.so, it trains, samples and
# scores exactly as the statically linked charnn does. Run from the
# repository root (make test builds $BUILD/charnn-shared).
CHARNN=${CHARNN:-./charnn}
SHARED=${BUILD:-build}/charnn-shared
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh" # check
if [ ! -x "$SHARED" ]; then
    echo "ok - the command line against libcharnn.so: not built here (cross, sanitized or MPI builds, macOS) # skipped"
    exit 0
fi
ldd "$SHARED" 2>/dev/null | grep -q 'libcharnn\.so[.0-9]* => /' && ! ldd "$CHARNN" 2>/dev/null | grep -q libcharnn
check $? "charnn-shared loads libcharnn.so; charnn has the library linked in"
i=0
while [ $i -lt 40 ]; do
    echo "It is a truth universally acknowledged, that a single man in possession"
    i=$((i + 1))
done >"$T/c.txt"
FLAGS="--model lstm --hidden 24 --batch 4 --seq-length 16 --iters 20 --eval-every 0 --sample-every 0 --quiet"
"$SHARED" train "$T/c.txt" $FLAGS --checkpoint "$T/s.ckpt" >"$T/s.out" 2>&1 &&
    "$CHARNN" train "$T/c.txt" $FLAGS --checkpoint "$T/c.ckpt" >"$T/c.out" 2>&1 &&
    "$CHARNN" export "$T/s.ckpt" >"$T/s.json" && "$CHARNN" export "$T/c.ckpt" >"$T/c.json" &&
    cmp -s "$T/s.json" "$T/c.json" && [ -s "$T/s.json" ]
check $? "the same training run gives the same weights, bit for bit" "$T/s.out"
"$SHARED" sample "$T/s.ckpt" --length 300 --seed 4 >"$T/s.txt" 2>&1 &&
    "$CHARNN" sample "$T/s.ckpt" --length 300 --seed 4 >"$T/c.txt2" 2>&1 &&
    cmp -s "$T/s.txt" "$T/c.txt2" && [ "$(wc -c <"$T/s.txt")" -ge 300 ]
check $? "the same sample" "$T/s.txt"
"$SHARED" score "$T/s.ckpt" "$T/c.txt" >"$T/s.tsv" 2>/dev/null &&
    "$CHARNN" score "$T/s.ckpt" "$T/c.txt" >"$T/c.tsv" 2>/dev/null && cmp -s "$T/s.tsv" "$T/c.tsv"
check $? "the same scores"
