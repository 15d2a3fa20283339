#!/bin/sh
# Every command bounded by its inputs, and saying so (issue 23), the fast
# cases: trace's longest text; beam search's memory refused up front
# naming the flag, a long search's estimate on stderr, and Ctrl-C printing
# the best text so far, marked partial; samples drawn together refused
# when their texts cannot fit; the small things: plurals, thousands, an
# empty --prime, an empty --prime-file, a version-0 checkpoint; training's
# validation on a fixed part of the held-out tail (--eval-chars), said in
# the header, kept by a resume and by older checkpoints' runs, the whole
# tail through charnn eval --held-out; a --time-budget that includes the
# final validation. The slow cases (a 100 MB corpus, a vocabulary of
# 100,000) are in tests/abuse_bounds.sh (make abuse). Run from the
# repository root; prints one ok/not ok line per check.
CHARNN=${CHARNN:-./charnn}
case $CHARNN in /*) ;; *) CHARNN=$(pwd)/$CHARNN ;; esac
T=$(mktemp -d) || exit 1
bg_pid=
trap '[ -n "$bg_pid" ] && kill -KILL "$bg_pid" 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
. "$(dirname "$0")/lib.sh" # begin, problem, report, stderr_has, refused, check, DEFSIG
cd "$T" || exit 1

for i in $(seq 1 30); do
    printf 'ROMEO:\nIt is the east, and Juliet is the sun.\n\nJULIET:\nO Romeo, Romeo!\n\n'
done >play.txt
"$CHARNN" train play.txt --model lstm --hidden 8 --layers 1 --iters 30 --batch 2 --seq-length 16 \
    --val-frac 0 --quiet --checkpoint m.ckpt >out 2>err
check $? "set-up: a small model" err

# --- trace: at most 1,000 characters, refused before any work
COMMAND=trace
long=$(awk 'BEGIN { for (i = 0; i < 10000; i++) printf "ab" }')
start=$(now_ms)
refused "a --text of 20,000 characters (once 21 s and 806 MB)" 2 \
    "--text has 20,000 characters, more than a trace's 1,000" --hidden 64 --layers 4 --text "$long"
[ $(($(now_ms) - start)) -lt $((2000 * SLOW)) ]
check $? "... refused at once ($(($(now_ms) - start)) ms)"
thousand=$(awk 'BEGIN { for (i = 0; i < 500; i++) printf "ab" }')
"$CHARNN" trace --text "$thousand" >out 2>err
check $? "a --text of exactly 1,000 characters is traced" err
"$CHARNN" trace --hidden 64 --layers 4 --text "$thousand" --format json >/dev/null 2>err
begin
grep -Eq '^charnn: note: this trace prints about [0-9]+ MB' err || problem "no note of the size"
report "a trace of over 100 MB says how much it will print first ($(head -c 120 err))"

# --- beam search: memory refused up front, flags named, exit 2
COMMAND=sample
refused "--beam 16 --length 100000000 names --length" 2 "^charnn: --length 100,000,000 is more than beam search's 16,777,216" \
    m.ckpt --beam 16 --length 100000000
refused "--beam 4096 --length 16777216 (550 GB of history) is refused up front" 2 \
    "--beam 4096 with --length 16,777,216 needs [0-9.]+ GiB of memory.*--length or --beam" \
    m.ckpt --beam 4096 --length 16777216
# a long search: an estimate and progress on stderr, Ctrl-C prints the best
# text so far marked partial, exit 130
fresh_bg beam.out beam.err
$DEFSIG "$CHARNN" sample m.ckpt --beam 64 --length 1000000 --prime "ROMEO:" >beam.out 2>beam.err </dev/null &
bg_pid=$!
w=0
while [ $w -lt $((100 * SLOW)) ] && ! grep -q 'note: beam search' beam.err && kill -0 $bg_pid 2>/dev/null; do
    sleep 0.05
    w=$((w + 1))
done
kill -INT $bg_pid 2>/dev/null
ended $bg_pid $((20 * SLOW))
bg_pid=
begin
[ "$rc" -eq 130 ] || problem "exit $rc, expected 130"
grep -Eq '^charnn: note: beam search of 64 beams over 1,000,000 characters: about [0-9:]+ \(estimated' beam.err ||
    problem "no estimate on stderr"
grep -Eq '^charnn: beam search interrupted after [0-9,]+ of 1,000,000 characters: printed the best text so far \(partial\)' beam.err ||
    problem "no line saying the text is partial"
head -c 6 beam.out | grep -q '^ROMEO:' || problem "stdout does not start with the prime"
[ "$(wc -c <beam.out)" -gt 20 ] || problem "no text on stdout"
cp beam.err err
report "a search of 64 beams over 1,000,000 characters: an estimate on stderr; Ctrl-C prints the best text so far, marked partial, exit 130 ($(wc -c <beam.out) bytes)"
fresh_bg beam.out beam.err
$DEFSIG "$CHARNN" sample m.ckpt --beam 8 --length 1000000 --format jsonl >beam.out 2>beam.err </dev/null &
bg_pid=$!
sleep 1
kill -INT $bg_pid 2>/dev/null
ended $bg_pid $((20 * SLOW))
bg_pid=
python3 -c 'import json, sys
r = json.loads(open(sys.argv[1]).read())
sys.exit(0 if r["partial"] is True and r["beam"] == 8 and len(r["text"]) > 10 else 1)' beam.out
check $? "... and --format jsonl marks it \"partial\": true (exit $rc)" beam.err
# samples drawn together keep their texts until the end: bounded up front too
timeout $((10 * SLOW)) "$CHARNN" sample m.ckpt --samples 65536 --length 1000000000 >out 2>err
rc=$?
begin
[ $rc -eq 2 ] || problem "exit $rc, expected 2 (124: still drawing after 10 s)"
stderr_has '^charnn: --samples 65536 with --length 1,000,000,000 needs [0-9.]+ GiB'
report "--samples 65536 --length 1000000000 (65 TB of text) is refused up front, naming the flags"
"$CHARNN" sample m.ckpt --beam 4 --length 50 --format jsonl >out 2>err
[ $? -eq 0 ] && ! grep -q partial out && ! grep -q note err
check $? "a short search shows neither estimate nor partial mark" err

# --- the small things
COMMAND=sample
refused "--prime '' is refused, not silently a newline" 2 "^charnn: --prime is empty" m.ckpt --prime ''
: >empty.txt
refused "an empty --prime-file gets sample's wording" 1 \
    "^charnn: --prime-file empty.txt is empty; give a file with the text to start from" \
    m.ckpt --prime-file empty.txt
: >empty-corpus.txt
"$CHARNN" eval m.ckpt empty-corpus.txt >out 2>err
begin
grep -q 'something to learn' err && problem "eval speaks of learning"
stderr_has 'empty'
report "an empty file to eval is empty, not something to learn ($(cat err))"
cp m.ckpt v0.ckpt
printf '\000\000\000\000' | dd of=v0.ckpt bs=1 seek=8 conv=notrunc 2>/dev/null
COMMAND=info
refused "a version-0 checkpoint is damaged, not from a newer charnn" 1 \
    "format version 0, which no charnn writes: the file is damaged" v0.ckpt
COMMAND=train
refused "--layers 2 against a 1-layer checkpoint says 1 layer" 2 \
    "holds a lstm, 1 layer x 8 model" play.txt --init-from m.ckpt --layers 2 --iters 1 \
    --checkpoint grown.ckpt
python3 -c 'import sys
sys.stdout.write("".join(chr(0x4e00 + i) for i in range(1200)) + "\n")' >cjk.txt
cat play.txt >>cjk.txt
"$CHARNN" train cjk.txt --init-from m.ckpt --iters 1 --batch 2 --seq-length 8 --val-frac 0 \
    --quiet --checkpoint grown.ckpt >out 2>err
begin
stderr_has "^charnn: note: the corpus adds 1,200 characters to the vocabulary of m\.ckpt \(2[0-9] -> 1,2[0-9][0-9]\): .* and 1,190 more;"
report "the vocabulary note counts with thousands separators ($(sed "s/): .*/)/" err))"

