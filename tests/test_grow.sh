#!/bin/sh
# charnn train --init-from onto a text with characters the checkpoint's
# vocabulary lacks, end to end: the run starts, its one note line names the
# characters added; the saved model's vocabulary is the sorted union, every
# old character's weights and every other tensor are the checkpoint's (one
# SGD step at lr 1e-30 moves no weight by more than 1e-20; the bit-for-bit
# check before any step is tests/test_grow.c's), the new characters' within
# the initial range; the grown run resumes; a resume of the old checkpoint
# on the new text is refused with one line pointing to --init-from; a text
# without new characters gets no note. Run from the repository root.
CHARNN=${CHARNN:-./charnn}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh" # begin, problem, report, refused, check

if ! command -v python3 >/dev/null 2>&1; then
    echo "ok - vocabulary growth end to end # skipped: no python3 (.ci/run installs it)"
    exit 0
fi

# the old text: lowercase letters, space, newline; the new one adds a tab,
# 'A', 'é' and '€' (before, between and after the old characters); the
# third twelve more: digits, 'Q' and 'Z'
python3 - "$T" <<'EOF'
import sys
d = sys.argv[1]
old = 'the quick brown fox jumps over the lazy dog\n'
open(d + '/old.txt', 'w', encoding='utf-8').write(old * 20)
open(d + '/new.txt', 'w', encoding='utf-8').write((old.replace('z', '') + 'A\tcaf\u00e9 \u20ac\n') * 20)
open(d + '/many.txt', 'w', encoding='utf-8').write((old + '0123456789 QZ\n') * 20)
EOF
check $? "set-up: the texts"
TINY="--batch 2 --seq-length 8 --quiet"
"$CHARNN" train "$T/old.txt" --model gru --hidden 8 --layers 2 --iters 5 $TINY \
    --checkpoint "$T/old.ckpt" >"$T/out" 2>"$T/err"
check $? "set-up: a small model of the old text" "$T/err"
NOLD=$("$CHARNN" info "$T/old.ckpt" | sed -n 's/^vocabulary: *\([0-9]*\) characters$/\1/p')

# one step that changes nothing measurable: sgd at lr 1e-30, no dropout
"$CHARNN" train "$T/new.txt" --init-from "$T/old.ckpt" --checkpoint "$T/new.ckpt" --iters 1 \
    --optim sgd --lr 1e-30 --dropout 0 $TINY >"$T/out" 2>"$T/err"
rc=$?
begin
[ $rc -eq 0 ] || problem "exit $rc"
want="charnn: note: the corpus adds 4 characters to the vocabulary of $T/old.ckpt ($NOLD -> \
$((NOLD + 4))): '\\t', 'A', 'é', '€'; their weights start as a new model's, the rest are \
$T/old.ckpt's"
[ "$(cat "$T/err")" = "$want" ] || problem "stderr is not the one line
      $want"
cmd="charnn train new.txt --init-from old.ckpt ..." report "--init-from onto 4 new characters trains, with one note naming them"

"$CHARNN" info "$T/new.ckpt" >"$T/out" 2>"$T/err"
begin
grep -q "^vocabulary: *$((NOLD + 4)) characters$" "$T/out" || problem "info: $(grep vocabulary "$T/out")"
report "info: the grown checkpoint has $((NOLD + 4)) characters"

"$CHARNN" export "$T/old.ckpt" >"$T/old.json" 2>"$T/err" &&
    "$CHARNN" export "$T/new.ckpt" >"$T/new.json" 2>>"$T/err"
check $? "set-up: export both checkpoints" "$T/err"
python3 - "$T" >"$T/report" 2>&1 <<'EOF'
import json, math, sys
d = sys.argv[1]
a, b = (json.load(open(d + f, encoding='utf-8')) for f in ('/old.json', '/new.json'))
text = open(d + '/new.txt', encoding='utf-8').read()
va, vb, H = a['vocab'], b['vocab'], b['hidden']
problems = []
if vb != sorted(set(va) | set(text)):
    problems.append('vocab %r is not the sorted union' % vb)
