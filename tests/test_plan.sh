#!/bin/sh
# SPDX-License-Identifier: MIT
# A time budget alone chooses the width and the dropout (charnn help train,
# "Time budget"): the header says what was chosen and from what speeds, the
# checkpoint records it, any explicit flag overrides its part, and the
# timing counts in the budget. Without a budget the fixed defaults hold.
# Run from the repository root.
CHARNN=${CHARNN:-./charnn}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh" # check
python3 - "$T/c.txt" <<'EOF'
import random, sys
random.seed(3)
words = "to be or not that is the question whether tis nobler in mind suffer".split()
text = "\n".join(" ".join(random.choice(words) for _ in range(12)) for _ in range(3000))
open(sys.argv[1], "w").write(text + "\n")
EOF
SMALL="--batch 4 --seq-length 16 --eval-every 0 --sample-every 0 --layers 1"
# field NAME SETTING: a setting of $T/NAME.ckpt as charnn info lists it;
# "hidden" from its model line
field() {
    if [ "$2" = hidden ]; then
        $CHARNN info "$T/$1.ckpt" 2>/dev/null | sed -n 's/^model: .* x \([0-9]*\) hidden$/\1/p'
    else
        $CHARNN info "$T/$1.ckpt" 2>/dev/null | sed 's/^[a-z ]*: //' | tr ',' '\n' |
            sed -n "s/^ *$2 \([0-9.e+-]*\)$/\1/p"
    fi
}

start=$(date +%s)
$CHARNN train "$T/c.txt" $SMALL --time-budget 4s --checkpoint "$T/p.ckpt" >"$T/p.out" 2>&1
rc=$?
took=$(($(date +%s) - start))
hidden=$(sed -n 's/^  plan: hidden \([0-9]*\), dropout \([0-9.]*\) for .*/\1/p' "$T/p.out")
dropout=$(sed -n 's/^  plan: hidden \([0-9]*\), dropout \([0-9.]*\) for .*/\2/p' "$T/p.out")
[ $rc -eq 0 ] && [ -n "$hidden" ] && grep -q "^charnn: training gru, 1 layer x $hidden hidden" "$T/p.out" &&
    grep -q 'epochs expected (chars/s timed in [0-9.]* s: 384: [0-9,]*' "$T/p.out"
check $? "--time-budget alone: the header names the width and dropout chosen, and the speeds timed" \
    "$T/p.out"
[ "$(field p hidden)" = "$hidden" ] && [ "$(field p dropout)" = "$dropout" ] &&
    awk -v e="$(field p plan-epochs)" 'BEGIN { exit !(e > 0) }'
check $? "the checkpoint records the choice: hidden $hidden, dropout $dropout, plan-epochs $(field p plan-epochs)"
# a sanitizer build or an emulator is many times slower at everything
# around the budgeted loop (start, the model's initialisation, the end)
limit=7
[ "${SANITIZE:-}" = 1 ] && limit=40
[ "$took" -le $((limit * SLOW)) ]
check $? "the timing counts in the budget: a 4 s budget ran $took s in all (at most $((limit * SLOW)))" "$T/p.out"

$CHARNN train "$T/c.txt" $SMALL --time-budget 2s --hidden 24 --dropout 0.15 \
    --checkpoint "$T/f.ckpt" >"$T/f.out" 2>&1
[ $? -eq 0 ] && ! grep -q 'plan:' "$T/f.out" && [ "$(field f hidden)" = 24 ] &&
    [ "$(field f dropout)" = 0.15 ] && [ "$(field f plan-epochs)" = 0 ]
check $? "--hidden and --dropout given: no plan, the flags' values, plan-epochs 0" "$T/f.out"

$CHARNN train "$T/c.txt" $SMALL --time-budget 2s --hidden 24 --checkpoint "$T/h.ckpt" \
    >"$T/h.out" 2>&1
[ $? -eq 0 ] && grep -q '^  plan: hidden 24, dropout [0-9.]* for .*(chars/s timed in [0-9.]* s: 24: ' \
    "$T/h.out" && [ "$(field h hidden)" = 24 ]
check $? "--hidden alone: the width given, the dropout planned for it" "$T/h.out"

$CHARNN train "$T/c.txt" $SMALL --time-budget 2s --epochs 0.05 --checkpoint "$T/e.ckpt" \
    >"$T/e.out" 2>&1
[ $? -eq 0 ] && ! grep -q 'plan:' "$T/e.out" && [ "$(field e hidden)" = 512 ] &&
    [ "$(field e dropout)" = 0.3 ]
check $? "--epochs with the budget: the fixed defaults (512 units, dropout 0.3), no plan" "$T/e.out"

$CHARNN train "$T/c.txt" --resume "$T/f.ckpt" --time-budget 2s --checkpoint "$T/f.ckpt" \
    >"$T/r.out" 2>&1
[ $? -eq 0 ] && ! grep -q 'plan:' "$T/r.out" && [ "$(field f hidden)" = 24 ] &&
    [ "$(field f dropout)" = 0.15 ]
check $? "a resume with a new --time-budget keeps its width and dropout, no plan" "$T/r.out"
