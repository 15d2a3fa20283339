#!/bin/sh
# Faults, with the fault-injection build build/charnn-faults (tests/faults.c):
# a checkpoint save that fails at any step (full disk: create, write, flush,
# sync, close; read-only directory: rename) reports one clear line and
# leaves the previous checkpoint byte for byte; a failed periodic save is
# retried and three in a row stop training; a failed final save exits 1;
# a second Ctrl-C during a (slowed) save does not corrupt it; SIGKILL in
# the middle of a save leaves a checkpoint that loads; and a short kill
# soak (tests/soak.sh). Run from the repository root.
CHARNN=${CHARNN:-./charnn}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
F=${BUILD:-build}/charnn-faults
printf 'the cat sat on the mat\n%.0s' $(seq 1 60) > "$dir/corpus.txt"
small="--hidden 8 --layers 1 --batch 2 --seq-length 8 --print-every 1000 --sample-every 0"

. "$(dirname "$0")/lib.sh" # check, started, $DEFSIG
inode() { ls -i "$1" | awk '{ print $1 }'; } # (stat -c %i is GNU's, stat -f %i BSD's)

# a good checkpoint to protect
"$CHARNN" train "$dir/corpus.txt" $small --iters 4 --checkpoint "$dir/good.ckpt" >/dev/null 2>&1
cp "$dir/good.ckpt" "$dir/orig.ckpt"

for point in create write flush sync close rename; do
    cp "$dir/orig.ckpt" "$dir/good.ckpt"
    CHARNN_FAULT=$point:1+ $F train "$dir/corpus.txt" $small --resume "$dir/good.ckpt" \
        --checkpoint "$dir/good.ckpt" --iters 12 --eval-every 2 >"$dir/out" 2>"$dir/err"
    rc=$?
    lines=$(wc -l < "$dir/err")
    cmp -s "$dir/good.ckpt" "$dir/orig.ckpt" && "$CHARNN" info "$dir/good.ckpt" >/dev/null 2>&1
    intact=$?
    [ $rc -eq 1 ] && [ "$lines" -eq 3 ] && grep -q "stopping after 3 failed saves" "$dir/err" &&
        head -1 "$dir/err" | grep -q "^charnn: cannot $( [ $point = flush ] && echo write || echo $point) .*untouched; training goes on and tries again at the next evaluation$"
    check $? "$point fails on every save: one line each, stops after 3 in a row, exit 1 (got $rc)" "$dir/err"
    check $intact "$point fails: the previous checkpoint is byte-identical and loads"
    ls "$dir"/good.ckpt.*tmp >/dev/null 2>&1
    check $((! $?)) "$point fails: no temporary file is left behind"
done

# one failed save is retried, and the run finishes with a good checkpoint
cp "$dir/orig.ckpt" "$dir/good.ckpt"
CHARNN_FAULT=write:1 $F train "$dir/corpus.txt" $small --resume "$dir/good.ckpt" \
    --checkpoint "$dir/good.ckpt" --iters 12 --eval-every 2 >"$dir/out" 2>"$dir/err"
rc=$?
it=$("$CHARNN" info "$dir/good.ckpt" | sed -n 's/^trained: *\([0-9]*\) iterations.*/\1/p')
[ $rc -eq 0 ] && [ "$(wc -l < "$dir/err")" -eq 1 ] && [ "$it" = 12 ]
check $? "a save that fails once is retried at the next one; the run ends saved at iteration 12 (exit $rc, at $it)"

# the final save fails: exit 1, previous checkpoint intact
cp "$dir/orig.ckpt" "$dir/good.ckpt"
CHARNN_FAULT=rename:1 $F train "$dir/corpus.txt" $small --resume "$dir/good.ckpt" \
    --checkpoint "$dir/good.ckpt" --iters 8 --eval-every 0 >"$dir/out" 2>"$dir/err"
rc=$?
[ $rc -eq 1 ] && grep -q "last iterations are not saved" "$dir/err" && cmp -s "$dir/good.ckpt" "$dir/orig.ckpt"
check $? "a failed final save exits 1, says so, and keeps the previous checkpoint (exit $rc)" "$dir/err"

# keeping the best checkpoint where hard links fail: a copy, written like a save
rm -f "$dir"/lk*.ckpt
CHARNN_FAULT=link:1+ $F train "$dir/corpus.txt" $small --iters 4 --eval-every 4 \
    --checkpoint "$dir/lk.ckpt" >"$dir/out" 2>"$dir/err"
rc=$?
[ $rc -eq 0 ] && [ ! -s "$dir/err" ] && cmp -s "$dir/lk.ckpt" "$dir/lk.best.ckpt" &&
    [ "$(inode "$dir/lk.ckpt")" != "$(inode "$dir/lk.best.ckpt")" ] &&
    grep -q 'in .*lk.best.ckpt' "$dir/out"
check $? "with hard links failing, the best checkpoint is kept as a copy (exit $rc)" "$dir/err"

# start a slow-saving run in the background with SIGINT/SIGTERM deliverable
start_slow() { # ms
    fresh_bg "$dir/out" "$dir/err"
    CHARNN_SLOW_SAVE_MS="$1" $DEFSIG $F train "$dir/corpus.txt" $small \
        --checkpoint "$dir/sig.ckpt" --force --iters 100000000 --eval-every 100000 \
        >"$dir/out" 2>"$dir/err" &
    pid=$!
    started "$dir/out" $pid $((5 * SLOW))
}

# a second Ctrl-C during the save does not corrupt it
rm -f "$dir/sig.ckpt"
start_slow 400
kill -INT $pid; sleep 0.5; kill -INT $pid
wait $pid
rc=$?
"$CHARNN" info "$dir/sig.ckpt" >/dev/null 2>&1
loads=$?
[ $rc -eq 130 ] && [ $loads -eq 0 ] && grep -q "^interrupted at iteration" "$dir/out"
check $? "a second Ctrl-C during the save: exit 130, the checkpoint loads (exit $rc)" "$dir/err"

# SIGTERM during a slow save, twice
start_slow 400
kill -TERM $pid; sleep 0.3; kill -TERM $pid
wait $pid
rc=$?
"$CHARNN" info "$dir/sig.ckpt" >/dev/null 2>&1
check $(( rc != 143 || $? != 0 )) "SIGTERM twice during the save: exit 143, the checkpoint loads (exit $rc)"

# SIGKILL in the middle of a save: the checkpoint of the previous save loads
cp "$dir/sig.ckpt" "$dir/before.ckpt"
start_slow 1500
kill -INT $pid; sleep 0.7; kill -KILL $pid
wait $pid 2>/dev/null
cmp -s "$dir/sig.ckpt" "$dir/before.ckpt" && "$CHARNN" info "$dir/sig.ckpt" >/dev/null 2>&1 &&
    $DEFSIG "$CHARNN" train "$dir/corpus.txt" $small --resume "$dir/sig.ckpt" \
        --checkpoint "$dir/sig.ckpt" --iters 100000000 --eval-every 100000 >/dev/null 2>&1 </dev/null &
pid2=$!
sleep 0.5; kill -INT $pid2 2>/dev/null; wait $pid2
rc=$?
check $(( rc != 130 )) "SIGKILL during a save: the previous checkpoint is unchanged, loads, and resumes (exit $rc)"

# a short kill soak; make soak runs the long one
sh tests/soak.sh 10
