#!/bin/sh
# SPDX-License-Identifier: MIT
# The Python module (src/python/charnn.py) against the command line: what
# C says of the one struct and the values it shares with Python
# ($BUILD/abi) is what the module assumes; a seeded sample is exactly what
# charnn sample prints; eval is charnn eval's number and score its rows;
# training from the library's defaults and with settings by name, saved
# where charnn reads it; bad settings and text refused with the library's
# message; the library found as documented; the library topic's Python snippet run
# and its output checked. Run from the repository root.
CHARNN=${CHARNN:-./charnn}
BUILD=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh" # check
if [ -n "${EMU:-}" ] || [ "${SANITIZE:-}" = 1 ] || [ ! -f "$BUILD/libcharnn.so" ]; then
    echo "ok - the Python module: no libcharnn.so this Python can load here (cross, sanitized or MPI builds, macOS) # skipped"
    exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "not ok - python3 is not installed (.ci/run installs it)"
    exit 0
fi
CHARNN_LIB=$(pwd)/$BUILD/libcharnn.so
PYTHONPATH=$(pwd)/src/python
PYTHONDONTWRITEBYTECODE=1
export CHARNN_LIB PYTHONPATH PYTHONDONTWRITEBYTECODE
py() { python3 -c "$@"; }

"$BUILD/abi" > "$T/abi.c" && py 'import charnn, sys; sys.stdout.write(charnn._abi())' > "$T/abi.py" 2>&1 &&
    [ -s "$T/abi.c" ] && cmp -s "$T/abi.c" "$T/abi.py" &&
    grep -q "^version $(sed -n 's/^#define CHARNN_VERSION "\([0-9]*\.[0-9]*\)\..*/\1/p' include/charnn.h)$" "$T/abi.py"
check $? "the module assumes what C says: sizeof CnError, the step results, version $(sed -n 's/^version //p' "$T/abi.c")" "$T/abi.py"

# a checkpoint of a small model, trained long enough to write words
head -c 60000 data/input.txt > "$T/input.txt"
$CHARNN train "$T/input.txt" --model lstm --hidden 48 --layers 1 --batch 16 --seq-length 32 \
    --iters 150 --lr 0.01 --eval-every 150 --sample-every 0 --checkpoint "$T/input.ckpt" --quiet \
    > "$T/train.out" 2>&1
check $? "set-up: a small checkpoint" "$T/train.out"
CK=$T/input.best.ckpt

# sample(...) with print's newline: the bytes charnn sample prints
same_sample() { # NAME PYTHON-ARGS -- CHARNN-FLAGS
    name=$1 args=$2
    shift 3
    py "import charnn, sys; m = charnn.load(sys.argv[1]); print(m.sample($args), end='\\n')" "$CK" \
        > "$T/$name.py" 2>&1
    $CHARNN sample "$CK" "$@" > "$T/$name.cli" 2>&1
    [ -s "$T/$name.cli" ] && cmp -s "$T/$name.py" "$T/$name.cli"
}
same_sample seeded 'length=300, seed=5, temperature=0.9' -- --length 300 --seed 5 --temperature 0.9
check $? "m.sample(length=300, seed=5, temperature=0.9) prints exactly what charnn sample --length 300 --seed 5 --temperature 0.9 does ($(wc -c < "$T/seeded.cli") bytes)" "$T/seeded.py"
same_sample options 'length=200, seed=7, temperature=0.7, top_k=5, top_p=0.9, prime="ROMEO:"' -- \
    --length 200 --seed 7 --temperature 0.7 --top-k 5 --top-p 0.9 --prime "ROMEO:"
check $? "with a prime, top-k and top-p too" "$T/options.py"
same_sample defaults '' --
check $? "and with charnn sample's defaults (1,000 characters, seed 1, temperature 1)" "$T/defaults.py"

printf 'First Citizen:\nBefore we proceed any further, hear me speak.\n' > "$T/cit.txt"
py 'import charnn, sys; m = charnn.load(sys.argv[1]); print("%.6f" % m.eval(sys.argv[2])); print("%.6f" % m.eval(open(sys.argv[2], newline="").read()))' \
    "$CK" "$T/input.txt" > "$T/eval.py" 2>&1
