#!/bin/sh
# Runs the training tests (resume, learning, thread invariance, divergence)
# again under every other kernel build this CPU supports (CHARNN_ISA), so
# that each instruction set's cells are trained end to end, not only the
# one the CPU would pick. Lines are relabelled with the kernel set; a build
# that crashes or fails without a report is a failure of its own. ISAS
# (from make test) lists the builds of this architecture.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for isa in ${ISAS:-generic avx2 avx512 neon}; do
    [ "$(CHARNN_ISA=$isa "${CHARNN:-./charnn}" --version 2>/dev/null | sed -n 's/.*kernels: \([a-z0-9]*\).*/\1/p')" = "$isa" ] ||
        { echo "ok - [$isa] not supported by this CPU # skipped"; continue; }
    CHARNN_ISA=$isa "${BUILD:-build}/test_train" >"$out" 2>&1
    rc=$?
    sed "s/^\(not ok\|ok\) - /\1 - [$isa] /" "$out"
    [ $rc -eq 0 ] || grep -q '^not ok - ' "$out" ||
        { echo "not ok - [$isa] test_train exited with status $rc; its last lines:"; tail -n 5 "$out" | sed 's/^/    /'; }
done
