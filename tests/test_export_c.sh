#!/bin/sh
# charnn export --format c (charnn help export, "The model as C"): for every cell (rnn,
# lstm, peephole, gru; 2 layers), and the weights as fp32, int8 and bf16,
# the exported file compiled with -std=c99 -Wall -Wextra -pedantic without
# a warning prints what charnn sample prints, character for character
# (of the --format ckpt checkpoint for int8 and bf16), and every logit is
# charnn's bit for bit (tests/export_c_score.c against charnn score, with
# the state's size as the file states it); one layer of 260 units (the
# products' chains across the kernels' K blocks of 256); a vocabulary of
# 3,000 characters (CJK, Persian) with a Persian prime; -DCHARNN_NO_FMA
# against CHARNN_ISA=generic and -DCHARNN_SOFT_FMA (the fmaf of C
# libraries such as MinGW's) against charnn; GCC told to fuse
# (-ffp-contract=fast, FMA instructions) still printing charnn's text;
# int8 and bf16 within 1% of fp32 in loss; the export topic's example; the other
# compilers present (clang, the ARM64 and MinGW cross compilers) without
# warnings; and what export refuses to write over. Under make test
# CROSS_COMPILE=... the files are compiled by the cross compiler, linked
# statically and run by EMU (qemu), against that build's charnn.
CHARNN=${CHARNN:-./charnn}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh" # begin, problem, report, check, refused, SLOW

if [ -n "${CROSS_COMPILE:-}" ]; then
    CC=${CROSS_COMPILE}gcc
    STATIC=-static
else
    CC=cc
    STATIC=
fi
STRICT="-std=c99 -Wall -Wextra -pedantic -O2"
# make test SANITIZE=1: the exported code under AddressSanitizer and UBSan too
SAN=
[ "${SANITIZE:-}" = 1 ] && SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "ok - the exported C files # skipped: no compiler $CC"
    exit 0
fi
target() { ${EMU:-} "$@"; }

head -c 12000 data/input.txt >"$T/c.txt"
head -c 3000 "$T/c.txt" >"$T/s.txt"

# build NAME SOURCE [FLAGS...]: $CC with $STRICT, -DCHARNN_MAIN, into $T/NAME;
# a failure or any warning is a problem
build() {
    name=$1 src=$2
    shift 2
    $CC $STRICT $SAN $STATIC -DCHARNN_MAIN "$@" "$src" -lm -o "$T/$name" >"$T/cc" 2>&1 ||
        problem "$CC $STRICT -DCHARNN_MAIN $* $(basename "$src") failed: $(head -c 300 "$T/cc")"
    [ -s "$T/cc" ] && problem "$CC warns: $(head -c 300 "$T/cc")"
}

# same_sample CKPT GEN ARGS...: charnn sample CKPT ARGS and GEN ARGS print
# the same text
same_sample() {
    ck=$1 gen=$2
    shift 2
    "$CHARNN" sample "$ck" "$@" >"$T/want" 2>"$T/err" || problem "charnn sample $*: exit $?"
    target "$T/$gen" "$@" >"$T/got" 2>>"$T/err" || problem "$gen $*: exit $?"
    [ -s "$T/want" ] || problem "charnn sample $* printed nothing"
    cmp -s "$T/want" "$T/got" ||
        problem "$gen $* differs from charnn sample $(cmp "$T/want" "$T/got" 2>&1 | sed 's/.*: //')"
}

