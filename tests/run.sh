#!/bin/sh
# Runs each test program or script given and counts its lines: "ok - "
# passed, "not ok - " failed, "ok - ... # skipped" skipped (a test that
# cannot run here says so, and why), failures printed with their indented
# details. A test that exits non-zero without
# reporting a failure (a crash, an abort) counts as one failure, and so do
# one that exits 0 having reported nothing (it checked nothing) and one
# still running after TEST_TIMEOUT seconds (default 600). Prints each
# failure, a line per test, and last "N passed, N failed" (", N skipped"
# when some were); exits non-zero if anything failed. RUN, when set, runs
# the programs (wine for Windows' .exe files). Where there is no timeout
# command (macOS), tests/lib.sh's stands in for it.
. "$(dirname "$0")/lib.sh"
passed=0
failed=0
skipped=0
limit=${TEST_TIMEOUT:-600}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$@"; do
    start=$(date +%s)
    case "$t" in
    *.sh) timeout "$limit" sh "$t" >"$out" 2>&1 ;;
    */*) timeout "$limit" ${RUN:-} "$t" >"$out" 2>&1 ;;
    *) timeout "$limit" "./$t" >"$out" 2>&1 ;;
    esac
    status=$?
    skip=$(grep -c '^ok - .*# skipped' "$out")
    ok=$(($(grep -c '^ok - ' "$out") - skip))
    bad=$(grep -c '^not ok - ' "$out")
    # each failure with the indented detail lines that follow it
    awk '/^not ok - / { on = 1; print; next } on && /^    / { print; next } { on = 0 }' "$out"
    if [ "$status" -eq 0 ] && [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$skip" -eq 0 ]; then
        echo "not ok - $t reported no checks (it must report at least one, or skip); its last lines:"
        tail -n 5 "$out" | sed 's/^/    /'
        bad=1
    elif [ "$status" -eq 124 ]; then
        echo "not ok - $t did not finish in $limit s; its last lines:"
        tail -n 5 "$out" | sed 's/^/    /'
        bad=$((bad + 1))
    elif [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
        echo "not ok - $t exited with status $status; its last lines:"
        tail -n 5 "$out" | sed 's/^/    /'
        bad=1
    fi
    printf '%-44s %4d passed %4d failed%s  (%ds)\n' "$t" "$ok" "$bad" \
        "$( [ "$skip" -gt 0 ] && printf ' %4d skipped' "$skip")" $(($(date +%s) - start))
    passed=$((passed + ok))
    failed=$((failed + bad))
    skipped=$((skipped + skip))
done
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
