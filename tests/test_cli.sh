#!/bin/sh
# Command-line tests for charnn: run from the repository root (make test does
# this through tests/run.sh) as   sh tests/test_cli.sh
#
# Covers the contract of ./charnn: exit codes (0 ok, 1 runtime error, 2 usage
# error, 3 diverged, 130 SIGINT, 143 SIGTERM), that every error is exactly one
# stderr line starting "charnn: " with nothing on stdout, and the messages'
# key facts; flag validation for train, sample, eval and info; bad corpora;
# damaged and foreign checkpoints for sample, info, export and eval; resume
# and init-from conflicts; the output of info, sample, eval and export;
# determinism of training and sampling; exact resume; divergence; signals.
#
# Prints one "ok - ..." or "not ok - ..." line per check (details of a
# failure indented below it) and always exits 0. Everything it writes goes
# to a temporary directory. Training runs are tiny (hidden 8, batch 2,
# seq-length 8, a few hundred bytes of generated text).

LC_ALL=C
export LC_ALL
CHARNN=${CHARNN:-./charnn}
T=$(mktemp -d) || exit 1
bg_pid=
# on exit, end a background training run still going, and remove $T
trap '[ -n "$bg_pid" ] && kill "$bg_pid" 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

if [ ! -x "$CHARNN" ]; then
    echo "not ok - $CHARNN exists (build it with make charnn)"
    exit 0
fi

# ---------------------------------------------------------------------------
# Helpers: begin, problem, report, stderr_has, now_ms and the background
# runs' started and ended are tests/lib.sh's

. "$(dirname "$0")/lib.sh"

# run CMD...: runs CMD with no input, stdout to $T/out, stderr to $T/err,
# exit status in $rc, the command line in $cmd; a hang is cut at 30 s.
run() {
    cmd="$*"
    timeout $((30 * SLOW)) "$@" </dev/null >"$T/out" 2>"$T/err"
    rc=$?
}

# The last run's stderr is exactly one non-empty line starting "charnn: ".
check_error_line() {
    lines=$(awk 'END { print NR }' "$T/err")
    if [ "$lines" -ne 1 ]; then
        problem "expected exactly one line on stderr, got $lines"
    elif [ -n "$(tail -c 1 "$T/err")" ]; then
        problem "the stderr line does not end with a newline"
    else
        case $(cat "$T/err") in
        "charnn: "?*) ;;
        *) problem "the stderr line does not start with 'charnn: '" ;;
        esac
    fi
}

# stdout_has REGEX: the last run's stdout matches (extended, any case).
stdout_has() {
    grep -Eqi -e "$1" "$T/out" || problem "expected stdout to match /$1/"
}

# expect_fail CODE DESC REGEX CMD...: CMD exits CODE with empty stdout and one
# "charnn: " line on stderr matching REGEX ('' for any message).
expect_fail() {
    code=$1 desc=$2 pat=$3
    shift 3
    run "$@"
    begin
    [ "$rc" -eq "$code" ] || problem "expected exit $code, got $rc"
    [ -s "$T/out" ] && problem "expected empty stdout, got: $(head -c 160 "$T/out")"
    check_error_line
    [ -n "$pat" ] && stderr_has "$pat"
    report "$desc"
}

# expect_ok DESC CMD...: CMD exits 0 and writes nothing to stderr. Further
# checks on $T/out can follow through begin/problem/report.
expect_ok() {
    desc=$1
    shift
    run "$@"
    begin
    [ "$rc" -eq 0 ] || problem "expected exit 0, got $rc"
    [ -s "$T/err" ] && problem "expected nothing on stderr"
    report "$desc"
}

# must_run CMD...: a setup step; reports a failure line only if it fails.
must_run() {
    run "$@"
    if [ "$rc" -ne 0 ] || [ -s "$T/err" ]; then
        begin
        problem "a setup step failed"
        report "setup: $*"
        return 1
    fi
}

# losses FILE: "iteration loss smooth" for every progress line of a train log
# (drops the timing fields, which differ between runs).
losses() {
    sed -n 's/^iter *\([0-9,]*\)\/[0-9,]* | epoch *[0-9.]* | loss \([^ ]*\) | smooth \([^ ]*\) .*/\1 \2 \3/p' "$1"
}