# same_logits CKPT C-FILE [FLAGS...]: every p that charnn score prints for
# $T/s.txt, printed by tests/export_c_score.c over the C file; the state's
# size is what the file says. ISA=generic in the environment scores with
# charnn's portable kernels.
same_logits() {
    ck=$1 src=$2
    shift 2
    $CC -O2 $SAN $STATIC -I"$T" -DMODEL="\"$(basename "$src")\"" "$@" tests/export_c_score.c -lm \
        -o "$T/score" >"$T/cc" 2>&1 || problem "the scoring program does not build: $(head -c 300 "$T/cc")"
    CHARNN_ISA=${ISA:-} "$CHARNN" score "$ck" "$T/s.txt" 2>"$T/err" | tail -n +2 | cut -f3,4 >"$T/want"
    target "$T/score" "$T/s.txt" >"$T/got" 2>>"$T/err"
    [ -s "$T/want" ] || problem "charnn score printed nothing"
    tail -n +2 "$T/got" | cmp -s - "$T/want" ||
        problem "p differs from charnn score's from row $(tail -n +2 "$T/got" | cmp - "$T/want" 2>&1 | sed -n 's/.*line \([0-9]*\).*/\1/p')"
    stated=$(sed -n 's/^ \* \([0-9,]*\) bytes, and a few locals\.$/\1/p' "$src" | tr -d ,)
    [ "$(head -n 1 "$T/got")" = "state $stated" ] ||
        problem "sizeof(model_state) is $(head -n 1 "$T/got"), the file says $stated bytes"
}

train() { # NAME CELL HIDDEN LAYERS ITERS
    "$CHARNN" train "$T/c.txt" --model "$2" --hidden "$3" --layers "$4" --batch 4 --seq-length 16 \
        --iters "$5" --eval-every 0 --quiet --checkpoint "$T/$1.ckpt" >"$T/out" 2>"$T/err" ||
        problem "training $2 exited $?: $(head -c 200 "$T/err")"
}

export_c() { # CKPT OUT.c [FLAGS...]
    ck=$1 out=$2
    shift 2
    "$CHARNN" export "$ck" --format c -o "$out" --name model "$@" >"$T/out" 2>"$T/err" ||
        problem "charnn export --format c $*: exit $?: $(head -c 200 "$T/err")"
}

for cell in rnn lstm peephole gru; do
    begin
    train $cell $cell 24 2 40
    export_c "$T/$cell.ckpt" "$T/$cell.c"
    build $cell.gen "$T/$cell.c"
    same_sample "$T/$cell.ckpt" $cell.gen --seed 7 --length 2000
    same_sample "$T/$cell.ckpt" $cell.gen --seed 3 --length 500 --temperature 0.7 --top-k 5 --prime "ROMEO:"
    same_sample "$T/$cell.ckpt" $cell.gen --seed 1 --length 300 --temperature 1.6 --top-k 64
    report "$cell, 2 x 24: the C file, built by $CC -std=c99 -Wall -Wextra -pedantic (no warning), prints what charnn sample prints (2,000 characters; temperature, top-k, prime)"
    begin
    same_logits "$T/$cell.ckpt" "$T/$cell.c"
    report "$cell: every logit of the C file is charnn's, bit for bit (charnn score's p over 3,000 characters), and its state the size it states"
    for q in int8 bf16; do
        begin
        export_c "$T/$cell.ckpt" "$T/$cell.$q.c" --quantize $q
        "$CHARNN" export "$T/$cell.ckpt" --format ckpt --quantize $q -o "$T/$cell.$q.ckpt" \
            >"$T/out" 2>"$T/err" || problem "export --format ckpt --quantize $q: exit $?"
        build $cell.$q.gen "$T/$cell.$q.c"
        same_sample "$T/$cell.$q.ckpt" $cell.$q.gen --seed 5 --length 1000 --top-k 10
        same_logits "$T/$cell.$q.ckpt" "$T/$cell.$q.c"
        cmp -s "$T/$cell.c" "$T/$cell.$q.c" && problem "the $q file is the fp32 one"
        report "$cell, --quantize $q: the C file prints and scores what charnn does with export --format ckpt --quantize $q's checkpoint, bit for bit"
    done
done

begin
train wide gru 260 1 2
export_c "$T/wide.ckpt" "$T/wide.c"
build wide.gen "$T/wide.c"
same_sample "$T/wide.ckpt" wide.gen --seed 2 --length 300
report "gru 1 x 260: each product's chain goes on across the kernels' blocks of 256 as charnn's does"

