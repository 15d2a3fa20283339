#!/bin/sh
# Runs the training tests (resume, learning, thread invariance, divergence)
# again under every other kernel build this CPU supports (CHARNN_ISA), so
# that each instruction set's cells are trained end to end, not only the
# one the CPU would pick. Lines are relabelled with the kernel set; a build
# that crashes or fails without a report is a failure of its own. ISAS
# (from make test) lists the builds of this architecture. Under emulation
# (EMU, make test CROSS_COMPILE=...) the set the CPU picks is not run
# again: test_train has just run with it, and there it takes minutes.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
kernels() { CHARNN_ISA=$1 "${CHARNN:-./charnn}" --version 2>/dev/null | sed -n 's/.*kernels: \([a-z0-9]*\).*/\1/p'; }
for isa in ${ISAS:-generic avx2 avx512 neon}; do
    [ "$(kernels $isa)" = "$isa" ] ||
        { echo "ok - [$isa] not supported by this CPU # skipped"; continue; }
    [ -n "${EMU:-}" ] && [ "$(kernels)" = "$isa" ] &&
        { echo "ok - [$isa] the CPU's own choice, which test_train ran # skipped under $EMU (the same run again)"; continue; }
    CHARNN_ISA=$isa "${BUILD:-build}/test_train" >"$out" 2>&1
    rc=$?
    sed -E "s/^(not ok|ok) - /\1 - [$isa] /" "$out"
    [ $rc -eq 0 ] || grep -q '^not ok - ' "$out" ||
        { echo "not ok - [$isa] test_train exited with status $rc; its last lines:"; tail -n 5 "$out" | sed 's/^/    /'; }
done