# size FILE: its size in bytes.
size() { wc -c <"$1" | tr -d ' '; }

# poke FILE OFFSET OCTAL-ESCAPES: overwrite bytes at OFFSET in place.
poke() {
    printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# ---------------------------------------------------------------------------
# Data: a small ASCII corpus (lowercase letters, space, newline), the same
# lines in another order (same alphabet, different text), and checkpoints.

LINE1='the quick brown fox jumps over the lazy dog'
LINE2='pack my box with five dozen liquor jugs'
LINE3='how vexingly quick daft zebras jump'
C=$T/corpus.txt
for i in 1 2 3; do
    printf '%s\n%s\n%s\n' "$LINE1" "$LINE2" "$LINE3"
done >"$C"
C2=$T/reordered.txt
for i in 1 2 3; do
    printf '%s\n%s\n%s\n' "$LINE3" "$LINE1" "$LINE2"
done >"$C2"
NVOCAB=$(od -An -v -tx1 "$C" | tr -s ' ' '\n' | grep . | sort -u | wc -l | tr -d ' ')

TINY="--model lstm --hidden 8 --layers 1 --batch 2 --seq-length 8"
CK=$T/model.ckpt
must_run $CHARNN train "$C" $TINY --iters 5 --checkpoint "$CK"
cp "$T/out" "$T/train.out"
cp "$T/err" "$T/train.err"
train_cmd=$cmd train_rc=$rc

# ---------------------------------------------------------------------------
# Usage errors: exit 2, one line on stderr, nothing on stdout

run $CHARNN
begin
[ "$rc" -eq 2 ] || problem "expected exit 2, got $rc"
report "no command at all exits 2"

expect_fail 2 "unknown command is a usage error naming it" 'frobnicate' \
    $CHARNN frobnicate
expect_fail 2 "unknown flag --hiden suggests --hidden" '--hidden' \
    $CHARNN train "$C" --hiden 8
expect_fail 2 "--lr abc is rejected" '--lr' $CHARNN train "$C" --lr abc
expect_fail 2 "--lr without a value is rejected" '--lr' $CHARNN train "$C" --lr
expect_fail 2 "--lr 0 is out of range" '--lr' $CHARNN train "$C" --lr 0
expect_fail 2 "--lr -1 is out of range" '--lr' $CHARNN train "$C" --lr -1
expect_fail 2 "--hidden 0 is out of range" '--hidden' $CHARNN train "$C" --hidden 0
expect_fail 2 "--hidden 1.5 is not a whole number" '--hidden' $CHARNN train "$C" --hidden 1.5
expect_fail 2 "--hidden abc is rejected" '--hidden' $CHARNN train "$C" --hidden abc
expect_fail 2 "--layers 0 is out of range" '--layers' $CHARNN train "$C" --layers 0
expect_fail 2 "--dropout 1.5 is out of range" '--dropout' $CHARNN train "$C" --dropout 1.5
expect_fail 2 "--dropout 1 is out of range" '--dropout' $CHARNN train "$C" --dropout 1
expect_fail 2 "--dropout -0.1 is out of range" '--dropout' $CHARNN train "$C" --dropout -0.1
expect_fail 2 "--seq-length 0 is out of range" '--seq-length' $CHARNN train "$C" --seq-length 0
expect_fail 2 "--batch 0 is out of range" '--batch' $CHARNN train "$C" --batch 0
expect_fail 2 "--model transformer is not a choice" 'transformer' \
    $CHARNN train "$C" --model transformer
expect_fail 2 "--optim lbfgs is not a choice" 'lbfgs' $CHARNN train "$C" --optim lbfgs
expect_fail 2 "--val-frac 1 is out of range" '--val-frac' $CHARNN train "$C" --val-frac 1
expect_fail 2 "--clip-norm -1 is out of range" '--clip-norm' $CHARNN train "$C" --clip-norm -1
expect_fail 2 "--epochs 0 is out of range" '--epochs' $CHARNN train "$C" --epochs 0
expect_fail 1 "train with several files names a missing one" 'no-such-file.txt' \
    $CHARNN train "$C" "$T/no-such-file.txt"
expect_fail 2 "standard input given twice is refused" 'twice' \
    $CHARNN train - - < /dev/null
expect_fail 2 "sample --temperature 0 is out of range" '--temperature' \
    $CHARNN sample "$CK" --temperature 0
expect_fail 2 "sample --temperature -1 is out of range" '--temperature' \
    $CHARNN sample "$CK" --temperature -1
expect_fail 2 "sample --top-k -1 is out of range" '--top-k' $CHARNN sample "$CK" --top-k -1
expect_fail 2 "sample --length abc is rejected" '--length' $CHARNN sample "$CK" --length abc
expect_fail 2 "sample without a checkpoint is a usage error" '' $CHARNN sample
expect_fail 2 "eval without a file is a usage error" '' $CHARNN eval "$CK"
expect_fail 2 "info with two arguments is too many" '' $CHARNN info "$CK" "$CK"
expect_fail 2 "--resume together with --init-from is refused" 'resume.*init-from|init-from.*resume' \
    $CHARNN train "$C" --resume "$CK" --init-from "$CK"
expect_fail 2 "sample --prime with a character outside the vocabulary names it" "'Q'|U\\+0051" \
    $CHARNN sample "$CK" --prime Q

# ---------------------------------------------------------------------------
# Runtime errors with corpora: exit 1, one line on stderr, nothing on stdout

expect_fail 1 "missing corpus file is named in the error" 'no-such-file\.txt' \
    $CHARNN train "$T/no-such-file.txt" $TINY --checkpoint "$T/x.ckpt"
mkdir "$T/adir"
expect_fail 1 "a directory as the corpus is refused" 'director' \
    $CHARNN train "$T/adir" $TINY --checkpoint "$T/x.ckpt"
: >"$T/empty.txt"
expect_fail 1 "an empty corpus is refused" 'empty' \
    $CHARNN train "$T/empty.txt" $TINY --checkpoint "$T/x.ckpt"
if [ "$(id -u)" -eq 0 ]; then
    echo "ok - an unreadable corpus is refused # skipped as root"
else
    cp "$C" "$T/unreadable.txt"
    chmod 000 "$T/unreadable.txt"
    expect_fail 1 "an unreadable corpus is refused" 'unreadable\.txt' \
        $CHARNN train "$T/unreadable.txt" $TINY --checkpoint "$T/x.ckpt"
    chmod 600 "$T/unreadable.txt"
fi
printf 'abc\377def' >"$T/bad-utf8.txt"
expect_fail 1 "invalid UTF-8 is refused with its byte offset" 'byte 3([^0-9]|$)' \
    $CHARNN train "$T/bad-utf8.txt" $TINY --checkpoint "$T/x.ckpt"
printf 'abcdefghi\n' >"$T/ten.txt"
expect_fail 1 "a corpus too short for --batch x --seq-length is refused" '' \
    $CHARNN train "$T/ten.txt" --hidden 8 --layers 1 --batch 4 --seq-length 8 --val-frac 0 \
    --checkpoint "$T/x.ckpt"
# 360 characters x 0.004 leaves 1 for validation
expect_fail 1 "--val-frac leaving fewer than 2 validation characters is refused" '--val-frac' \
    $CHARNN train "$C" $TINY --val-frac 0.004 --checkpoint "$T/x.ckpt"
start=$(now_ms)
expect_fail 1 "--hidden 1000000 is refused before allocating, in MiB" 'MiB' \
    $CHARNN train "$C" --hidden 1000000 --batch 2 --seq-length 8 --checkpoint "$T/x.ckpt"
elapsed=$(($(now_ms) - start))
begin
[ "$elapsed" -le 2000 ] || problem "took $elapsed ms; expected under 2000"
cmd=
report "--hidden 1000000 is refused quickly"

# ---------------------------------------------------------------------------
# Damaged and foreign checkpoints, for every command that reads one

N=$(size "$CK")
head -c $((N - 1)) "$CK" >"$T/trunc1.ckpt"
head -c $((N / 2)) "$CK" >"$T/trunchalf.ckpt"
: >"$T/empty.ckpt"
cp "$C" "$T/text.ckpt"
cp "$CK" "$T/flipped.ckpt"
MID=$((N / 2))
BYTE=$(od -An -tu1 -j "$MID" -N 1 "$CK" | tr -d ' ')
poke "$T/flipped.ckpt" "$MID" "$(printf '\\%03o' $((BYTE ^ 255)))"
cp "$CK" "$T/version5.ckpt"
poke "$T/version5.ckpt" 8 '\005\000\000\000'
cp "$CK" "$T/bigendian.ckpt"
poke "$T/bigendian.ckpt" 12 '\001\002\003\004'

for command in sample info export eval; do
    extra=
    [ "$command" = eval ] && extra=$C
    expect_fail 1 "$command: a missing checkpoint is named in the error" 'missing\.ckpt' \
        $CHARNN $command "$T/missing.ckpt" $extra
    expect_fail 1 "$command: an empty checkpoint file is refused" '' \
        $CHARNN $command "$T/empty.ckpt" $extra
    expect_fail 1 "$command: a text file is not a checkpoint (magic)" 'magic' \
        $CHARNN $command "$T/text.ckpt" $extra
    expect_fail 1 "$command: a checkpoint one byte short is truncated" 'truncat' \
        $CHARNN $command "$T/trunc1.ckpt" $extra
    expect_fail 1 "$command: a checkpoint cut in half is truncated" 'truncat' \
        $CHARNN $command "$T/trunchalf.ckpt" $extra
    expect_fail 1 "$command: a flipped byte fails the CRC" 'CRC' \
        $CHARNN $command "$T/flipped.ckpt" $extra
    expect_fail 1 "$command: format version 5 is too new" 'version|newer' \
        $CHARNN $command "$T/version5.ckpt" $extra
    expect_fail 1 "$command: a big-endian byte-order mark is named" 'big-endian' \
        $CHARNN $command "$T/bigendian.ckpt" $extra
done

printf 'the cat#sat\n' >"$T/foreign.txt"
expect_fail 1 "eval: a character outside the vocabulary is named with its byte offset" \
    "#.*byte 7([^0-9]|$)" $CHARNN eval "$CK" "$T/foreign.txt"

# ---------------------------------------------------------------------------
# --resume and --init-from against the checkpoint (batch 2, hidden 8, lstm)

{ cat "$C"; printf 'one more line#\n'; } >"$T/extra-char.txt"
expect_fail 1 "train --resume: a corpus character outside the vocabulary is refused, pointing to --init-from" \
    "'#'.*--init-from" \
    $CHARNN train "$T/extra-char.txt" --resume "$CK" --iters 8 --checkpoint "$T/x.ckpt"
expect_fail 1 "train --resume on a different corpus of the same alphabet is refused" \
    'different corpus' \
    $CHARNN train "$C2" --resume "$CK" --iters 8 --checkpoint "$T/x.ckpt"
expect_fail 2 "train --resume with --hidden 16 contradicts the checkpoint" '--hidden' \
    $CHARNN train "$C" --resume "$CK" --hidden 16 --iters 8 --checkpoint "$T/x.ckpt"
expect_fail 2 "train --resume with --batch 3 differs from the checkpoint" '--batch' \
    $CHARNN train "$C" --resume "$CK" --batch 3 --iters 8 --checkpoint "$T/x.ckpt"
expect_fail 2 "train --init-from with --model gru contradicts an lstm checkpoint" '--model' \
    $CHARNN train "$C" --init-from "$CK" --model gru --iters 2 --checkpoint "$T/x.ckpt"
expect_fail 2 "train --init-from with --layers 2 contradicts a 1-layer checkpoint" '--layers' \
    $CHARNN train "$C" --init-from "$CK" --layers 2 --iters 2 --checkpoint "$T/x.ckpt"
for change in "--seq-length 4" "--val-frac 0.2" "--optim sgd" "--seed 2"; do
    expect_fail 2 "train --resume with $change differs from the checkpoint" "${change% *}" \
        $CHARNN train "$C" --resume "$CK" $change --iters 8 --checkpoint "$T/x.ckpt"
done
begin
[ -e "$T/x.ckpt" ] && problem "a failed run left $T/x.ckpt behind"
cmd=
report "none of the failed train runs above wrote their --checkpoint"

# ---------------------------------------------------------------------------
# Help and version

expect_ok "--version exits 0" $CHARNN --version
begin
grep -Eq '^charnn [0-9]+\.[0-9]+' "$T/out" || problem "expected 'charnn X.Y', got: $(head -n 1 "$T/out")"
report "--version prints the version"

expect_ok "--help exits 0" $CHARNN --help
begin
for c in train sample eval info export; do
    grep -q "^  $c " "$T/out" || problem "command $c is not listed"
done
report "--help lists every command"

TRAIN_FLAGS='model hidden layers dropout seq-length batch optim lr momentum beta1 beta2 eps
decay-rate clip-value clip-norm iters epochs print-every sample-every sample-length
temperature eval-every val-frac checkpoint resume init-from seed'
NUMERIC_FLAGS='hidden layers dropout seq-length batch lr clip-norm eval-every val-frac seed
iters epochs'
expect_ok "help train exits 0" $CHARNN help train
cp "$T/out" "$T/help-train.out"
expect_ok "train --help exits 0" $CHARNN train --help
begin
for f in $TRAIN_FLAGS; do
    grep -Eq -e "^ +--$f( |$)" "$T/out" || problem "--$f is not listed"
done
for f in $NUMERIC_FLAGS; do
    grep -Eq -e "^ +--$f .*\(default [^)]+\)" "$T/out" || problem "--$f has no (default ...)"
done
report "train --help lists every flag, numeric ones with their defaults"
begin
cmp -s "$T/out" "$T/help-train.out" || problem "help train and train --help differ"
report "help train prints the same as train --help"
for c in sample eval info export; do
    expect_ok "$c --help exits 0" $CHARNN $c --help
done
expect_fail 2 "help on an unknown command is a usage error" 'frobnicate' \
    $CHARNN help frobnicate

# ---------------------------------------------------------------------------
# The tiny training run, info, sample, eval, export

begin
[ -s "$CK" ] || problem "no checkpoint at $CK"
grep -q 'sample' "$T/train.out" || problem "stdout does not say how to sample"
cmd=$train_cmd rc=$train_rc
cp "$T/train.err" "$T/err"
report "a tiny train run writes --checkpoint and says how to sample"

expect_ok "info on the checkpoint exits 0" $CHARNN info "$CK"
begin
stdout_has 'lstm'
stdout_has '^parameters: +[0-9][0-9,]*$'
stdout_has "^vocabulary: +$NVOCAB characters"
stdout_has '^trained: +5 iterations'
report "info prints the model kind, parameters, vocabulary ($NVOCAB) and iterations (5)"

expect_ok "sample --length 50 --seed 3 exits 0 quietly" \
    $CHARNN sample "$CK" --length 50 --seed 3
cp "$T/out" "$T/sample1"
begin
[ "$(size "$T/out")" -eq 51 ] || problem "expected 51 bytes, got $(size "$T/out")"
[ -z "$(tail -c 1 "$T/out")" ] || problem "the output does not end with a newline"
report "sample --length 50 prints 50 characters and a newline"

run $CHARNN sample "$CK" --length 50 --seed 3
begin
cmp -s "$T/out" "$T/sample1" || problem "the two samples differ"
report "sample with the same seed twice is identical"

run $CHARNN sample "$CK" --length 50 --seed 4
begin
cmp -s "$T/out" "$T/sample1" && problem "--seed 3 and --seed 4 gave the same text"
report "sample with another seed differs"

run $CHARNN sample "$CK" --length 50 --argmax
cp "$T/out" "$T/argmax1"
run $CHARNN sample "$CK" --length 50 --argmax --seed 9
begin
[ "$rc" -eq 0 ] || problem "exit $rc"
cmp -s "$T/out" "$T/argmax1" || problem "the two --argmax samples differ"
report "sample --argmax is deterministic"

expect_ok "sample --prime ab exits 0" $CHARNN sample "$CK" --prime ab --length 20
begin
[ "$(head -c 2 "$T/out")" = ab ] || problem "output starts with '$(head -c 2 "$T/out")'"
[ "$(size "$T/out")" -eq 23 ] || problem "expected 2 + 20 + 1 bytes, got $(size "$T/out")"
report "sample --prime ab prints the prime, then --length characters"

expect_ok "eval exits 0" $CHARNN eval "$CK" "$C"
begin
set -- $(awk '{ n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/ && n < 2) v[++n] = $i;
               print v[1], v[2] }' "$T/out")
if [ $# -ne 2 ]; then
    problem "expected two numbers, got: $(cat "$T/out")"
else
    awk -v a="$1" 'BEGIN { exit !(a > 0) }' || problem "nats/char $1 is not positive"
    want=$(awk -v a="$1" 'BEGIN { printf "%.4f", a / log(2) }')
    got=$(awk -v b="$2" 'BEGIN { printf "%.4f", b }')
    [ "$want" = "$got" ] || problem "bits/char $2 is not nats/char / ln 2 = $want"
fi
report "eval prints nats/char and bits/char = nats / ln 2"

expect_ok "export exits 0" $CHARNN export "$CK"
begin
head -c 19 "$T/out" | grep -q '^{"format": "charnn"' ||
    problem "output starts with: $(head -c 40 "$T/out")"
grep -q '"tensors"' "$T/out" || problem 'no "tensors"'
grep -q '"W_hy"' "$T/out" || problem 'no "W_hy"'
report "export writes charnn JSON with tensors and W_hy"

# ---------------------------------------------------------------------------
# Determinism: the same run twice gives the same checkpoint and losses. The
# checkpoint holds the training time (f64 at byte offset 272: 24 header + 16
# model + 12 + 80 + 16 configuration + 8 + 8 + 40 schedule + 32 counters + 4
# corpus CRC + 32 losses) and, last, its CRC; every other byte must match.

RUN="$CHARNN train $C $TINY --iters 6 --print-every 1 --seed 7"
must_run $RUN --checkpoint "$T/det1.ckpt" && cp "$T/out" "$T/det1.out"
must_run $RUN --checkpoint "$T/det2.ckpt" && cp "$T/out" "$T/det2.out"
begin
if [ ! -s "$T/det1.ckpt" ] || [ ! -s "$T/det2.ckpt" ]; then
    problem "a checkpoint is missing"
elif [ "$(size "$T/det1.ckpt")" -ne "$(size "$T/det2.ckpt")" ]; then
    problem "the checkpoints have different sizes"
else
    n=$(size "$T/det1.ckpt")
    diffs=$(cmp -l "$T/det1.ckpt" "$T/det2.ckpt" |
        awk -v n="$n" '$1 < 273 || ($1 > 280 && $1 <= n - 4) { print $1 - 1 }' | head -n 5)
    [ -z "$diffs" ] || problem "bytes differ at offsets: $(echo $diffs)"
fi
cmd="$RUN (twice)"
report "two identical training runs write identical checkpoints (but for the time)"
begin
losses "$T/det1.out" >"$T/det1.loss"
losses "$T/det2.out" >"$T/det2.loss"
[ "$(wc -l <"$T/det1.loss")" -eq 6 ] || problem "expected 6 progress lines, got $(wc -l <"$T/det1.loss")"
cmp -s "$T/det1.loss" "$T/det2.loss" || problem "the losses differ"
report "two identical training runs print identical losses"

# ---------------------------------------------------------------------------
# Resume: 6 iterations straight must equal 2, then --resume to 6: the same
# model (compared through export, which holds only the model) and losses.

resume_check() { # DESC FLAGS...
    # a constant schedule: a cosine one follows the run's target, which the
    # short first run changes (an interrupted run keeps it: test_train)
    desc=$1
    shift
    rm -f "$T"/ra*.ckpt "$T"/rb*.ckpt
    must_run $CHARNN train "$C" --batch 2 --seq-length 8 --print-every 1 --seed 5 \
        --lr-schedule constant "$@" --iters 6 --checkpoint "$T/ra.ckpt" || return
    losses "$T/out" >"$T/ra.loss"
    must_run $CHARNN train "$C" --batch 2 --seq-length 8 --print-every 1 --seed 5 \
        --lr-schedule constant "$@" --iters 2 --checkpoint "$T/rb.ckpt" || return
    losses "$T/out" >"$T/rb.loss"
    must_run $CHARNN train "$C" --resume "$T/rb.ckpt" --iters 6 --print-every 1 \
        --checkpoint "$T/rb.ckpt" || return
    losses "$T/out" >>"$T/rb.loss"
    begin
    $CHARNN export "$T/ra.ckpt" >"$T/ra.json" 2>/dev/null
    $CHARNN export "$T/rb.ckpt" >"$T/rb.json" 2>/dev/null
    [ -s "$T/ra.json" ] || problem "export of the straight run failed"
    cmp -s "$T/ra.json" "$T/rb.json" || problem "the exported models differ"
    [ "$(wc -l <"$T/ra.loss")" -eq 6 ] || problem "expected 6 progress lines in the straight run"
    if ! cmp -s "$T/ra.loss" "$T/rb.loss"; then
        problem "the losses differ (iteration loss smooth), straight vs 2 + resume:"
        problem "$(paste "$T/ra.loss" "$T/rb.loss" | sed 's/^/  /')"
    fi
    cmd="train $* --iters 6  vs  --iters 2 then --resume --iters 6"
    report "$desc"
}
resume_check "resume reproduces a straight lstm run" --model lstm --hidden 8 --layers 1 \
    --dropout 0
resume_check "resume reproduces a straight run with --dropout 0.3 --layers 2" \
    --hidden 8 --layers 2 --dropout 0.3
resume_check "resume reproduces a straight gru run" --hidden 8 --layers 1 --model gru

# ---------------------------------------------------------------------------
# Divergence: exit 3, a message naming the iteration and --lr, and an earlier
# checkpoint at the --checkpoint path left untouched.

diverge_check() { # DESC FLAGS...
    desc=$1
    shift
    cp "$CK" "$T/div.ckpt"
    run $CHARNN train "$C" $TINY --iters 20 --lr 1e300 --optim sgd --clip-norm 0 \
        --checkpoint "$T/div.ckpt" --force "$@"
    begin
    [ "$rc" -eq 3 ] || problem "expected exit 3, got $rc"
    check_error_line
    stderr_has 'iteration [0-9]'
    stderr_has '--lr'
    cmp -s "$CK" "$T/div.ckpt" || problem "the earlier checkpoint was changed"
    report "$desc"
}
diverge_check "a diverging lstm run exits 3 and keeps the earlier checkpoint"
diverge_check "a diverging rnn run exits 3 and keeps the earlier checkpoint" --model rnn
diverge_check "a run diverging at a checkpoint save (--eval-every 1) exits 3" \
    --model rnn --eval-every 1

# ---------------------------------------------------------------------------
# Signals: SIGINT and SIGTERM save the checkpoint and exit 130 and 143.

signal_check() { # SIGNAL EXIT-CODE
    ck=$T/sig-$1.ckpt
    cmd="$CHARNN train $C $TINY --iters 1000000000000 --checkpoint $ck (then kill -$1)"
    fresh_bg "$T/out" "$T/err"
    $DEFSIG $CHARNN train "$C" $TINY --iters 1000000000000 --print-every 1000000000 \
        --eval-every 0 --sample-every 0 --checkpoint "$ck" </dev/null >"$T/out" 2>"$T/err" &
    pid=$! bg_pid=$!
    begin
    # wait for the first iteration (the handlers are in place by then)
    started "$T/out" $pid 10
    sleep 1
    kill -$1 $pid 2>/dev/null || problem "the run had already ended"
    ended $pid 10 || problem "still running 10 s after SIG$1; killed"
    bg_pid=
    [ "$rc" -eq "$2" ] || problem "expected exit $2, got $rc"
    grep -Eqi 'saved' "$T/out" || problem "stdout does not say the checkpoint was saved"
    [ -s "$T/err" ] && problem "expected nothing on stderr"
    cp "$T/err" "$T/sig.err"
    if $CHARNN info "$ck" >"$T/info.out" 2>"$T/err"; then
        grep -q '^trained: *0 iterations' "$T/info.out" && problem "the checkpoint has 0 iterations"
    else
        problem "info cannot load the checkpoint"
    fi
    cp "$T/sig.err" "$T/err"
    report "SIG$1 saves the checkpoint and exits $2"
}
signal_check INT 130
signal_check TERM 143

exit 0
