#!/bin/sh
# charnn sample's generation flags end to end: --samples N (sample i is
# --samples 1 --seed S+i, in text and JSON lines), --prime-file (the same
# as --prime), --stop (ends after its first occurrence in the generated
# text), --top-p (1 is off), --beam (1 is --argmax; the total on stderr),
# and their edge cases. Run from the repository root.
CHARNN=${CHARNN:-./charnn}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh" # check, refused

for i in 1 2 3 4 5 6 7 8 9 10; do
    printf 'ROMEO:\nIt is the east, and Juliet is the sun.\n\nJULIET:\nO Romeo, Romeo!\n\n'
done >"$T/play.txt"
"$CHARNN" train "$T/play.txt" --model lstm --hidden 32 --layers 2 --iters 300 --lr 0.01 --batch 4 \
    --seq-length 32 --val-frac 0 --quiet --checkpoint "$T/m.ckpt" >"$T/out" 2>"$T/err"
check $? "set-up: a small model" "$T/err"
S="$CHARNN sample $T/m.ckpt"

# --samples: sample i is what --samples 1 --seed S+i prints
$S --samples 3 --seed 5 --length 80 --prime "ROMEO:" --top-k 5 >"$T/three" 2>"$T/err"
check $? "--samples 3 runs" "$T/err"
: >"$T/want"
for i in 0 1 2; do
    echo "---- sample $i (seed $((5 + i))) ----" >>"$T/want"
    $S --seed $((5 + i)) --length 80 --prime "ROMEO:" --top-k 5 >>"$T/want" 2>>"$T/err"
done
cmp -s "$T/three" "$T/want"
check $? "--samples 3 prints the samples of seeds 5, 6, 7 under their headers" "$T/three"
$S --samples 3 --seed 5 --length 80 --prime "ROMEO:" --top-k 5 --format jsonl >"$T/three.jsonl" 2>"$T/err"
python3 - "$T" <<'EOF' >"$T/report" 2>&1
import json, subprocess, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(d + '/three.jsonl', encoding='utf-8')]
want = open(d + '/want', encoding='utf-8').read().split('---- sample ')[1:]
want = [w.split('----\n', 1)[1] for w in want]
ok = [r['sample'] for r in rows] == [0, 1, 2] and [r['seed'] for r in rows] == [5, 6, 7] and \
     [r['text'] for r in rows] == want
print('jsonl matches' if ok else 'jsonl %r\nwant %r' % (rows, want))
sys.exit(0 if ok else 1)
EOF
check $? "--format jsonl: {sample, seed, text}, text what --samples 1 --seed S+i prints" "$T/report"

# --prime-file: newlines kept, the same as --prime
printf 'JULIET:\nO Rom' >"$T/prime.txt"
$S --prime-file "$T/prime.txt" --length 60 --seed 3 >"$T/a" 2>"$T/err" &&
    $S --prime "$(printf 'JULIET:\nO Rom')" --length 60 --seed 3 >"$T/b" 2>>"$T/err" &&
    cmp -s "$T/a" "$T/b" && head -c 13 "$T/a" | cmp -s - "$T/prime.txt"
check $? "--prime-file is --prime with the file's text, newlines included" "$T/err"

