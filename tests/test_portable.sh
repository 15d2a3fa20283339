#!/bin/sh
# Checkpoints between machines: a checkpoint written by the x86-64 build
# loads in the aarch64 build (run by qemu) and the other way round, and from
# it both give the same info, the same exported weights, the same charnn
# eval loss and the same sample, and a resume by either continues the same
# run. The same run trained by both builds gives the same weights: the
# fused kernels (avx2, avx512, neon) compute each product as one chain of
# fused multiply-adds in the same order, and the generic ones (used on both
# sides when either picks them) as one of multiplies and adds.
# CHARNN is the build under test, PEER_CHARNN the other one (make test sets
# it: under CROSS_COMPILE the native charnn; natively, on x86-64, the
# aarch64 build's wrapper when make CROSS_COMPILE=aarch64-linux-gnu- has
# made one and qemu-aarch64 is there); without it the test is skipped.
CHARNN=${CHARNN:-./charnn}
PEER=${PEER_CHARNN:-}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh" # begin, problem, report

if [ -z "$PEER" ] || [ ! -x "$PEER" ]; then
    echo "ok - checkpoints between x86-64 and aarch64 # skipped: no aarch64 build to compare with (make CROSS_COMPILE=aarch64-linux-gnu- makes one; make test CROSS_COMPILE=aarch64-linux-gnu- runs this)"
    exit 0
fi

kernels() { "$1" --version 2>/dev/null | sed -n 's/.*kernels: \([a-z0-9]*\).*/\1/p'; }
mine=$(kernels "$CHARNN") theirs=$(kernels "$PEER")
if [ "$mine" = generic ] || [ "$theirs" = generic ]; then
    CHARNN_ISA=generic
    export CHARNN_ISA
    mine=generic theirs=generic
fi
# the two builds by name: "the native build (avx2)", "the emulated build (neon)"
if [ -n "${EMU:-}" ]; then
    name_this="the emulated build ($mine)" name_peer="the native build ($theirs)"
else
    name_this="the native build ($mine)" name_peer="the emulated build ($theirs)"
fi
run_as() { # this|peer ARGS...: the build's command, stdout to $T/out, stderr to $T/err
    if [ "$1" = this ]; then bin=$CHARNN; else bin=$PEER; fi
    shift
    "$bin" "$@" >"$T/out" 2>"$T/err"
    rc=$?
}
name_of() { if [ "$1" = this ]; then echo "$name_this"; else echo "$name_peer"; fi; }

head -c 12000 data/input.txt >"$T/c.txt"
train="--model gru --hidden 24 --layers 2 --batch 4 --seq-length 16 --eval-every 10 --quiet"

for w in this peer; do
    begin
    run_as $w train "$T/c.txt" $train --iters 20 --checkpoint "$T/$w.ckpt"
    [ $rc -eq 0 ] || problem "training exited $rc: $(head -c 200 "$T/err")"
    run_as $w export "$T/$w.ckpt"
    cp "$T/out" "$T/$w.trained.json"
    report "$(name_of $w) trains a model and saves it"
done
begin
[ -s "$T/this.trained.json" ] && cmp -s "$T/this.trained.json" "$T/peer.trained.json" ||
    problem "the exported weights differ"
report "the same run trained by $name_this and by $name_peer gives the same weights, bit for bit"

for w in this peer; do
    for r in this peer; do
        [ $r = $w ] && continue
        for what in info export "eval|$T/c.txt" "sample|--length 300 --seed 3 --temperature 0.9"; do
            cmdname=${what%%|*} args=
            [ "$cmdname" != "$what" ] && args=${what#*|}
            begin
            run_as $w $cmdname "$T/$w.ckpt" $args
            cp "$T/out" "$T/want"
            [ $rc -eq 0 ] && [ -s "$T/want" ] || problem "$(name_of $w) itself: exit $rc"
            run_as $r $cmdname "$T/$w.ckpt" $args
            [ $rc -eq 0 ] || problem "exit $rc: $(head -c 200 "$T/err")"
            cmp -s "$T/out" "$T/want" ||
                problem "it prints $(head -c 80 "$T/out" | head -1), the writer $(head -c 80 "$T/want" | head -1)"
            report "$(name_of $r) reads the checkpoint of $(name_of $w): charnn $cmdname prints the same"
        done
        # resumed by the reader, the run goes on as it would with the writer
        begin
        cp "$T/$w.ckpt" "$T/r1.ckpt"
        cp "$T/$w.ckpt" "$T/r2.ckpt"
        run_as $w train "$T/c.txt" --resume "$T/r1.ckpt" --iters 30 --quiet
        [ $rc -eq 0 ] || problem "the writer's resume exited $rc: $(head -c 200 "$T/err")"
        run_as $r train "$T/c.txt" --resume "$T/r2.ckpt" --iters 30 --quiet
        [ $rc -eq 0 ] || problem "the reader's resume exited $rc: $(head -c 200 "$T/err")"
        run_as $w export "$T/r1.ckpt"
        cp "$T/out" "$T/r1.json"
        run_as $w export "$T/r2.ckpt"
        [ -s "$T/r1.json" ] && cmp -s "$T/out" "$T/r1.json" || problem "the weights differ after 10 more iterations"
        report "$(name_of $r) resumes the checkpoint of $(name_of $w): the same weights as the writer's own resume"
    done
done