V = len(vb)
bound = math.sqrt(6 / (V + H))  # Glorot, the default orthogonal init's input and output
def cols(t):  # [rows, cols] -> list of columns
    r, c = t['shape']
    return [[t['data'][i * c + j] for i in range(r)] for j in range(c)]
def rows(t):
    r, c = t['shape']
    return [t['data'][i * c:(i + 1) * c] for i in range(r)]
def near(x, y):
    return all(abs(p - q) <= 1e-20 for p, q in zip(x, y)) and len(x) == len(y)
for name, tb in b['tensors'].items():
    ta = a['tensors'][name]
    if name.startswith('l0.W_x') or name in ('W_hy', 'b_y'):
        # per character: a column of the input matrices, a row of W_hy, an entry of b_y
        per = cols if name.startswith('l0.W_x') else rows if name == 'W_hy' else lambda t: [[x] for x in t['data']]
        pa, pb = per(ta), per(tb)
        for j, ch in enumerate(vb):
            if ch in va:
                if not near(pb[j], pa[va.index(ch)]):
                    problems.append('%s of %r moved' % (name, ch))
            elif name == 'b_y':
                if abs(pb[j][0]) > 1e-20:
                    problems.append('b_y of new %r is %g, not 0' % (ch, pb[j][0]))
            elif not (0 < max(abs(x) for x in pb[j]) <= bound):
                problems.append('%s of new %r outside (0, %g]' % (name, ch, bound))
    elif not near(ta['data'], tb['data']):
        problems.append('%s moved' % name)
if problems:
    print('\n'.join(problems[:10]))
EOF
begin
[ -s "$T/report" ] && problem "$(cat "$T/report")"
cmd= report "export: the sorted union; old characters' weights and every other tensor are the checkpoint's, new ones within the init range"

"$CHARNN" train "$T/new.txt" --resume "$T/new.ckpt" --iters 3 $TINY >"$T/out" 2>"$T/err" &&
    "$CHARNN" eval "$T/new.ckpt" "$T/new.txt" >"$T/out" 2>>"$T/err"
rc=$?
begin
[ $rc -eq 0 ] || problem "exit $rc"
[ -s "$T/err" ] && problem "stderr is not empty"
"$CHARNN" info "$T/new.ckpt" 2>/dev/null | grep -q '^trained: *3 iterations' ||
    problem "the resumed checkpoint is not at iteration 3"
cmd="charnn train new.txt --resume new.ckpt --iters 3" report "the grown run resumes on the new text and evaluates it, with no note"

COMMAND=train
refused "--resume of the old checkpoint on the new text is refused, naming a new character and --init-from" 1 \
    "'A' \\(U\\+0041\\) at byte 43 is not in the checkpoint's vocabulary.*--init-from" \
    "$T/new.txt" --resume "$T/old.ckpt" --checkpoint "$T/r.ckpt" $TINY
begin
[ -e "$T/r.ckpt" ] && problem "the refused run wrote r.ckpt"
report "the refused resume wrote nothing"

"$CHARNN" train "$T/many.txt" --init-from "$T/old.ckpt" --checkpoint "$T/many.ckpt" --iters 1 \
    $TINY >"$T/out" 2>"$T/err"
rc=$?
begin
[ $rc -eq 0 ] || problem "exit $rc"
[ "$(wc -l <"$T/err")" -eq 1 ] || problem "stderr is not one line"
stderr_has "adds 12 characters .*\\($NOLD -> $((NOLD + 12))\\): '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' and 2 more;"
report "twelve new characters: the note names ten and counts the rest"

"$CHARNN" train "$T/old.txt" --init-from "$T/old.ckpt" --checkpoint "$T/same.ckpt" --iters 1 \
    $TINY >"$T/out" 2>"$T/err"
rc=$?
begin
[ $rc -eq 0 ] || problem "exit $rc"
[ -s "$T/err" ] && problem "stderr is not empty"
report "--init-from on a text without new characters: no note"
