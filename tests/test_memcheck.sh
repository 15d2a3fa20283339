#!/bin/sh
# valgrind memcheck on a short train (2 threads), sample and eval: no
# errors, no leaks. Skipped in the sanitizer build (the two do not mix),
# under emulation (make test CROSS_COMPILE=...) and where valgrind is not
# installed.
if [ "${SANITIZE:-}" = 1 ]; then
    echo "ok - memcheck: not run under the sanitizers # skipped"
    exit 0
fi
if [ -n "${EMU:-}" ]; then
    # valgrind would check the emulator's shell wrapper, never the program
    echo "ok - memcheck: valgrind cannot check a program that $EMU runs # skipped"
    exit 0
fi
if ! command -v valgrind >/dev/null 2>&1; then
    echo "ok - memcheck: valgrind is not installed # skipped"
    exit 0
fi
CHARNN=${CHARNN:-./charnn}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'It was the best of times, it was the worst of times.\n%.0s' $(seq 1 30) > "$dir/corpus.txt"
vg="valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --quiet"

run() { # expected-exit description command...
    want=$1 desc=$2
    shift 2
    $vg "$@" >"$dir/out" 2>"$dir/err"
    rc=$?
    if [ $rc -eq "$want" ]; then
        echo "ok - memcheck: $desc: no errors, no leaks"
    else
        echo "not ok - memcheck: $desc (exit $rc, valgrind reports 99)"
        head -20 "$dir/err" | sed 's/^/    /'
    fi
}

run 0 "train, 2 threads, dropout, with evaluation and a sample" "$CHARNN" train \
    "$dir/corpus.txt" --hidden 16 --layers 2 --batch 3 --seq-length 8 --iters 6 --eval-every 3 \
    --sample-every 3 --sample-length 20 --dropout 0.2 --threads 2 --checkpoint "$dir/m.ckpt"
run 0 "resume" "$CHARNN" train "$dir/corpus.txt" --resume "$dir/m.ckpt" --iters 8 \
    --checkpoint "$dir/m.ckpt" --threads 2
run 0 "sample with a prime and top-k" "$CHARNN" sample "$dir/m.ckpt" --length 50 --prime "It " \
    --top-k 5
run 0 "eval" "$CHARNN" eval "$dir/m.ckpt" "$dir/corpus.txt" --threads 2
head -c 100 "$dir/m.ckpt" > "$dir/bad.ckpt"
run 1 "a truncated checkpoint refused" "$CHARNN" info "$dir/bad.ckpt"
