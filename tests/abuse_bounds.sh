#!/bin/sh
# make abuse: every command bounded on big inputs (issue 23), each case
# under a minute:
#   - a corpus of 100 MB (generated: words, mostly ASCII, of some 400
#     characters: Latin, Greek, Cyrillic, CJK, punctuation): training with
#     the default model and --time-budget 40s validates on 250,000 of the 9
#     million held-out characters, says so, and ends within the budget,
#     final validation and save included (the whole tail took some 10
#     minutes on 2 threads);
#   - a vocabulary of 100,000 characters: score --top 100000, sample
#     --top-k 100000 and sample --beam 4096 finish in seconds (minutes to
#     hours before), and a beam search that cannot fit in memory is
#     refused at once.
# Prints one ok/not ok line per property.
#   usage: sh tests/abuse_bounds.sh      (run from the repository root)
CHARNN=${CHARNN:-./charnn}
case $CHARNN in /*) ;; *) CHARNN=$(pwd)/$CHARNN ;; esac
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh" # check, begin, problem, report, now_ms, SLOW
cd "$T" || exit 1
if ! command -v python3 >/dev/null 2>&1; then
    echo "ok - big inputs # skipped: no python3 to generate them"
    exit 0
fi

# run LIMIT CMD...: stdout to out, stderr to err, status in rc, milliseconds in ms
run() {
    limit=$1
    shift
    start=$(now_ms)
    timeout $((limit * SLOW)) "$@" </dev/null >out 2>err
    rc=$?
    ms=$(($(now_ms) - start))
}

# --- 100 MB of text
python3 - <<'EOF'
import random
rng = random.Random(23)
letters = ([chr(c) for c in range(0x61, 0x7b)] + [chr(c) for c in range(0x41, 0x5b)] +
           [chr(c) for c in range(0xe0, 0x100)] + [chr(c) for c in range(0x3b1, 0x3ca)] +
           [chr(c) for c in range(0x430, 0x450)] + [chr(c) for c in range(0x4e00, 0x4f00)])
ascii = letters[:52]
words = [''.join(rng.choice(ascii if k % 8 else letters) for _ in range(rng.randint(1, 9)))
         for k in range(5000)]
punct = [' '] * 12 + [', ', '. ', '; ', ' (', ') ', '\n', ' "', '" ', '0', '1', '2', ': ', '-']
with open('big.txt', 'w', encoding='utf-8') as f:
    size = 0
    while size < 100_000_000:
        block = ''.join(rng.choice(words) + rng.choice(punct) for _ in range(20000))
        f.write(block)
        size += len(block.encode('utf-8'))
EOF
check $? "set-up: a corpus of $(($(wc -c <big.txt) / 1000000)) MB"

run 60 "$CHARNN" train big.txt --time-budget 40s --eval-every 20 --threads 2 --sample-every 0 \
    --print-every 1 --log big.csv --checkpoint big.ckpt
begin
[ $rc -eq 0 ] || problem "exit $rc (124: still running after 60 s)"
grep -q 'validation on 249,984 of them, the same each time (--eval-chars 250000)$' out ||
    problem "the header does not say what is validated: $(grep data: out)"
# the budget, and reading and checking 100 MB before the run starts
[ $ms -lt $((46000 * SLOW)) ] || problem "the run took $ms ms for a budget of 40 s"
# each validation's row against the row before it: a step, the validation
# and the save
evals=$(log_rows big.csv | awk -F, 'prev != "" && $6 != "" { printf "%s%.1f", sep, $10 - prev; sep = " " } { prev = $10 }')
worst=$(echo "$evals" | tr ' ' '\n' | sort -n | tail -1)
[ -n "$evals" ] || problem "no validation in the log"
awk -v w="${worst:-999}" -v s="$SLOW" 'BEGIN { exit !(w < 25 * s) }' || problem "a validation took $worst s"
report "100 MB, default model, 2 threads, --time-budget 40s: ended in $ms ms; each validation of 249,984 characters with its step and save took $evals s (the whole tail took minutes)"

# --- a vocabulary of 100,000 characters
python3 - <<'EOF'
import random
rng = random.Random(23)
cps = [c for c in range(0x20, 0x30000) if not 0xd800 <= c <= 0xdfff and c != 0x7f][:100000]
rng.shuffle(cps)
s = ''.join(map(chr, cps))
open('vocab.txt', 'w', encoding='utf-8').write(s + '\n' + s[:5000] + '\n')
open('short.txt', 'w', encoding='utf-8').write(s[:50])
EOF
"$CHARNN" train vocab.txt --model rnn --hidden 8 --layers 1 --batch 1 --seq-length 8 --iters 1 \
    --val-frac 0 --quiet --checkpoint v.ckpt >out 2>err
check $? "set-up: a model of a vocabulary of 100,000 characters" err

run 60 "$CHARNN" score v.ckpt short.txt --format jsonl --top 100000
begin
[ $rc -eq 0 ] || problem "exit $rc (124: still running after 60 s)"
python3 -c 'import json, sys
rows = [json.loads(l) for l in open("out", encoding="utf-8")]
top = rows[0]["top"]
ok = len(rows) == 49 and len(top) == 100000 and all(a[1] >= b[1] for a, b in zip(top, top[1:]))
sys.exit(0 if ok else 1)' || problem "not 49 rows of 100,000 guesses, most likely first"
report "score --format jsonl --top 100000 over 50 characters: $ms ms (1.8 s a row before)"

run 60 "$CHARNN" sample v.ckpt --top-k 100000 --length 100
begin
[ $rc -eq 0 ] || problem "exit $rc (124: still running after 60 s)"
report "sample --top-k 100000 --length 100: $ms ms (11 s for 5 characters before)"

if command -v /usr/bin/time >/dev/null 2>&1; then
    run 60 /usr/bin/time -f 'peak %M KB' "$CHARNN" sample v.ckpt --beam 4096 --length 2
else
    run 60 "$CHARNN" sample v.ckpt --beam 4096 --length 2
fi
begin
[ $rc -eq 0 ] || problem "exit $rc (124: still running after 60 s)"
grep -q '^charnn: note: beam search of 4096 beams over 2 characters uses [0-9.]* GiB of memory$' err ||
    problem "its memory is not announced"
report "sample --beam 4096 --length 2: $ms ms, $(grep -o 'peak [0-9]* KB' err) (104 s and 2.4 GB before), its memory announced"

run 10 "$CHARNN" sample v.ckpt --beam 4096 --length 1000000
begin
[ $rc -eq 2 ] || problem "exit $rc, expected 2"
[ "$(wc -l <err)" -eq 1 ] || problem "not one line on stderr"
stderr_has '^charnn: --beam 4096 with --length 1,000,000 needs [0-9.]+ GiB of memory'
report "sample --beam 4096 --length 1000000 is refused at once, naming the flags ($ms ms)"
exit 0