want=$($CHARNN eval "$CK" "$T/input.txt" 2>&1 | cut -d' ' -f1)
[ -n "$want" ] && [ "$(sed -n 1p "$T/eval.py")" = "$want" ] && [ "$(sed -n 2p "$T/eval.py")" = "$want" ]
check $? "m.eval of a file's path and of its text: charnn eval's $want nats/char" "$T/eval.py"

py 'import charnn, math, sys
m = charnn.load(sys.argv[1])
for n in m.score(open(sys.argv[2], newline="").read()):
    print("%.9g" % (n / math.log(2.0)))' "$CK" "$T/cit.txt" > "$T/score.py" 2>&1
$CHARNN score "$CK" "$T/cit.txt" 2>/dev/null | tail -n +2 | cut -f4 > "$T/score.cli"
[ "$(wc -l < "$T/score.cli")" -eq 60 ] && cmp -s "$T/score.py" "$T/score.cli"
check $? "m.score: each prediction's nats, charnn score's $(wc -l < "$T/score.cli") rows of bits exactly" "$T/score.py"

# training from the library's defaults (charnn train's: GRU 2 x 512 ...)
py 'import charnn, math, sys
m = charnn.train(sys.argv[1], iters=3, checkpoint=sys.argv[2])
print(len(m.losses), all(math.isfinite(x) for x in m.losses), math.isfinite(m.val_loss))
print(m.setting("model"), m.setting("hidden"), m.setting("layers"), m.setting("dropout"),
      m.setting("seq_length"), m.setting("lr"), len(m.vocab))' "$T/input.txt" "$T/d.ckpt" > "$T/d.py" 2>&1
V=$($CHARNN info "$T/d.ckpt" 2>/dev/null | sed -n 's/^vocabulary: *\([0-9]*\) characters$/\1/p')
[ "$(sed -n 1p "$T/d.py")" = "3 True True" ] && [ "$(sed -n 2p "$T/d.py")" = "gru 512 2 0.3 64 0.003 $V" ] &&
    $CHARNN info "$T/d.ckpt" 2>/dev/null | grep -q '^model: *gru, 2 layers x 512 hidden$' &&
    $CHARNN info "$T/d.ckpt" 2>/dev/null | grep -q '^trained: *3 iterations'
check $? "charnn.train from the defaults: 3 finite losses, a validation, gru 2 x 512 dropout 0.3, saved where charnn info reads it" "$T/d.py"

py 'import charnn, sys
m = charnn.train(sys.argv[1], iters=20, model="lstm", hidden=16, layers=1, seq_length=8, batch=4,
                 lr=0.01, val_frac=0.05, checkpoint=sys.argv[2])
print(m.setting("seq-length"), m.setting("val_frac"), len(m.losses))
print(m.sample(length=50, seed=2))' "$T/input.txt" "$T/s.ckpt" > "$T/s.py" 2>&1
$CHARNN sample "$T/s.ckpt" --length 50 --seed 2 > "$T/s.cli" 2>&1
info=$($CHARNN info "$T/s.ckpt" 2>/dev/null)
[ "$(sed -n 1p "$T/s.py")" = "8 0.05 20" ] && [ "$(tail -n +2 "$T/s.py")" = "$(cat "$T/s.cli")" ] &&
    echo "$info" | grep -q '^model: *lstm, 1 layer x 16 hidden$' &&
    echo "$info" | grep -q 'seq-length 8' && echo "$info" | grep -q 'val-frac 0.05' &&
    echo "$info" | grep -q 'batch 4'
check $? "settings by name (model, hidden, layers, seq_length, batch, lr, val_frac): held by the checkpoint, which samples alike in charnn" "$T/s.py"