# -DCHARNN_NO_FMA is charnn's portable kernels; the check tells them apart
begin
ISA=generic same_logits "$T/lstm.ckpt" "$T/lstm.c" -DCHARNN_NO_FMA
CHARNN_ISA=generic "$CHARNN" --version 2>/dev/null | grep -q 'kernels: generic' ||
    problem "CHARNN_ISA=generic does not select the portable kernels"
"$CHARNN" score "$T/lstm.ckpt" "$T/s.txt" 2>/dev/null | tail -n +2 | cut -f3,4 >"$T/fused"
cmp -s "$T/fused" "$T/want" && [ "$("$CHARNN" --version | sed -n 's/.*kernels: \([a-z0-9]*\).*/\1/p')" != generic ] &&
    problem "the portable kernels' p equal the fused ones': the check cannot tell them apart"
report "lstm, -DCHARNN_NO_FMA: every logit is charnn's with CHARNN_ISA=generic (multiplies and adds), bit for bit, and not the fused kernels'"

begin
build gru.soft.gen "$T/gru.c" -DCHARNN_SOFT_FMA
same_sample "$T/gru.ckpt" gru.soft.gen --seed 7 --length 2000
same_logits "$T/gru.ckpt" "$T/gru.c" -DCHARNN_SOFT_FMA
report "gru, -DCHARNN_SOFT_FMA (a*b+c rounded once from double, where the C library's fmaf is not exact): charnn's text and logits"

if [ -z "${EMU:-}" ] && [ "$(uname -m)" = x86_64 ] &&
    "$CHARNN" --version | grep -Eq 'kernels: (avx2|avx512)'; then
    begin
    $CC -std=gnu11 -O3 -march=x86-64-v3 -ffp-contract=fast -DCHARNN_MAIN "$T/peephole.c" -lm \
        -o "$T/fast.gen" >"$T/cc" 2>&1 || problem "build failed: $(head -c 300 "$T/cc")"
    same_sample "$T/peephole.ckpt" fast.gen --seed 7 --length 2000
    report "peephole, built with -O3 -march=x86-64-v3 -ffp-contract=fast: still charnn's text (the file turns contraction off)"
fi

# Several thousand characters: 3,000 CJK ideographs and Persian letters
begin
python3 - "$T/big.txt" <<'EOF'
import random, sys
random.seed(5)
chars = [chr(0x4e00 + i) for i in range(2962)] + [chr(c) for c in range(0x627, 0x64b)] + list(' \n')
text = ''.join(random.choice(chars) for _ in range(16000)) + ''.join(chars)
open(sys.argv[1], 'w', encoding='utf-8').write(text)
EOF
"$CHARNN" train "$T/big.txt" --model lstm --hidden 16 --layers 1 --batch 4 --seq-length 16 \
    --iters 3 --eval-every 0 --val-frac 0 --quiet --checkpoint "$T/big.ckpt" >"$T/out" 2>"$T/err" ||
    problem "training on 3,000 characters exited $?: $(head -c 200 "$T/err")"
export_c "$T/big.ckpt" "$T/big.c"
grep -q '^#define MODEL_VOCAB  *3000 ' "$T/big.c" || problem "not a vocabulary of 3,000: $(grep -m1 MODEL_VOCAB "$T/big.c")"
build big.gen "$T/big.c"
same_sample "$T/big.ckpt" big.gen --seed 4 --length 400 --prime "سلام 中"
same_sample "$T/big.ckpt" big.gen --seed 8 --length 300 --top-k 100
report "3,000 characters (CJK, Persian): the C file prints charnn's UTF-8 text, with a Persian prime and with top-k"

# int8 and bf16 within 1% of fp32 in loss on held-out text
if [ -n "${EMU:-}" ]; then
    echo "ok - int8 and bf16 within 1% of fp32 in loss # skipped under $EMU: a longer training run; the loss is the same on every build (test_portable.sh), the native make test measures it"
