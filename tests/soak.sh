#!/bin/sh
# Kill soak: trains a small model that checkpoints every iteration, with
# saves slowed down (build/charnn-faults, CHARNN_SLOW_SAVE_MS) so that many
# kills land inside a save, and kills it with SIGKILL at random moments,
# KILLS times (default 60). After every kill the checkpoint must load and
# pass its checksum (charnn info), and the next round resumes from it, so
# every round also proves that --resume continues. Prints one ok/not ok
# line per property and the number of kills survived.
#   usage: sh tests/soak.sh [KILLS]      (run from the repository root)
kills=${1:-60}
CHARNN=${CHARNN:-./charnn}
. "$(dirname "$0")/lib.sh" # SLOW
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
awk 'BEGIN { srand(7); for (i = 0; i < 400; i++) { for (j = 0; j < 60; j++)
     printf "%c", 97 + int(rand() * 6); printf "\n" } }' > "$dir/corpus.txt"
ckpt="$dir/soak.ckpt"
flags="--hidden 24 --layers 2 --batch 4 --seq-length 16 --print-every 1000000 --sample-every 0"
"$CHARNN" train "$dir/corpus.txt" $flags --iters 2 --checkpoint "$ckpt" >/dev/null 2>&1 ||
    { echo "not ok - soak: the first checkpoint could not be made"; exit 0; }
survived=0 bad_load=0 went_back=0 in_save=0 prev=2
i=0
while [ "$i" -lt "$kills" ]; do
    i=$((i + 1))
    r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    slow=$((r % 25))                                  # 0..24 ms per pause, 3 pauses a save
    # 0.05 to 0.45 s (times SLOW: tests/lib.sh)
    nap=$(awk -v r="$r" -v s="$SLOW" 'BEGIN { printf "%.3f", s * (0.05 + (r % 400) / 1000) }')
    CHARNN_SLOW_SAVE_MS=$slow "${BUILD:-build}/charnn-faults" train "$dir/corpus.txt" $flags \
        --resume "$ckpt" --checkpoint "$ckpt" --iters 100000000 --eval-every 1 \
        >/dev/null 2>"$dir/err" &
    pid=$!
    sleep "$nap"
    ls "$ckpt".*.tmp >/dev/null 2>&1 && in_save=$((in_save + 1)) # a save was under way
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    if "$CHARNN" info "$ckpt" >"$dir/info" 2>"$dir/info.err"; then
        it=$(sed -n 's/^trained: *\([0-9,]*\) iterations.*/\1/p' "$dir/info" | tr -d ,)
        [ "${it:-0}" -lt "$prev" ] && went_back=$((went_back + 1))
        prev=${it:-0}
        survived=$((survived + 1))
    else
        bad_load=$((bad_load + 1))
        echo "    kill $i: checkpoint does not load: $(cat "$dir/info.err")"
    fi
done
[ "$bad_load" -eq 0 ] && echo "ok - soak: $survived of $kills SIGKILLs survived, the checkpoint loaded every time ($in_save kills with a save file present; last at iteration $prev)" ||
    echo "not ok - soak: the checkpoint failed to load after $bad_load of $kills kills"
[ "$went_back" -eq 0 ] && echo "ok - soak: every resume continued forward from the last save" ||
    echo "not ok - soak: progress went backwards $went_back times"
[ "$prev" -gt 2 ] && echo "ok - soak: training advanced through the kills (iteration 2 -> $prev)" ||
    echo "not ok - soak: training never advanced past the first checkpoint"