# --- training's validation: a fixed part of the held-out tail (--eval-chars)
S="--model lstm --hidden 16 --layers 1 --batch 8 --seq-length 16 --sample-every 0"
random_text 3 >r.txt
cat r.txt r.txt r.txt >tail.txt # 612,000 characters: a tail of 306,000 at --val-frac 0.5
"$CHARNN" train tail.txt $S --val-frac 0.5 --iters 6 --eval-every 3 --checkpoint part.ckpt \
    --print-every 1 >out 2>err
begin
grep -q '  data: tail.txt, 612,000 characters (306,000 train, 306,000 validation), [0-9,]* iterations per epoch; validation on 250,000 of them, the same each time (--eval-chars 250000)$' out ||
    problem "the header does not say what is evaluated: $(grep data: out)"
"$CHARNN" info part.ckpt | grep -q 'eval-chars 250000' || problem "info does not show eval-chars 250000"
report "by default a validation reads 250,000 of a 306,000-character tail, and the header says so"
"$CHARNN" train tail.txt $S --val-frac 0.5 --iters 6 --eval-every 3 --eval-chars all \
    --checkpoint all.ckpt --print-every 1 >out 2>err
begin
grep -q 'validation on all of them$' out || problem "the header does not say all: $(grep data: out)"
"$CHARNN" info all.ckpt | grep -q 'eval-chars all' || problem "info does not show eval-chars all"
report "--eval-chars all validates on the whole tail, and says so"
all_loss=$(sed -n 's/^eval at iteration 6: val loss \([0-9.]*\).*/\1/p' out)
"$CHARNN" eval all.ckpt tail.txt --held-out >out 2>err
held=$(awk '{ printf "%.4f", $1 }' out)
"$CHARNN" eval part.ckpt tail.txt --held-out >out2 2>>err
part_loss=$("$CHARNN" info part.ckpt | sed -n 's/^val loss: *\([0-9.]*\).*/\1/p')
begin
[ -n "$all_loss" ] && [ "$held" = "$all_loss" ] || problem "eval --held-out gives $held, the whole-tail validation $all_loss"
cmp -s out out2 || problem "the two runs' models (the same but for --eval-chars) differ on the tail: $(cat out out2)"
[ "$part_loss" != "$all_loss" ] || problem "the part's loss is the whole tail's ($part_loss)"
grep -q '(305,992 predictions)' out || problem "not the whole tail's predictions: $(cat out)"
report "charnn eval --held-out scores the whole tail as the run would ($held; the part read $part_loss)"
COMMAND=eval
refused "eval --held-out of a run without a tail" 2 "val-frac" m.ckpt play.txt --held-out
COMMAND=train
refused "--eval-chars x" 2 "^charnn: --eval-chars x is not a whole number or all" tail.txt --eval-chars x
refused "a resume that changes --eval-chars (its best loss was measured on another part)" 2 \
    "^charnn: --eval-chars differs from the checkpoint \\(250000\\); a resumed run keeps it" \
    tail.txt --resume part.ckpt --iters 9 --eval-chars 1000
