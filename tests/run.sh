#!/bin/sh
# Runs each test program or script given and counts its "ok - " and
# "not ok - " lines. A test that exits non-zero without reporting a failure
# (a crash, an abort) counts as one failure. Prints each failure, a line per
# test, and last "N passed, N failed"; exits non-zero if anything failed.
passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$@"; do
    start=$(date +%s)
    case "$t" in
    *.sh) sh "$t" >"$out" 2>&1 ;;
    */*) "$t" >"$out" 2>&1 ;;
    *) "./$t" >"$out" 2>&1 ;;
    esac
    status=$?
    ok=$(grep -c '^ok - ' "$out")
    bad=$(grep -c '^not ok - ' "$out")
    grep '^not ok - ' "$out"
    if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
        echo "not ok - $t exited with status $status; its last lines:"
        tail -n 5 "$out" | sed 's/^/    /'
        bad=1
    fi
    printf '%-36s %4d passed %4d failed  (%ds)\n' "$t" "$ok" "$bad" $(($(date +%s) - start))
    passed=$((passed + ok))
    failed=$((failed + bad))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
