#!/bin/sh
# Data-parallel training under MPI (make MPI=1 test-mpi): $CHARNN is the MPI
# build, $CHARNN_SOLO the plain one. Two ranks with a global batch of B
# follow the trajectory of one process with batch B: the gradient is the
# same sum, taken in a different order, so losses agree to float rounding
# (bound: 1e-4 relative over 20 iterations, with dropout and randomized
# truncation, whose random numbers are keyed by each stream's global index). Checkpoints of
# a 2-rank run resume on 1 process and on 3 ranks; a rank that dies stops
# the run within seconds and leaves the last checkpoint loadable; where
# hard links fail the best checkpoint is kept as a copy.
CHARNN=${CHARNN:-build/mpi/charnn}
SOLO=${CHARNN_SOLO:-./charnn}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
if ! command -v mpirun >/dev/null 2>&1; then
    echo "not ok - mpirun is not installed: apt-get install openmpi-bin libopenmpi-dev"
    exit 0
fi
printf 'the quick brown fox jumps over the lazy dog\n%.0s' $(seq 1 150) > "$dir/fox.txt"
flags="--hidden 24 --layers 2 --batch 6 --seq-length 12 --print-every 1 --sample-every 0 --eval-every 10 --dropout 0.2 --bptt-random 0.8 --threads 1"
mpi() { mpirun --oversubscribe -np "$@"; }
. "$(dirname "$0")/lib.sh" # check, log_rows, ended

"$CHARNN" --version | grep -q "MPI (Open MPI"
check $? "the MPI build says so in --version"

# keeping the best checkpoint where hard links fail: rank 0 copies the file
# it saved (the MPI fault-injection build makes every link fail)
FAULTS=${CHARNN_FAULTS:-build/mpi/charnn-faults}
CHARNN_FAULT=link:1+ mpi 2 "$FAULTS" train "$dir/fox.txt" $flags --iters 10 \
    --checkpoint "$dir/lk.ckpt" >"$dir/outlk" 2>&1
rc=$?
[ $rc -eq 0 ] && cmp -s "$dir/lk.ckpt" "$dir/lk.best.ckpt" && ! grep -q "best checkpoint stays" "$dir/outlk"
check $? "2 ranks with hard links failing keep the best checkpoint as a copy (exit $rc)" "$dir/outlk"

mpi 2 "$CHARNN" train "$dir/fox.txt" $flags --iters 20 --log "$dir/two.csv" --checkpoint "$dir/two.ckpt" >"$dir/out2" 2>&1
rc=$?
"$SOLO" train "$dir/fox.txt" $flags --iters 20 --log "$dir/one.csv" --checkpoint "$dir/one.ckpt" >"$dir/out1" 2>&1
[ $rc -eq 0 ] && [ $? -eq 0 ] && grep -q "^2 ranks: summing the gradient" "$dir/out2"
check $? "2 ranks and 1 process both train 20 iterations" "$dir/out2"
# the logs' rows side by side
log_rows "$dir/one.csv" > "$dir/one.rows"
log_rows "$dir/two.csv" > "$dir/two.rows"
paste -d, "$dir/one.rows" "$dir/two.rows" > "$dir/both"
awk -F, '{ d = $4 - $15; d = d < 0 ? -d : d; r = d / $4; if (r > w) w = r; n++ }
         END { printf "%d rows, largest relative difference %.2e\n", n, w; exit !(n == 20 && w < 1e-4) }' \
    "$dir/both" > "$dir/diff"
check $? "the 2-rank losses follow the 1-process run: $(cat "$dir/diff") (bound 1e-4)" "$dir/both"
"$SOLO" export "$dir/one.ckpt" | tr ',' '\n' | grep -E '^ *-?[0-9]' > "$dir/p1"
"$SOLO" export "$dir/two.ckpt" | tr ',' '\n' | grep -E '^ *-?[0-9]' > "$dir/p2"
paste "$dir/p1" "$dir/p2" | awk '{ d = $1 - $2; d = d < 0 ? -d : d; if (d > w) w = d; n++ }
    END { printf "%d values, largest difference %.2e", n, w; exit !(n > 1000 && w < 1e-4) }' > "$dir/pd"
check $? "and end with the same parameters: $(cat "$dir/pd") (bound 1e-4)"

# the gradient's sums started during the backward pass (the default) give
# the same numbers as sums taken after it (CHARNN_MPI_OVERLAP=0)
CHARNN_MPI_OVERLAP=0 mpi 2 "$CHARNN" train "$dir/fox.txt" $flags --iters 20 \
    --checkpoint "$dir/after.ckpt" >"$dir/outa" 2>&1
rc=$?
grep "summing the gradient" "$dir/out2" > "$dir/sums"
[ $rc -eq 0 ] && [ "$("$SOLO" export "$dir/after.ckpt" | cksum)" = "$("$SOLO" export "$dir/two.ckpt" | cksum)" ] &&
    grep -q "0.00 ms starting" "$dir/outa" && [ -s "$dir/sums" ]
check $? "sums started during the backward pass equal sums after it, bit for bit" "$dir/outa"