"$CHARNN" train tail.txt --resume part.ckpt --iters 9 --print-every 1 >out 2>err
begin
grep -q 'validation on 250,000 of them' out || problem "the resumed run does not keep it: $(grep data: out)"
report "a resume keeps the checkpoint's --eval-chars"
# a version 3 checkpoint (no eval-chars: 8 bytes fewer before the vocabulary)
# validated on the whole tail, and a resume of it still does
python3 - part.ckpt v3.ckpt <<'PY'
import struct, sys, zlib
d = bytearray(open(sys.argv[1], 'rb').read())
fixed = 356  # bytes before the vocabulary in version 4; eval-chars and plan-epochs the last 16
d = d[:fixed - 16] + d[fixed:]
d[8:12] = struct.pack('<I', 3)
d[16:24] = struct.pack('<Q', len(d))
d[-4:] = struct.pack('<I', zlib.crc32(bytes(d[:-4])))
open(sys.argv[2], 'wb').write(bytes(d))
PY
"$CHARNN" info v3.ckpt >out 2>err
begin
grep -q 'format version 3' out || problem "not read as version 3: $(head -1 out) $(cat err)"
grep -q 'eval-chars all' out || problem "a version 3 checkpoint does not validate on the whole tail"
"$CHARNN" train tail.txt --resume v3.ckpt --iters 12 --print-every 1 --checkpoint v3.ckpt >out 2>err
grep -q 'validation on all of them$' out || problem "its resume does not: $(grep data: out) $(cat err)"
report "a version 3 checkpoint loads and its run goes on validating on the whole tail"

# --time-budget covers the whole run: a 3 s run with a tail of 1.5 million
# characters, whose validation (250,000 of them) takes a second or so, ends
# within 3 s. A sanitizer build gets 15 s and validates on 50,000 (one
# validation of 250,000 took 5 s with ASan, more with TSan, and its time
# varies with load); under an emulator (SLOW) one of 250,000 takes minutes,
# longer than the budget, so it reads 250,000 / SLOW.
for i in 1 2 3 4 5; do cat tail.txt; done >long.txt
budget=3
eval_chars=$((250000 / SLOW))
[ "${SANITIZE:-}" = 1 ] && budget=15 eval_chars=50000
start=$(now_ms)
"$CHARNN" train long.txt --model lstm --hidden 128 --layers 1 --val-frac 0.5 --time-budget ${budget}s \
    --eval-chars $eval_chars --eval-every 20 --sample-every 0 --threads 1 --quiet --checkpoint budget.ckpt >out 2>err
rc=$?
ms=$(($(now_ms) - start))
begin
[ $rc -eq 0 ] || problem "exit $rc"
# the end is estimated from the last validation's time, which varies with
# the machine's load: 10% of the budget is allowed for that, 1 s for the start
bound=$((budget * 1100 + 1000))
[ $ms -lt $((bound * SLOW)) ] || problem "it took $ms ms"
report "--time-budget ${budget}s with periodic validations ends within ${budget} s, final validation and save included ($ms ms, bound $bound ms)"
