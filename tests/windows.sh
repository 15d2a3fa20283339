#!/bin/sh
# charnn.exe (the MinGW-w64 build) under wine, against the native charnn:
# make test CROSS_COMPILE=x86_64-w64-mingw32- runs it after the C tests.
# Checks what differs on Windows (src/os/windows.c): checkpoints written by
# either load on the other, files read and written as bytes (no CRLF
# conversion), UTF-8 arguments and file names, the save replacing a
# checkpoint, the lock and the pid in it, Ctrl-C saving; the C file export
# writes, built by MinGW-w64, printing charnn.exe's sample.
# EXE is charnn.exe, CHARNN the native binary.
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh
export WINEDEBUG=-all
win() { wine "$EXE" "$@"; }
cd "$T" || exit 1
EXE=$(cd "$OLDPWD" && realpath "$EXE")
CHARNN=$(cd "$OLDPWD" && realpath "$CHARNN")
# a corpus with CRLF line ends: read as bytes, '\r' is a character
awk 'NR <= 1500 { printf "%s\r\n", $0 }' "$OLDPWD/data/input.txt" > crlf.txt

begin
cmd="charnn.exe --version"
win --version > out 2> err; rc=$?
native=$("$CHARNN" --version | sed -n 's/.*kernels: \([a-z0-9]*\).*/\1/p')
[ $rc -eq 0 ] || problem "exit $rc"
grep -q "kernels: $native" out || problem "charnn.exe picks $(cat out), the native build $native"
report "charnn.exe picks the kernels the CPU supports at run time ($native), as the native build does"

begin
cmd="charnn.exe train crlf.txt --iters 20 --checkpoint w.ckpt"
win train crlf.txt --hidden 32 --iters 20 --seq-length 32 --batch 8 --seed 5 --checkpoint w.ckpt \
    > out 2> err; rc=$?
[ $rc -eq 0 ] || problem "exit $rc"
"$CHARNN" info w.ckpt > info 2> err || problem "the native charnn cannot read w.ckpt"
grep -q "vocabulary: *[0-9]* characters" info || problem "no vocabulary in info: $(cat info)"
"$CHARNN" train crlf.txt --hidden 32 --iters 20 --seq-length 32 --batch 8 --seed 5 \
    --checkpoint n.ckpt > /dev/null 2>&1 || problem "the native run failed"
[ "$(grep vocabulary info)" = "$("$CHARNN" info n.ckpt | grep vocabulary)" ] ||
    problem "vocabularies differ: charnn.exe read the corpus another way than the native build"
report "a checkpoint written by charnn.exe loads on Linux, with the corpus read as bytes (CRLF kept)"

begin
cmd="eval and sample of both checkpoints on both systems"
for m in w.ckpt n.ckpt; do
    a=$(win eval "$m" crlf.txt 2> err) || problem "charnn.exe eval $m failed"
    b=$("$CHARNN" eval "$m" crlf.txt 2> err) || problem "charnn eval $m failed"
    [ "$a" = "$b" ] || problem "eval of $m: charnn.exe '$a', charnn '$b'"
    win sample "$m" --length 300 --seed 9 > "$m.exe.txt" 2> err || problem "charnn.exe sample failed"
    "$CHARNN" sample "$m" --length 300 --seed 9 > "$m.native.txt" 2> err
    cmp -s "$m.exe.txt" "$m.native.txt" || problem "samples of $m differ between the systems"
done
report "each system's checkpoint gives the same eval loss and byte-identical samples on the other"

