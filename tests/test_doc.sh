#!/bin/sh
# SPDX-License-Identifier: MIT
# The manual: every topic README.md names (charnn help TOPIC) exists,
# renders for a terminal and is in the man page (charnn help --man, which
# groff reads without a warning where groff is installed); every file of
# src/doc is a topic; every flag table in the topics is the program's own
# (charnn help CMD --markdown); no text stands both in README.md and a
# topic, or twice in the topics (tests/dupes.py). Run from the repository
# root.
CHARNN=${CHARNN:-./charnn}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh" # check, begin, problem, report

"$CHARNN" help > "$T/list" 2>&1
listed=$(sed -n '/^topics/,/^$/s/^  \([a-z0-9-]*\) .*/\1/p' "$T/list")
"$CHARNN" help --man > "$T/man" 2> "$T/err"

# the topics README names
named=$(grep -o 'charnn help [a-z][a-z0-9-]*' README.md | awk '{ print $3 }' | sort -u)
begin
[ -n "$named" ] || problem "README.md names no topic (charnn help TOPIC)"
for t in $named; do
    printf '%s\n' "$listed" | grep -qx "$t" || problem "README names '$t', which charnn help does not list"
    "$CHARNN" help "$t" > "$T/topic" 2>> "$T/err"
    rc=$?
    [ $rc -eq 0 ] || problem "charnn help $t: exit $rc"
    [ "$(wc -l < "$T/topic")" -ge 10 ] || problem "charnn help $t: fewer than 10 lines"
    title=$(head -1 "src/doc/$t.md" 2>/dev/null | sed 's/^# //' | tr '[:lower:]' '[:upper:]')
    grep -qF ".SH \"$title\"" "$T/man" || problem "the man page has no section \"$title\" ($t)"
done
report "every topic README names ($(echo $named | tr ' ' ,)) renders and is in the man page"

# every file of src/doc is a topic, and every topic a file
begin
for f in src/doc/*.md; do
    t=$(basename "$f" .md)
    case $t in guide-*) continue ;; esac # guides are read on the web, not topics
    printf '%s\n' "$listed" | grep -qx "$t" || problem "$f is not a topic (Makefile, TOPICS)"
done
for t in $listed; do
    [ -f "src/doc/$t.md" ] || problem "topic $t has no src/doc/$t.md"
done
report "src/doc's files and charnn help's topics are the same $(printf '%s\n' "$listed" | wc -l | tr -d ' ')"

# the man page, read by groff
if command -v groff >/dev/null 2>&1; then
    groff -k -Tutf8 -man -ww -z "$T/man" > "$T/err" 2>&1 && [ ! -s "$T/err" ]
    check $? "groff reads the man page, topics included, without a warning" "$T/err"
else
    echo "ok - groff reads the man page without a warning # skipped: no groff"
fi

# the flag tables are the program's
begin
n=0
for f in src/doc/*.md; do
    for c in $(sed -n 's/^<!-- flags: \([a-z]*\) .*/\1/p' "$f"); do
        n=$((n + 1))
        awk -v c="$c" '$0 ~ "^<!-- flags: " c " " { on = 1; next } on && /^<!-- end flags/ { exit }
                       on { print }' "$f" > "$T/doc"
        "$CHARNN" help "$c" --markdown > "$T/code" 2>&1 ||
            problem "charnn help $c --markdown failed"
        diff "$T/code" "$T/doc" > "$T/diff" ||
            problem "$f: the flag table of $c is not the program's (charnn help $c --markdown): $(head -3 "$T/diff" | tr '\n' ' ')"
    done
done
[ "$n" -ge 4 ] || problem "only $n flag tables found in src/doc"
report "the topics' $n flag tables are the program's (charnn help CMD --markdown)"

# nothing written twice
if command -v python3 >/dev/null 2>&1; then
    python3 tests/dupes.py > "$T/dupes" 2>&1
    check $? "no text stands twice in README.md and the topics ($(tail -1 "$T/dupes"))" "$T/dupes"
else
    echo "ok - no text stands twice in README.md and the topics # skipped: no python3"
fi