# rank 0's environment decides for all: a rank told otherwise (MPMD, its own
# CHARNN_MPI_OVERLAP=0) still takes part in the same sums, no hang
timeout $((120 * SLOW)) mpirun --oversubscribe -np 1 "$CHARNN" train "$dir/fox.txt" $flags --iters 20 \
    --checkpoint "$dir/mixed.ckpt" : -np 1 env CHARNN_MPI_OVERLAP=0 "$CHARNN" train \
    "$dir/fox.txt" $flags --iters 20 --checkpoint "$dir/mixed.ckpt" >"$dir/outm" 2>&1
rc=$?
[ $rc -eq 0 ] && [ "$("$SOLO" export "$dir/mixed.ckpt" | cksum)" = "$("$SOLO" export "$dir/two.ckpt" | cksum)" ]
check $? "ranks whose CHARNN_MPI_OVERLAP differ follow rank 0 (exit $rc), the same weights" "$dir/outm"

# a checkpoint of 2 ranks resumes on 1 process and on 3 ranks, alike
cp "$dir/two.ckpt" "$dir/r1.ckpt"
cp "$dir/two.ckpt" "$dir/r3.ckpt"
"$SOLO" train "$dir/fox.txt" $flags --resume "$dir/r1.ckpt" --checkpoint "$dir/r1.ckpt" --iters 30 \
    --log "$dir/r1.csv" >"$dir/out" 2>&1
a=$?
mpi 3 "$CHARNN" train "$dir/fox.txt" $flags --resume "$dir/r3.ckpt" --checkpoint "$dir/r3.ckpt" --iters 30 \
    --log "$dir/r3.csv" >"$dir/out" 2>&1
b=$?
log_rows "$dir/r1.csv" > "$dir/r1.rows"
log_rows "$dir/r3.csv" > "$dir/r3.rows"
paste -d, "$dir/r1.rows" "$dir/r3.rows" |
    awk -F, '{ d = $4 - $15; d = d < 0 ? -d : d; if (d / $4 > w) w = d / $4; n++ }
             END { printf "%d rows, largest relative difference %.2e", n, w; exit !(n == 10 && w < 1e-4) }' > "$dir/diff"
alike=$?
[ $a -eq 0 ] && [ $b -eq 0 ]
check $? "a 2-rank checkpoint resumes on 1 process and on 3 ranks" "$dir/out"
[ $a -eq 0 ] && [ $b -eq 0 ] && [ $alike -eq 0 ]
check $? "and both continue alike: $(cat "$dir/diff") (bound 1e-4)"

mpi 3 "$CHARNN" train "$dir/fox.txt" $flags --batch 2 --iters 5 --checkpoint "$dir/b2.ckpt" >"$dir/out" 2>&1
rc=$?
[ $rc -eq 2 ] && [ "$(grep -c "cannot be shared by 3 ranks: run at most 2 ranks, or give a larger --batch" "$dir/out")" -eq 1 ]
check $? "a batch smaller than the ranks is refused once, with the fix (exit $rc)" "$dir/out"

# a schedule that follows the time budget follows rank 0's clock on every
# rank: their parameters stay equal (every save compares them)
mpi 2 "$CHARNN" train "$dir/fox.txt" $flags --time-budget 3s --lr-schedule cosine --warmup 5 \
    --eval-every 25 --checkpoint "$dir/budget.ckpt" >"$dir/out" 2>&1
[ $? -eq 0 ] && ! grep -q "parameters differ" "$dir/out" && "$SOLO" info "$dir/budget.ckpt" >/dev/null
check $? "a 2-rank run on a time budget with a cosine schedule: the ranks' parameters stay equal" "$dir/out"

# Ctrl-C on mpirun: it forwards SIGINT, the ranks stop at the same
# iteration, rank 0 saves, and the checkpoint resumes
# (sh starts background jobs with SIGINT ignored: $DEFSIG restores it)
$DEFSIG mpirun --oversubscribe -np 2 "$CHARNN" train "$dir/fox.txt" $flags --iters 100000000 --eval-every 0 --print-every 1000 \
    --checkpoint "$dir/int.ckpt" >"$dir/out" 2>&1 &
job=$!
sleep 3
kill -INT $job
ended $job 30
grep -q "^interrupted at iteration [0-9,]*: saved $dir/int.ckpt" "$dir/out" &&
    "$SOLO" train "$dir/fox.txt" $flags --resume "$dir/int.ckpt" --iters 1 >"$dir/out2" 2>&1
[ $? -eq 0 ] && grep -q "has already trained" "$dir/out2"
check $? "Ctrl-C on mpirun: the ranks stop together, rank 0 saves, the checkpoint resumes" "$dir/out"

# a rank that dies: the run stops within seconds, the checkpoint stays loadable
mpi 2 "$CHARNN" train "$dir/fox.txt" $flags --iters 100000000 --eval-every 20 --print-every 1000 \
    --checkpoint "$dir/kill.ckpt" >"$dir/out" 2>&1 &
job=$!
n=0
while [ ! -s "$dir/kill.ckpt" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
victim=$(pgrep -f "charnn train $dir/fox.txt" | tail -1)
kill -KILL "$victim"
start=$(date +%s)
ended $job 30 && alive=no || alive=yes # its exit status in $rc
took=$(($(date +%s) - start))
[ "$alive" = no ] && [ $rc -ne 0 ] && "$SOLO" info "$dir/kill.ckpt" >/dev/null 2>&1
check $? "a killed rank stops the run in ${took}s (exit $rc) and the checkpoint still loads" "$dir/out"