begin
cmd="charnn.exe train --resume w.ckpt, saving over it"
before=$(cksum < w.ckpt)
win train crlf.txt --resume w.ckpt --iters 30 > out 2> err; rc=$?
[ $rc -eq 0 ] || problem "exit $rc"
[ "$(cksum < w.ckpt)" != "$before" ] || problem "w.ckpt was not replaced"
"$CHARNN" info w.ckpt | grep -q 'trained: *30 iterations' || problem "w.ckpt is not at iteration 30"
ls ./*.tmp ./*.lock 2> /dev/null | grep -q . && problem "left behind: $(ls ./*.tmp ./*.lock)"
report "a save replaces the checkpoint (MoveFileEx) and leaves no temporary or lock file"

begin
name="корпус é.txt"
cp crlf.txt "$name"
cmd="charnn.exe train '$name' --checkpoint 'модель ✓.ckpt'"
win train "$name" --hidden 16 --iters 3 --seq-length 16 --batch 4 --checkpoint "модель ✓.ckpt" \
    > out 2> err; rc=$?
[ $rc -eq 0 ] || problem "exit $rc"
[ -f "модель ✓.ckpt" ] || problem "no file named 'модель ✓.ckpt': $(ls)"
grep -q 'sample from it with: .*charnn.exe sample "модель ✓.best.ckpt"$' out ||
    problem "the summary does not name the file in UTF-8, quoted for Windows: $(tail -n 1 out)"
report "UTF-8 file names and arguments (the manifest's code page)"

begin
cmd="two charnn.exe runs into one checkpoint, then Ctrl-C (SIGINT to wine) on the first"
fresh_bg first
$DEFSIG wine "$EXE" train crlf.txt --hidden 64 --time-budget 60s --checkpoint held.ckpt \
    > first 2>&1 &
pid=$!
started first $pid 60 || problem "the first run did not start: $(tail -n 3 first)"
win train crlf.txt --hidden 64 --iters 5 --checkpoint held.ckpt > out 2> err; rc=$?
[ $rc -eq 1 ] || problem "the second run exited $rc, not 1"
grep -Eq 'in use by another charnn run \(pid [0-9]+\)' err || problem "stderr: $(cat err)"
kill -INT $pid
ended $pid 30 || problem "the first run did not end on SIGINT"
[ "$rc" -eq 130 ] || problem "the interrupted run exited $rc, not 130"
grep -q 'interrupted at iteration [0-9]*: saved held.ckpt' first || problem "$(tail -n 3 first)"
# the resume hint in Windows' quoting: the path of charnn.exe as it is
grep -q "resume with: [A-Z]:[^'\"]*charnn.exe train crlf.txt --resume held.ckpt\$" first ||
    problem "the resume hint is not a Windows command: $(grep 'resume with' first)"
"$CHARNN" info held.ckpt > /dev/null 2>&1 || problem "held.ckpt does not load"
report "a held checkpoint is refused naming the holder's pid (LockFileEx); Ctrl-C saves, exit 130, and says how to resume in Windows' quoting"

# The model as C (charnn help export, "The model as C"): exported by charnn.exe, built
# by MinGW-w64, whose own fmaf does not round once (the file computes it
# from double there), run under wine: the text of charnn.exe and of the
# native charnn, '\r' of the CRLF corpus and '\n' written as bytes.
begin
cmd="charnn.exe export n.ckpt --format c -o m.c; x86_64-w64-mingw32-gcc -DCHARNN_MAIN m.c; gen.exe --seed 7"
if command -v x86_64-w64-mingw32-gcc > /dev/null 2>&1; then
    win export n.ckpt --format c -o m.c > out 2> err || problem "charnn.exe export --format c failed"
    x86_64-w64-mingw32-gcc -std=c99 -Wall -Wextra -pedantic -O2 -DCHARNN_MAIN m.c -o gen.exe \
        > cc 2>&1 || problem "the build failed: $(head -c 300 cc)"
    [ -s cc ] && problem "MinGW-w64 warns: $(head -c 300 cc)"
    wine ./gen.exe --seed 7 --length 2000 > gen.txt 2> err || problem "gen.exe failed"
    win sample n.ckpt --seed 7 --length 2000 > exe.txt 2> err
    "$CHARNN" sample n.ckpt --seed 7 --length 2000 > native.txt 2> err
    [ -s gen.txt ] && cmp -s gen.txt exe.txt || problem "gen.exe's text is not charnn.exe's"
    cmp -s gen.txt native.txt || problem "gen.exe's text is not the native charnn's"
    report "the C file charnn.exe exports, built by MinGW-w64, prints what charnn.exe and the native charnn sample"
else
    echo "ok - the C file built by MinGW-w64 prints charnn.exe's sample # skipped: no x86_64-w64-mingw32-gcc here"
fi
