#!/bin/sh
# make bench: charnn bench on the speed table's configurations, on 1 and 2
# threads (BENCH_THREADS), each beside PyTorch's time for the same task
# (tests/bench/torch_charrnn.py, the fastest split of the threads between
# OpenMP and OpenBLAS) when a python3 here has torch (Debian's python3-torch and
# libopenblas0-pthread); then the rows of the speed table (src/doc/speed.md), with
# this machine's CPU and today's date. Run it on an otherwise idle machine.
CHARNN=${CHARNN:-./charnn}
THREADS=${BENCH_THREADS:-1 2}
HERE=$(dirname "$0")
PY=
for p in ${PYTHON:-} /usr/bin/python3 python3; do
    if "$p" -c 'import torch' 2>/dev/null; then PY=$p; break; fi
done
cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo 2>/dev/null | head -1)
[ -n "$cpu" ] || cpu=$(sysctl -n machdep.cpu.brand_string 2>/dev/null)
[ -n "$cpu" ] || cpu=$(uname -m)
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null)
day=$(date -u +%Y-%m-%d)
torch_version=$([ -n "$PY" ] && "$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)

# name | charnn bench's flags | torch_charrnn.py's flags (the same task)
configs='a) LSTM 2 x 128, B 50, T 50|--model lstm --hidden 128 --layers 2 --batch 50 --seq-length 50 --iters 40|--model lstm --hidden 128 --layers 2 --batch 50 --seq 50 --iters 45 --warmup 5
b) LSTM 2 x 512, B 32, T 64|--model lstm --hidden 512 --layers 2 --batch 32 --seq-length 64 --iters 6|--model lstm --hidden 512 --layers 2 --batch 32 --seq 64 --iters 23 --warmup 3
c) GRU 1 x 512, B 32, T 64|--model gru --hidden 512 --layers 1 --batch 32 --seq-length 64 --iters 15|--model gru --hidden 512 --layers 1 --batch 32 --seq 64 --iters 33 --warmup 3
d) RNN 1 x 100, B 1, T 25|--model rnn --hidden 100 --layers 1 --batch 1 --seq-length 25 --iters 20000 --warmup 200|--model rnn --hidden 100 --layers 1 --batch 1 --seq 25 --iters 3200 --warmup 200
the default model, GRU 2 x 512, B 32, T 64|--iters 10|--model gru --hidden 512 --layers 2 --batch 32 --seq 64 --iters 23 --warmup 3'

rows=$(mktemp) || exit 1
trap 'rm -f "$rows"' EXIT
chars() { sed -n 's/.* \([0-9][0-9,]*\) chars\/s.*/\1/p' | head -1; }
# shellcheck disable=SC2086
THREADS=$(printf '%s\n' $THREADS) # one a line: the loops split at newlines
IFS='
'
for t in $THREADS; do
    for c in $configs; do
        name=${c%%|*} rest=${c#*|}
        ours=${rest%%|*} theirs=${rest#*|}
        IFS=' '
        # shellcheck disable=SC2086
        out=$("$CHARNN" bench $ours --sample 0 --threads "$t") || exit 1
        printf '%s\n' "$out"
        mine=$(printf '%s\n' "$out" | grep '^training:' | chars)
        ref=
        # PyTorch on t threads: OpenMP's and OpenBLAS's threads t and t, t and
        # 1, or 1 and t (two pools of t threads on t cores can slow each
        # other down): the fastest
        for split in $( (echo "$t/$t"; echo "$t/1"; echo "1/$t") | uniq | tr '\n' ' '); do
            [ -n "$PY" ] || break
            # shellcheck disable=SC2086
            tout=$("$PY" "$HERE/torch_charrnn.py" --data "${DATA:-data/input.txt}" $theirs \
                   --threads "${split%/*}" --blas-threads "${split#*/}" --no-final-eval) &&
                printf '%s\n' "$tout"
            r=$(printf '%s\n' "$tout" | grep '^trained' | chars)
            if [ -n "$r" ] && [ "$(echo "$r" | tr -d ,)" -gt "$(echo "${ref:-0}" | tr -d ,)" ]; then
                ref=$r
            fi
        done
        ratio=$(echo "$mine $ref" | tr -d , | awk 'NF == 2 && $2 > 0 { printf "%.1fx", $1 / $2 }')
        printf '| %s, %s cores | %s | %s | %s | %s | %s | %s |\n' "$cpu" "$cores" "$day" "$name" "$t" \
            "${ref:-(no torch)}" "$mine" "${ratio:-}" >> "$rows"
        IFS='
'
    done
done
echo
echo "speed table rows (src/doc/speed.md; PyTorch ${torch_version:-not installed}, chars/s):"
echo "| CPU | date | configuration | threads | PyTorch ${torch_version%%a*} | charnn | charnn / PyTorch |"
echo "|---|---|---|---|---|---|---|"
cat "$rows"
