#!/bin/sh
# Runs the training tests (resume, learning, thread invariance, divergence)
# again under every other kernel build this CPU supports (CHARNN_ISA), so
# that each instruction set's cells are trained end to end, not only the
# one the CPU would pick. Lines are relabelled with the kernel set.
for isa in generic avx2 avx512; do
    [ "$(CHARNN_ISA=$isa "${CHARNN:-./charnn}" --version 2>/dev/null | sed -n 's/.*kernels: \([a-z0-9]*\).*/\1/p')" = "$isa" ] ||
        { echo "ok - [$isa] not supported by this CPU # skipped"; continue; }
    CHARNN_ISA=$isa "${BUILD:-build}/test_train" | sed "s/^\(not ok\|ok\) - /\1 - [$isa] /"
done