else
    begin
    head -c 60000 data/input.txt >"$T/q.txt"
    "$CHARNN" train "$T/q.txt" --model gru --hidden 64 --layers 1 --batch 16 --seq-length 32 \
        --iters 150 --lr 0.01 --eval-every 0 --quiet --checkpoint "$T/q.ckpt" >"$T/out" 2>"$T/err" ||
        problem "training exited $?"
    tail -c 6000 "$T/q.txt" >"$T/held.txt" # the run's validation tail
    "$CHARNN" eval "$T/q.ckpt" "$T/held.txt" >"$T/fp32" 2>"$T/err"
    losses=$(awk '{ print $1 }' "$T/fp32")
    for q in int8 bf16; do
        "$CHARNN" export "$T/q.ckpt" --format ckpt --quantize $q -o "$T/q.$q.ckpt" >"$T/out" 2>"$T/err" ||
            problem "export --quantize $q: exit $?"
        "$CHARNN" eval "$T/q.$q.ckpt" "$T/held.txt" >"$T/$q" 2>"$T/err"
        losses="$losses $(awk '{ print $1 }' "$T/$q")"
    done
    set -- $losses
    [ $# -eq 3 ] || problem "charnn eval printed no loss: $losses"
    awk -v f="$1" -v i="$2" -v b="$3" 'BEGIN { exit !(f > 1 && i <= 1.01 * f && b <= 1.01 * f) }' ||
        problem "losses fp32 $1, int8 $2, bf16 $3"
    [ "$1" != "$2" ] || problem "int8's loss is fp32's exactly: was anything quantized?"
    report "a gru 1 x 64: charnn eval of the int8 and bf16 checkpoints within 1% of fp32 (fp32 ${1:-?}, int8 ${2:-?}, bf16 ${3:-?} nats/char)"
fi

# the export topic's example: the header, a program using the file, the same text
begin
awk '/^    #include "model.h"/ { on = 1 } on { print substr($0, 5) } on && /^    }$/ { exit }' src/doc/export.md >"$T/example.c"
[ -s "$T/example.c" ] || problem "no example in src/doc/export.md (a block from #include \"model.h\" to })"
"$CHARNN" export "$T/gru.ckpt" --format c -o "$T/model.c" --header "$T/model.h" >"$T/out" 2>"$T/err" ||
    problem "export --header: exit $?"
head -n 1 "$T/model.h" | grep -q 'written by charnn export' || problem "the header's first line: $(head -n 1 "$T/model.h")"
$CC $STRICT $STATIC -I"$T" "$T/example.c" "$T/model.c" -lm -o "$T/example" >"$T/cc" 2>&1 ||
    problem "the export topic's example does not build: $(head -c 300 "$T/cc")"
[ -s "$T/cc" ] && problem "$CC warns: $(head -c 300 "$T/cc")"
"$CHARNN" sample "$T/gru.ckpt" --seed 7 --temperature 0.8 --length 200 >"$T/want" 2>"$T/err"
target "$T/example" >"$T/got" 2>>"$T/err"
cmp -s "$T/want" "$T/got" || problem "it prints $(head -c 60 "$T/got" | head -n 1), charnn sample --seed 7 --temperature 0.8 --length 200 $(head -c 60 "$T/want" | head -n 1)"
report "the export topic's example, built with export --header's model.h and the C file, prints what charnn sample prints"

# Other compilers, where they are: no warning, with and without main
if [ -z "${EMU:-}" ]; then
    for cc in clang aarch64-linux-gnu-gcc x86_64-w64-mingw32-gcc; do
        if ! command -v $cc >/dev/null 2>&1; then
            echo "ok - $cc builds the C files without warnings # skipped: no $cc here"
            continue
        fi
        begin
        for f in rnn lstm peephole gru rnn.int8 lstm.int8 peephole.int8 gru.int8 lstm.bf16 gru.bf16 big; do
            $cc $STRICT -DCHARNN_MAIN -c "$T/$f.c" -o "$T/o.o" >"$T/cc" 2>&1 || problem "$f.c: exit $?"
            [ -s "$T/cc" ] && problem "$f.c: $(head -c 300 "$T/cc")"
        done
        $cc $STRICT -c "$T/peephole.int8.c" -o "$T/o.o" >"$T/cc" 2>&1 && [ ! -s "$T/cc" ] ||
            problem "without main: $(head -c 300 "$T/cc")"
        report "$cc -std=c99 -Wall -Wextra -pedantic builds every cell's file, fp32, int8 and bf16, with and without main, without a warning"
    done
fi

# What export writes, and over what
COMMAND=export
echo 'my notes' >"$T/notes.c"
printf '#include <stdio.h>\nint main(void) { return puts("mine") < 0; }\n' >"$T/mine.c"
refused "-o over a C file charnn export did not write is refused" 2 \
    'mine.c exists and is a C file that charnn export did not write.*--force' "$T/gru.ckpt" --format c -o "$T/mine.c"
refused "-o over a file that is not C is refused, even with --force" 2 \
    'notes.c exists and is not a C file' "$T/gru.ckpt" --format c -o "$T/notes.c" --force
begin
[ "$(cat "$T/notes.c")" = "my notes" ] || problem "notes.c changed"
grep -q mine "$T/mine.c" || problem "mine.c changed"
"$CHARNN" export "$T/gru.ckpt" --format c -o "$T/mine.c" --force >"$T/out" 2>"$T/err" || problem "--force: exit $?"
head -n 1 "$T/mine.c" | grep -q 'written by charnn export' || problem "not replaced with --force"
"$CHARNN" export "$T/lstm.ckpt" --format c -o "$T/mine.c" >"$T/out" 2>"$T/err" || problem "over its own file: exit $?"
grep -q 'written by charnn export' "$T/out" && problem "the C went to stdout too"
grep -q '^#define MINE_CELL  *"lstm"' "$T/mine.c" || problem "its own file not replaced (or --name not derived from -o)"
"$CHARNN" export "$T/gru.ckpt" --format c -o - >"$T/out" 2>"$T/err" && grep -q '^#define MODEL_CELL  *"gru"' "$T/out" ||
    problem "-o - did not write the C to standard output"
report "--force replaces another C file; export replaces its own without it; --name defaults to -o's name; -o - is standard output"
refused "-o the checkpoint read is refused, even with --force" 2 'is .*an input' \
    "$T/gru.ckpt" --format c -o "$T/gru.ckpt" --force
refused "--format ckpt over a training run's checkpoint is refused" 2 \
    "training run's checkpoint.*--force" "$T/gru.ckpt" --format ckpt --quantize int8 -o "$T/lstm.ckpt"
refused "--format ckpt over a file that is not a checkpoint is refused, even with --force" 2 \
    'notes.c exists and is not a charnn checkpoint' "$T/gru.ckpt" --format ckpt -o "$T/notes.c" --force
refused "--format ckpt without -o is refused" 2 '--format ckpt.*-o' "$T/gru.ckpt" --format ckpt
refused "--name that is not a C identifier is refused" 2 '--name 9lives is not a C identifier' \
    "$T/gru.ckpt" --format c --name 9lives
refused "--name without --format c is refused" 2 '--name.*--format c' "$T/gru.ckpt" --name m
refused "--quantize int4 is refused" 2 'int4 is not one of: fp32, bf16, int8' "$T/gru.ckpt" --quantize int4
begin
"$CHARNN" export "$T/gru.ckpt" --format ckpt --quantize int8 -o "$T/again.ckpt" >"$T/out" 2>"$T/err" &&
    "$CHARNN" export "$T/gru.ckpt" --format ckpt --quantize bf16 -o "$T/again.ckpt" >"$T/out" 2>"$T/err" ||
    problem "writing a model alone over its own: exit $?: $(cat "$T/err")"
"$CHARNN" export "$T/again.ckpt" >"$T/a.json" 2>"$T/err" && "$CHARNN" export "$T/gru.ckpt" --quantize bf16 >"$T/b.json" 2>>"$T/err" &&
    cmp -s "$T/a.json" "$T/b.json" || problem "the bf16 checkpoint's JSON is not export --quantize bf16's"
report "--format ckpt replaces a model alone it wrote; its JSON is export --quantize's"
