#!/bin/sh
# SPDX-License-Identifier: MIT
# --precision (charnn help precision): bf16 training runs and is refused
# nothing; it is recorded in the checkpoint, kept by a resume, the same bits
# on 1 and 2 threads, close to fp32 and not equal to it; auto is fp32 (bf16
# has been measured faster on no CPU yet), and the header and --version say
# so and why; a bad value is a usage error.
# Run from the repository root.
CHARNN=${CHARNN:-./charnn}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh" # check
i=0
while [ $i -lt 60 ]; do
    echo "To be, or not to be, that is the question: whether 'tis nobler in the mind"
    i=$((i + 1))
done >"$T/c.txt"
SMALL="--model lstm --hidden 40 --layers 2 --batch 4 --seq-length 16 --eval-every 0 --sample-every 0 --quiet"

# train_to NAME FLAGS...: trains into $T/NAME.ckpt; 0 if it ran.
train_to() {
    name=$1
    shift
    $CHARNN train "$T/c.txt" $SMALL --checkpoint "$T/$name.ckpt" "$@" \
        >"$T/$name.out" 2>"$T/$name.err"
}
# the exported weights' checksum; an export that fails gives a line of its
# own, so that two failed exports never compare equal
weights() {
    $CHARNN export "$T/$1.ckpt" >"$T/$1.json" 2>/dev/null && cksum <"$T/$1.json" ||
        echo "export of $1 failed $$-$(date +%N)"
}
precision() { $CHARNN info "$T/$1.ckpt" 2>/dev/null | grep -o 'precision [a-z0-9]*' | cut -d' ' -f2; }
smoothed() { $CHARNN info "$T/$1.ckpt" 2>/dev/null | sed -n 's/^train loss:.*smoothed \([0-9.]*\).*/\1/p'; }

$CHARNN train "$T/c.txt" $SMALL --iters 1 --precision half --checkpoint "$T/x.ckpt" \
    >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && [ ! -s "$T/out" ] && [ "$(wc -l <"$T/err")" -eq 1 ] &&
    grep -q 'fp32' "$T/err" && grep -q 'bf16' "$T/err" && [ ! -e "$T/x.ckpt" ]
check $? "--precision half: exit 2, one line naming fp32, bf16 and auto, nothing written" "$T/err"

train_to b1 --iters 6 --precision bf16 --threads 1
r1=$?
train_to b2 --iters 6 --precision bf16 --threads 2
r2=$?
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ "$(weights b1)" = "$(weights b2)" ]
check $? "bf16 training: the same weights on 1 and 2 threads" "$T/b2.err"

if $CHARNN --version | grep -q 'bf16 products emulated'; then
    grep -q 'emulated' "$T/b1.err"
    check $? "bf16 without AVX512_BF16: a note says the products are emulated" "$T/b1.err"
else
    [ ! -s "$T/b1.err" ]
    check $? "bf16 with AVX512_BF16: nothing on stderr" "$T/b1.err"
fi
# auto is bf16 only where it was measured faster: so far on no CPU
auto=fp32

[ "$(precision b1)" = bf16 ]
check $? "the checkpoint records bf16 (info: $(precision b1))"

train_to f --iters 6 --precision fp32
rf=$?
lf=$(smoothed f)
lb=$(smoothed b1)
[ $rf -eq 0 ] && [ "$(weights f)" != "$(weights b1)" ] &&
    awk -v a="$lf" -v b="$lb" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d < 0.01 * a) }'
check $? "bf16 and fp32 runs differ, their losses within 1% ($lb, $lf)" "$T/f.err"

FLAT="--lr-schedule constant --warmup 0"
train_to s --iters 6 --precision bf16 $FLAT
train_to r --iters 3 --precision bf16 $FLAT
train_to r --resume "$T/r.ckpt" --iters 6 --checkpoint "$T/r.ckpt"
[ "$(precision r)" = bf16 ] && [ "$(weights r)" = "$(weights s)" ]
check $? "a resume keeps bf16: 3 + 3 iterations equal 6 in one run" "$T/r.err"

train_to a --iters 2 --precision auto
[ "$(precision a)" = "$auto" ]
check $? "--precision auto is $auto on this CPU" "$T/a.err"

train_to d --iters 2
[ "$(precision d)" = "$auto" ]
check $? "the default is auto ($auto here)" "$T/d.err"

$CHARNN train "$T/c.txt" --model lstm --hidden 40 --batch 4 --seq-length 16 --iters 1 \
    --eval-every 0 --sample-every 0 --checkpoint "$T/v.ckpt" >"$T/v.out" 2>&1
grep -q "with $auto products (--precision auto: [a-zA-Z0-9_ ]*)" "$T/v.out" &&
    $CHARNN --version | grep -q "precision auto: $auto, as [a-zA-Z0-9_ ]*)"
check $? "the run's header and --version say what auto chose, and why" "$T/v.out"

$CHARNN train "$T/c.txt" $SMALL --iters 1 --precision bf16 --checkpoint "$T/n.ckpt" \
    >/dev/null 2>&1 && $CHARNN train "$T/c.txt" --model lstm --hidden 40 --batch 4 \
    --seq-length 16 --iters 2 --eval-every 0 --sample-every 0 --resume "$T/n.ckpt" \
    --checkpoint "$T/n.ckpt" >"$T/n.out" 2>&1 &&
    grep -q 'with bf16 products,' "$T/n.out" && [ "$(precision n)" = bf16 ]
check $? "a resume without --precision keeps the checkpoint's bf16, and says nothing of auto" \
    "$T/n.out"
