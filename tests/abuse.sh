#!/bin/sh
# make abuse: the slow, repeated versions of tests/test_nothing_lost.sh.
#   - concurrent runs into one checkpoint, with readers loading it all the
#     while: one run trains, the others are refused naming its pid, and no
#     reader ever sees a damaged file;
#   - the corpus changed on disk while training, ROUNDS times at random
#     (bytes outside the vocabulary, invalid UTF-8, truncation, growth,
#     the file replaced), once under valgrind: never a crash or an invalid
#     access, and Ctrl-C always saves a checkpoint that loads;
#   - signals (INT, TERM, HUP) at random moments, start-up included, and
#     stdout closed after a random number of lines: the exit code says
#     which, and a checkpoint written by the run always loads;
#   - SIGKILL at random moments: the stale lock never blocks the next run;
#   - file-size limits of random sizes: the save fails with a message, the
#     previous checkpoint is intact and no temporary file is left.
# Prints one ok/not ok line per property.
#   usage: sh tests/abuse.sh [ROUNDS]      (run from the repository root)
rounds=${1:-${ROUNDS:-20}}
CHARNN=${CHARNN:-./charnn}
case $CHARNN in /*) ;; *) CHARNN=$(pwd)/$CHARNN ;; esac
T=$(mktemp -d) || exit 1
trap 'pkill -KILL -f "$T/" 2>/dev/null; rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh" # random_text, $DEFSIG, started, ended
cd "$T" || exit 1
rnd() { od -An -N4 -tu4 /dev/urandom | tr -d ' '; } # a random 32-bit number
random_text 11 > c.txt
S="--model lstm --hidden 32 --layers 1 --batch 4 --seq-length 16 --sample-every 0"
LONG="--iters 100000000 --print-every 1 --eval-every 0"
# write_at FILE OFFSET: standard input written over FILE from byte OFFSET;
# BSD dd (macOS) has no oflag=seek_bytes: blocks of one byte there
if dd if=/dev/null of=/dev/null oflag=seek_bytes 2>/dev/null; then
    write_at() { dd of="$1" bs=4096 seek="$2" oflag=seek_bytes conv=notrunc 2>/dev/null; }
else
    write_at() { dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }
fi
result() { # failures description
    if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi
}

# --- concurrent runs into one checkpoint, readers all the while
bad=0 refused=0 trained=0 reads=0
for round in 1 2 3; do
    rm -f shared.ckpt*
    pids=
    for k in 1 2 3 4 5 6; do
        $DEFSIG "$CHARNN" train c.txt $S --iters 600 --eval-every 1 --print-every 1 --force \
            --checkpoint shared.ckpt >"run$k.out" 2>"run$k.err" </dev/null &
        pids="$pids $!"
    done
    # a reader: every load of the checkpoint succeeds or finds no file yet
    end=$(($(date +%s) + 3))
    while [ "$(date +%s)" -lt "$end" ]; do
        if ! "$CHARNN" info shared.ckpt >/dev/null 2>reader.err; then
            grep -q 'cannot open' reader.err || { bad=$((bad + 1)); echo "    reader: $(cat reader.err)"; }
        fi
        reads=$((reads + 1))
    done
    for p in $pids; do wait "$p"; done
    for k in 1 2 3 4 5 6; do
        if grep -q 'in use by another charnn run (pid [0-9]*)' "run$k.err"; then
            refused=$((refused + 1))
        elif grep -q '^done:' "run$k.out"; then
            trained=$((trained + 1))
        else
            bad=$((bad + 1))
            echo "    run $k: $(head -c 300 "run$k.err")"
        fi
    done
    "$CHARNN" info shared.ckpt >/dev/null 2>&1 || bad=$((bad + 1))
done
result $((bad + (trained != 3))) "concurrent runs: $trained of 18 trained (one per round), $refused refused naming the holder, $reads reads never saw a damaged checkpoint"

# --- the corpus changed on disk while training
bad=0
i=0
while [ $i -lt "$rounds" ]; do
    i=$((i + 1))
    cp c.txt live.txt
    rm -f live.ckpt
    vg=
    [ $i -eq 1 ] && command -v valgrind >/dev/null && [ "${SANITIZE:-}" != 1 ] &&
        vg="valgrind --error-exitcode=99 --quiet"
    fresh_bg run.out run.err
    $DEFSIG $vg "$CHARNN" train live.txt $S $LONG --checkpoint live.ckpt >run.out 2>run.err </dev/null &
    pid=$!
    started run.out $pid 8
    r=$(rnd)
    case $((r % 5)) in
    0) # bytes outside the vocabulary, everywhere
        awk -v n=$((r % 50000 + 1)) 'BEGIN { for (k = 0; k < n; k++) printf "#" }' |
            write_at live.txt $((r % 150000)) ;;
    1) # invalid UTF-8
        printf '\377\376\200' | dd of=live.txt bs=1 seek=$((r % 200000)) conv=notrunc 2>/dev/null ;;
    2) dd if=/dev/null of=live.txt bs=1 seek=$((r % 1000)) 2>/dev/null ;; # truncated there
    3) cat c.txt >> live.txt ;;
    4) rm -f live.txt && echo "new text" > live.txt ;;
    esac
    sleep 0.$((r % 5 + 1))
    kill -INT $pid 2>/dev/null
    ended $pid 10
    if [ "$rc" -ne 130 ] || ! "$CHARNN" info live.ckpt >/dev/null 2>&1; then
        bad=$((bad + 1))
        echo "    round $i (change $((r % 5))$( [ -n "$vg" ] && echo ', valgrind')): exit $rc: $(head -c 300 run.err)"
    fi
done
result $bad "the corpus changed on disk while training, $rounds times (once under valgrind): no crash, Ctrl-C saves"

# --- signals at random moments, and stdout closed after a random number of lines
bad=0
i=0
while [ $i -lt "$rounds" ]; do
    i=$((i + 1))
    r=$(rnd)
    sig=$(echo "INT TERM HUP" | cut -d' ' -f$((r % 3 + 1)))
    case $sig in INT) code=130 ;; TERM) code=143 ;; HUP) code=129 ;; esac
    rm -f sig.ckpt*
    $DEFSIG "$CHARNN" train c.txt $S $LONG --checkpoint sig.ckpt >run.out 2>run.err </dev/null &
    pid=$!
    # from 10 ms on: before that the process may not have reached main()
    sleep "$(awk -v r="$r" 'BEGIN { printf "%.3f", (r % 600 + 10) / 1000 }')"
    kill -$sig $pid 2>/dev/null
    ended $pid 10
    ok=1
    [ "$rc" -eq "$code" ] || ok=0
    [ -e sig.ckpt ] && ! "$CHARNN" info sig.ckpt >/dev/null 2>&1 && ok=0
    [ -s run.out ] || [ -s run.err ] || ok=0 # it said something
    if [ $ok -eq 0 ]; then
        bad=$((bad + 1))
        echo "    SIG$sig after $((r % 600 + 10)) ms: exit $rc (want $code): $(head -c 200 run.err)"
    fi
    lines=$((r % 40 + 1))
    rm -f pipe.ckpt*
    ( "$CHARNN" train c.txt $S $LONG --checkpoint pipe.ckpt 2>pipe.err; echo $? > pipe.rc ) |
        head -n $lines >/dev/null
    prc=$(cat pipe.rc)
    if [ "$prc" -ne 1 ] || ! grep -q 'standard output' pipe.err || ! "$CHARNN" info pipe.ckpt >/dev/null 2>&1; then
        bad=$((bad + 1))
        echo "    stdout closed after $lines lines: exit $prc: $(head -c 200 pipe.err)"
    fi
done
result $bad "signals at random moments and stdout closed after 1 to 40 lines, $rounds times each: the right exit, a checkpoint that loads"

# --- SIGKILL at random moments: the stale lock never blocks
bad=0
rm -f kill.ckpt*
"$CHARNN" train c.txt $S --iters 5 --quiet --checkpoint kill.ckpt >/dev/null 2>&1
i=0
while [ $i -lt "$rounds" ]; do
    i=$((i + 1))
    r=$(rnd)
    "$CHARNN" train c.txt --resume kill.ckpt --iters 100000000 --eval-every 50 --print-every 1 \
        >run.out 2>run.err </dev/null &
    pid=$!
    sleep "$(awk -v r="$r" 'BEGIN { printf "%.3f", (r % 400) / 1000 }')"
    kill -KILL $pid 2>/dev/null
    wait $pid 2>/dev/null
    grep -q 'in use' run.err && { bad=$((bad + 1)); echo "    kill $i: $(cat run.err)"; }
    "$CHARNN" info kill.ckpt >/dev/null 2>&1 || { bad=$((bad + 1)); echo "    kill $i: the checkpoint does not load"; }
done
ls kill.ckpt.*.tmp >/dev/null 2>&1 && echo "    (a killed save's temporary file remains until the next run)"
"$CHARNN" train c.txt --resume kill.ckpt --iters 100000000 --print-every 1 >/dev/null 2>run.err </dev/null &
pid=$!
sleep 0.3
kill -KILL $pid
wait $pid 2>/dev/null
"$CHARNN" train c.txt --resume kill.ckpt --iters 1 --quiet >/dev/null 2>&1
result $bad "SIGKILL at $rounds random moments: each next run took the stale lock, the checkpoint always loaded"

# --- file-size limits
bad=0
rm -f fs.ckpt*
"$CHARNN" train c.txt $S --iters 5 --quiet --checkpoint fs.ckpt >/dev/null 2>&1
cp fs.ckpt fs.keep
size=$(wc -c < fs.ckpt)
i=0
while [ $i -lt 8 ]; do
    i=$((i + 1))
    r=$(rnd)
    blocks=$((r % (size / 512) + 1)) # below the checkpoint's size
    (ulimit -f $blocks; "$CHARNN" train c.txt --resume fs.ckpt --iters 8 --quiet >/dev/null 2>run.err; echo $? > fs.rc)
    if [ "$(cat fs.rc)" -ne 1 ] || ! grep -q 'too large' run.err || ! cmp -s fs.ckpt fs.keep ||
        ls fs.ckpt.*.tmp >/dev/null 2>&1; then
        bad=$((bad + 1))
        echo "    ulimit -f $blocks: exit $(cat fs.rc): $(head -c 200 run.err)"
    fi
done
result $bad "file-size limits below the checkpoint's size, 8 times: exit 1 with a message, the checkpoint intact, no temporary file"
exit 0