# refusals: the library's one-line message, as charnn.Error
refused() { # CODE MESSAGE-REGEX
    py "import charnn, sys
m = charnn.load(sys.argv[1])
try:
    $1
except charnn.Error as e:
    print('Error:', e)" "$CK" "$T/input.txt" > "$T/refused" 2>&1
    [ "$(wc -l < "$T/refused")" -eq 1 ] && grep -Eq "^Error: $2" "$T/refused"
}
refused 'charnn.train(sys.argv[2], iters=1, momentum=1)' "momentum 1 is out of range; use a value in \[0, 1\)$"
check $? "a setting out of range: $(cat "$T/refused")" "$T/refused"
refused 'charnn.train(sys.argv[2], iters=1, hiden=8)' "there is no setting 'hiden'$"
check $? "a setting that does not exist: $(cat "$T/refused")" "$T/refused"
refused 'm.eval("caf\u00e9 au lait")' ".*'é' \(U\+00E9\).*"
check $? "text outside the vocabulary: $(cat "$T/refused")" "$T/refused"
refused 'charnn.load(sys.argv[2])' ".*input.txt.*"
check $? "a file that is not a checkpoint: $(cat "$T/refused")" "$T/refused"

# the library: CHARNN_LIB first; without it, from the source tree, build/libcharnn.so
CHARNN_LIB=$T/none.so py 'import charnn' > "$T/lib" 2>&1
[ $? -ne 0 ] && grep -q "^ImportError: charnn: CHARNN_LIB=$T/none.so cannot be loaded (.*); set it to the path of libcharnn.so, or unset it$" "$T/lib"
check $? "CHARNN_LIB naming no library: one line naming it and the fix" "$T/lib"
py 'import charnn; print(charnn.library)' > "$T/lib" 2>&1
[ "$(cat "$T/lib")" = "$CHARNN_LIB" ]
check $? "CHARNN_LIB is the library loaded" "$T/lib"
if [ "$BUILD" = build ] && [ -z "$(python3 -c 'import ctypes.util; print(ctypes.util.find_library("charnn") or "")')" ]; then
    (unset CHARNN_LIB; cd "$T" && py 'import charnn; print(charnn.library)') > "$T/lib" 2>&1
    [ "$(cat "$T/lib")" = "$(pwd)/build/libcharnn.so" ]
    check $? "without CHARNN_LIB, from the source tree: build/libcharnn.so" "$T/lib"
else
    echo "ok - without CHARNN_LIB, from the source tree: build/libcharnn.so # skipped: another build, or a libcharnn installed on the system path comes first"
fi

# the library topic's Python (src/doc/library.md), from its import to the end of the block, run where its
# files are: input.best.ckpt and data/input.txt
awk '/^    import charnn$/ { on = 1 } on && /^[^ ]/ { exit } on { print substr($0, 5) }' src/doc/library.md \
    > "$T/readme.py"
mkdir -p "$T/readme/data"
cp "$CK" "$T/readme/input.best.ckpt"
cp "$T/input.txt" "$T/readme/data/input.txt"
(cd "$T/readme" && python3 "$T/readme.py") > "$T/readme.out" 2>&1
rc=$?
$CHARNN sample "$T/readme/input.best.ckpt" --length 300 --seed 5 --temperature 0.9 > "$T/readme.want" 2>/dev/null
printf 'First Citizen:\nBefore we proceed any further, hear me speak.\n' > "$T/cit2.txt"
$CHARNN eval "$T/readme/input.best.ckpt" "$T/cit2.txt" 2>/dev/null | cut -d' ' -f1-2 >> "$T/readme.want"
n=$(wc -l < "$T/readme.want")
[ $rc -eq 0 ] && [ -s "$T/readme.py" ] && grep -q ' nats/char$' "$T/readme.want" && [ "$n" -ge 2 ] &&
    head -n "$n" "$T/readme.out" | cmp -s - "$T/readme.want" &&
    tail -n +"$((n + 1))" "$T/readme.out" | grep -Eq '^trained: loss [0-9.]+, validation [0-9.]+$' &&
    $CHARNN info "$T/readme/small.ckpt" 2>/dev/null | grep -q '^model: *gru, 2 layers x 64 hidden$'
check $? "the library topic's Python prints charnn sample's text, charnn eval's number, and trains small.ckpt" "$T/readme.out"