# --stop: right after its first occurrence in the generated text, not the prime
$S --prime "$(printf 'ROMEO:\n\n')" --stop '\n\n' --length 500 --seed 2 >"$T/stop" 2>"$T/err"
python3 - "$T/stop" <<'EOF' >"$T/report" 2>&1
import sys
text = open(sys.argv[1], encoding='utf-8').read()
gen = text[len('ROMEO:\n\n'):]
ok = gen.endswith('\n\n\n') and gen[:-1].find('\n\n') == len(gen) - 3
print('stopped at the first blank line' if ok else 'not stopped right: %r' % gen)
sys.exit(0 if ok else 1)
EOF
check $? "--stop of two escaped newlines ends the sample at its first blank line (not the prime's)" "$T/report"
# a stop text that would span the prime and the generated text does not count
$S --argmax --prime "ROMEO" --stop 'O:' --length 40 >"$T/span" 2>"$T/err"
[ $? -eq 0 ] && [ "$(head -c 7 "$T/span")" != "$(printf 'ROMEO:\n')" ] || [ "$(wc -c <"$T/span")" -gt 7 ]
check $? "--stop O: after the prime ROMEO does not end at the prime's O and a generated : ($(head -c 20 "$T/span" | tr '\n' ' '))" "$T/err"
$S --samples 2 --stop ':' --length 300 --seed 4 --format jsonl >"$T/stops" 2>"$T/err" &&
    python3 -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if all(r["text"].endswith(":\n") and r["text"].count(":") == 1 for r in rows) else 1)' "$T/stops"
check $? "--stop ends each of several samples at its own first occurrence" "$T/stops"

# --top-p 1 is no top-p; --beam 1 is --argmax
$S --top-p 1 --length 100 --seed 9 >"$T/p1" && $S --length 100 --seed 9 >"$T/p0" && cmp -s "$T/p1" "$T/p0"
check $? "--top-p 1 prints what no --top-p prints"
$S --top-p 0.3 --length 100 --seed 9 >"$T/p3" 2>"$T/err" && ! cmp -s "$T/p3" "$T/p0"
check $? "--top-p 0.3 changes the sample" "$T/err"
$S --beam 1 --length 100 --prime "ROMEO:" >"$T/beam1" 2>"$T/err" &&
    $S --argmax --length 100 --prime "ROMEO:" >"$T/argmax" && cmp -s "$T/beam1" "$T/argmax" &&
    grep -q "total ln p = -" "$T/err"
check $? "--beam 1 prints what --argmax prints, and its total ln p on stderr" "$T/err"
$S --beam 8 --length 100 --prime "ROMEO:" >"$T/beam8" 2>"$T/err8"
check $? "--beam 8 runs" "$T/err8"
lp1=$(sed -n 's/.*total ln p = \(-[0-9.]*\).*/\1/p' "$T/err")
lp8=$(sed -n 's/.*total ln p = \(-[0-9.]*\).*/\1/p' "$T/err8")
awk -v a="$lp8" -v b="$lp1" 'BEGIN { exit !(a >= b) }'
check $? "--beam 8 finds a text at least as likely as greedy decoding ($lp8 >= $lp1)" "$T/err8"

# edge cases: one line, a non-zero exit
COMMAND="sample"
: >"$T/empty.txt"
printf 'zebra' >"$T/alien.txt"
refused "--stop ''" 2 "empty" "$T/m.ckpt" --stop ''
refused "--stop with an unknown escape" 2 'escape' "$T/m.ckpt" --stop 'a\qb'
refused "--stop the model cannot write" 2 "vocabulary" "$T/m.ckpt" --stop 'zz'
refused "--stop longer than --length" 2 "more than --length" "$T/m.ckpt" --stop 'ROMEO' --length 3
refused "--prime-file empty" 1 "empty" "$T/m.ckpt" --prime-file "$T/empty.txt"
refused "--prime-file missing" 1 "nope" "$T/m.ckpt" --prime-file "$T/nope.txt"
refused "--prime-file the model cannot read" 2 "vocabulary" "$T/m.ckpt" --prime-file "$T/alien.txt"
refused "--prime and --prime-file" 2 "one" "$T/m.ckpt" --prime a --prime-file "$T/prime.txt"
refused "--top-p 0" 2 "top-p" "$T/m.ckpt" --top-p 0
refused "--top-p 1.5" 2 "top-p" "$T/m.ckpt" --top-p 1.5
refused "--beam with --temperature" 2 "beam" "$T/m.ckpt" --beam 4 --temperature 0.5
refused "--beam with --samples" 2 "beam" "$T/m.ckpt" --beam 4 --samples 2
refused "--samples with --length 0" 2 "length" "$T/m.ckpt" --samples 2 --length 0
