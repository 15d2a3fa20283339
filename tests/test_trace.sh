#!/bin/sh
# charnn trace, end to end: for every cell kind (1 and 2 layers) and for a
# trained checkpoint (--from), the JSON trace is read by a Python script
# (standard library only) that recomputes the forward pass from the printed
# weights (every pre-activation, gate, c_t, h_t, y_t, p_t, the loss) and
# the backward pass from the printed intermediates (dL/dy_t, both parts of
# dL/dh_t, dL/dc_t, every delta, every weight gradient as its sum over the
# steps), each within 1e-9 of the largest value of its quantity; the commands topic's
# numpy snippet, where numpy is installed. The text format shows the
# labels; bad input gets exit 2 (1 for a failed write) and one "charnn: "
# line on stderr. Run from the repository root.
CHARNN=${CHARNN:-./charnn}
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT

. "$(dirname "$0")/lib.sh" # begin, problem, report, check, stderr_has

# run CMD...: stdout to $T/out, stderr to $T/err, exit status in $rc
run() {
    cmd="$*"
    timeout $((30 * SLOW)) "$@" </dev/null >"$T/out" 2>"$T/err"
    rc=$?
}

# expect_fail CODE DESC REGEX CMD...: CMD exits CODE with nothing on stdout
# and one "charnn: " line on stderr matching REGEX
expect_fail() {
    code=$1 desc=$2 pat=$3
    shift 3
    run "$@"
    begin
    [ "$rc" -eq "$code" ] || problem "expected exit $code, got $rc"
    [ -s "$T/out" ] && problem "expected nothing on stdout"
    [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q '^charnn: ' "$T/err" ||
        problem "expected one 'charnn: ' line on stderr"
    stderr_has "$pat"
    report "$desc"
}

cat > "$T/check.py" <<'EOF'
# Recomputes a charnn trace (JSON) from its own numbers; exits 1 on the
# first disagreement, else prints how many values it checked.
import json, math, sys

tr = json.load(open(sys.argv[1]))
cell, H, L, T = tr["model"], tr["hidden"], tr["layers"], tr["steps"]
vocab, xs, ys = tr["vocab"], tr["inputs"], tr["targets"]
V = len(vocab)
gates = {"rnn": "h", "lstm": "ifog", "peephole": "ifog", "gru": "run"}[cell]
lstm, peep = cell in ("lstm", "peephole"), cell == "peephole"
checked = 0

def flat(x):
    return [z for y in x for z in flat(y)] if isinstance(x, list) else [x]

def close(what, got, want):
    global checked
    got, want = flat(got), flat(want)
    if len(got) != len(want):
        sys.exit("%s: %d values printed, %d expected" % (what, len(got), len(want)))
    scale = max([abs(w) for w in want] + [0.0])
    for k, (g, w) in enumerate(zip(got, want)):
        if not abs(g - w) <= 1e-9 * scale + 1e-15:
            sys.exit("%s[%d]: printed %.17g, recomputed %.17g" % (what, k, g, w))
    checked += len(got)

def tensor(t):
    s, d = t["shape"], t["data"]
    return d if len(s) == 1 else [d[r * s[1]:(r + 1) * s[1]] for r in range(s[0])]

W = {k: tensor(t) for k, t in tr["weights"].items()}
def w(l, name):
    return W["l%d.%s" % (l, name)]
def mv(M, v):      # M v
    return [sum(m * x for m, x in zip(row, v)) for row in M]
def mtv(M, u):     # M^T u
    return [sum(M[j][k] * u[j] for j in range(len(M))) for k in range(len(M[0]))]
def add(*vs):
    return [sum(x) for x in zip(*vs)]
def mul(*vs):
    return [math.prod(x) for x in zip(*vs)]
def sig(v):
    return [1 / (1 + math.exp(-x)) for x in v]
def tanh(v):
    return [math.tanh(x) for x in v]
def outer(u, v):
    return [[a * b for b in v] for a in u]
def onehot(k, n):
    return [1.0 if i == k else 0.0 for i in range(n)]
zero = [0.0] * H

if "".join(vocab[k] for k in xs) + vocab[ys[-1]] != tr["text"] or xs[1:] != ys[:-1]:
    sys.exit("inputs and targets are not the text's characters")

# forward, from the weights alone
F, B = tr["forward"], tr["backward"]
h = [[zero] for _ in range(L)]
c = [[zero] for _ in range(L)]
rec = [{k: [] for k in ["a_" + g for g in gates] + list(gates)} for _ in range(L)]
ys_, ps, nll = [], [], []
for t in range(T):
    for l in range(L):
        x = onehot(xs[t], V) if l == 0 else h[l - 1][t + 1]
        hp, cp = h[l][t], (c[l][t] if lstm else None)
        a = {g: add(mv(w(l, "W_x" + g), x), mv(w(l, "W_h" + g), hp), w(l, "b_" + g))
             for g in gates}
        if cell == "rnn":
            z = {"h": tanh(a["h"])}
            hn = z["h"]
        elif lstm:
            if peep:
                a["i"] = add(a["i"], mul(w(l, "p_i"), cp))
                a["f"] = add(a["f"], mul(w(l, "p_f"), cp))
            z = {"i": sig(a["i"]), "f": sig(a["f"]), "g": tanh(a["g"])}
            cn = add(mul(z["f"], cp), mul(z["i"], z["g"]))
            if peep:
                a["o"] = add(a["o"], mul(w(l, "p_o"), cn))
            z["o"] = sig(a["o"])
            hn = mul(z["o"], tanh(cn))
            c[l].append(cn)
        else:
            z = {"r": sig(a["r"]), "u": sig(a["u"])}
            a["n"] = add(mv(w(l, "W_xn"), x), mv(w(l, "W_hn"), mul(z["r"], hp)), w(l, "b_n"))
            z["n"] = tanh(a["n"])
            hn = add(mul(z["u"], z["n"]), [(1 - u) * q for u, q in zip(z["u"], hp)])
        h[l].append(hn)
        for g in gates:
            rec[l]["a_" + g].append(a[g])
            rec[l][g].append(z[g])
    y = add(mv(W["W_hy"], h[L - 1][t + 1]), W["b_y"])
    top = max(y)
    e = [math.exp(v - top) for v in y]
    ys_.append(y)
    ps.append([v / sum(e) for v in e])
    nll.append(top + math.log(sum(e)) - y[ys[t]])
for l in range(L):
    Fl = F["layers"][l]
    for g in gates:
        close("forward l%d a_%s" % (l, g), Fl["a_" + g], rec[l]["a_" + g])
        if cell != "rnn":
            close("forward l%d %s" % (l, g), Fl[g], rec[l][g])
    close("forward l%d h" % l, Fl["h"], h[l])
    if lstm:
        close("forward l%d c" % l, Fl["c"], c[l])
close("forward y", F["y"], ys_)
close("forward p", F["p"], ps)
close("forward nll", F["nll"], nll)
close("loss", tr["loss"], sum(nll) / T)

# backward, each quantity from the printed values it depends on
dy = B["dy"]
close("dL/dy", dy, [[(p - o) / T for p, o in zip(F["p"][t], onehot(ys[t], V))]
                    for t in range(T)])
grads = {"W_hy": [[0.0] * H for _ in range(V)], "b_y": [0.0] * V}
for t in range(T):
    o = outer(dy[t], F["layers"][L - 1]["h"][t + 1])
    grads["W_hy"] = [add(r, q) for r, q in zip(grads["W_hy"], o)]
    grads["b_y"] = add(grads["b_y"], dy[t])
for l in range(L):
    Fl, Bl = F["layers"][l], B["layers"][l]
    hs = Fl["h"]
    z = {g: (Fl[g] if cell != "rnn" else hs[1:]) for g in gates}
    d = {g: Bl["delta_" + g] for g in gates}
    dh = Bl["dh"]
    if l == L - 1:
        out = [mtv(W["W_hy"], dy[t]) for t in range(T)]
    else:
        up = B["layers"][l + 1]
        out = [add(*[mtv(w(l + 1, "W_x" + g), up["delta_" + g][t]) for g in gates])
               for t in range(T)]
    close("l%d dh_out" % l, Bl["dh_out"], out)
    nxt = []
    for t in range(T):
        if t == T - 1:
            nxt.append(zero)
        elif cell == "gru":
            nxt.append(add(mul([1 - u for u in z["u"][t + 1]], dh[t + 1]),
                           mtv(w(l, "W_hr"), d["r"][t + 1]), mtv(w(l, "W_hu"), d["u"][t + 1]),
                           mul(z["r"][t + 1], mtv(w(l, "W_hn"), d["n"][t + 1]))))
        else:
            nxt.append(add(*[mtv(w(l, "W_h" + g), d[g][t + 1]) for g in gates]))
    close("l%d dh_next" % l, Bl["dh_next"], nxt)
    close("l%d dh" % l, dh, [add(a, b) for a, b in zip(Bl["dh_out"], Bl["dh_next"])])
    want = {g: [] for g in gates}
    if lstm:
        cs, dc = Fl["c"], Bl["dc"]
        dc_h, dc_next = [], []
    for t in range(T):
        hp = hs[t]
        if cell == "rnn":
            want["h"].append(mul(dh[t], [1 - v * v for v in hs[t + 1]]))
        elif cell == "gru":
            u, n, r = z["u"][t], z["n"][t], z["r"][t]
            want["n"].append(mul(dh[t], u, [1 - v * v for v in n]))
            want["u"].append(mul(dh[t], [a - b for a, b in zip(n, hp)], u, [1 - v for v in u]))
            want["r"].append(mul(mtv(w(l, "W_hn"), d["n"][t]), hp, r, [1 - v for v in r]))
        else:
            i, f, o, g = z["i"][t], z["f"][t], z["o"][t], z["g"][t]
            tc = tanh(cs[t + 1])
            want["o"].append(mul(dh[t], tc, o, [1 - v for v in o]))
            part = mul(dh[t], o, [1 - v * v for v in tc])
            if peep:
                part = add(part, mul(w(l, "p_o"), d["o"][t]))
            dc_h.append(part)
            if t == T - 1:
                dc_next.append(zero)
            else:
                part = mul(dc[t + 1], z["f"][t + 1])
                if peep:
                    part = add(part, mul(w(l, "p_i"), d["i"][t + 1]),
                               mul(w(l, "p_f"), d["f"][t + 1]))
                dc_next.append(part)
            want["i"].append(mul(dc[t], g, i, [1 - v for v in i]))
            want["f"].append(mul(dc[t], cs[t], f, [1 - v for v in f]))
            want["g"].append(mul(dc[t], i, [1 - v * v for v in g]))
    if lstm:
        close("l%d dc_h" % l, Bl["dc_h"], dc_h)
        close("l%d dc_next" % l, Bl["dc_next"], dc_next)
        close("l%d dc" % l, dc, [add(a, b) for a, b in zip(dc_h, dc_next)])
    for g in gates:
        close("l%d delta_%s" % (l, g), d[g], want[g])
    # the gradients: sums over the steps
    for g in gates:
        dWx, dWh, db = None, None, [0.0] * H
        for t in range(T):
            x = onehot(xs[t], V) if l == 0 else F["layers"][l - 1]["h"][t + 1]
            hin = mul(z["r"][t], hs[t]) if cell == "gru" and g == "n" else hs[t]
            ox, oh = outer(d[g][t], x), outer(d[g][t], hin)
            dWx = ox if dWx is None else [add(a, b) for a, b in zip(dWx, ox)]
            dWh = oh if dWh is None else [add(a, b) for a, b in zip(dWh, oh)]
            db = add(db, d[g][t])
        grads["l%d.W_x%s" % (l, g)], grads["l%d.W_h%s" % (l, g)] = dWx, dWh
        grads["l%d.b_%s" % (l, g)] = db
    if peep:
        grads["l%d.p_i" % l] = add(*[mul(d["i"][t], cs[t]) for t in range(T)])
        grads["l%d.p_f" % l] = add(*[mul(d["f"][t], cs[t]) for t in range(T)])
        grads["l%d.p_o" % l] = add(*[mul(d["o"][t], cs[t + 1]) for t in range(T)])
if sorted(grads) != sorted(tr["gradients"]) or list(tr["gradients"]) != list(tr["weights"]):
    sys.exit("the gradients are not named as the weights: %s" % sorted(tr["gradients"]))
for name, t in tr["gradients"].items():
    if t["shape"] != tr["weights"][name]["shape"]:
        sys.exit("gradient %s has shape %s" % (name, t["shape"]))
    close("gradient " + name, t["data"], grads[name])
print("%d values agree" % checked)
EOF

if ! command -v python3 >/dev/null 2>&1; then
    echo "ok - the JSON traces recompute # skipped: no python3"
else
    for layers in 1 2; do
        for kind in rnn lstm peephole gru; do
            if [ "$layers" -eq 1 ]; then extra=; else extra="--layers 2 --hidden 4 --text abracadabra"; fi
            "$CHARNN" trace --model $kind $extra --format json >"$T/$kind.json" 2>"$T/err" &&
                python3 "$T/check.py" "$T/$kind.json" >"$T/py" 2>>"$T/err"
            check $? "trace --model $kind ${extra:-(defaults)}: the JSON recomputes ($(cat "$T/py"))" "$T/err"
        done
    done

    # a trained checkpoint
    printf 'the rain in spain falls mainly on the plain\n%.0s' $(seq 1 20) > "$T/a.txt"
    "$CHARNN" train "$T/a.txt" --hidden 8 --iters 3 --batch 2 --seq-length 8 --quiet \
        --checkpoint "$T/x.ckpt" >"$T/out" 2>"$T/err" &&
        "$CHARNN" trace --from "$T/x.ckpt" --text "the plain rain" --format json >"$T/ck.json" 2>"$T/err" &&
        python3 "$T/check.py" "$T/ck.json" >"$T/py" 2>>"$T/err" &&
        python3 -c 'import json, sys; t = json.load(open(sys.argv[1]))
assert (t["model"], t["layers"], t["hidden"], t["steps"]) == ("gru", 2, 8, 13), t["model"]' \
            "$T/ck.json" 2>>"$T/err"
    check $? "trace --from a trained checkpoint (gru, 2 layers x 8): the JSON recomputes ($(cat "$T/py"))" "$T/err"
fi

# the commands topic's numpy snippet (src/doc/commands.md), where some python3 has numpy
numpy=
for py in python3 /usr/bin/python3; do
    "$py" -c 'import numpy' 2>/dev/null && { numpy=$py; break; }
done
if [ -z "$numpy" ]; then
    echo "ok - the commands topic's numpy snippet runs # skipped: no numpy"
else
    awk '/^Checking it with numpy/ { on = 1 } on && /^    import json, numpy/ { code = 1 }
         code && !/^    / { exit } code { print substr($0, 5) }' src/doc/commands.md > "$T/snippet.py"
    "$CHARNN" trace --format json > "$T/trace.json" &&
        (cd "$T" && "$numpy" snippet.py) > "$T/py" 2>"$T/err" &&
        awk 'NF == 2 && $1 < 1e-12 && $2 < 1e-12 { ok = 1 } END { exit !ok }' "$T/py"
    check $? "the commands topic's numpy snippet recomputes the loss and dW_hi ($(cat "$T/py"))" "$T/err"
fi

# the text format
run "$CHARNN" trace
begin
[ "$rc" -eq 0 ] || problem "exit $rc"
for label in '^charnn trace: lstm, 1 layer x 3 hidden, vocabulary 4, text "hello", T = 4 steps$' \
    '^forward$' '^backward' '^gradients' '^t = 1: x_1 = one-hot of .h. \(index 1\), target .e. \(index 0\)$' \
    '^  l0\.W_hi \[3 x 3\]$' ' i_1  *= \[' ' c_4  *= \[' ' dL/dh_4 from y_4  *= \[' \
    ' dL/dh_1 from t=2  *= \[' ' dL/dc_2 via h_2  *= \[' ' δf_3  *= \[' '^loss L = '; do
    grep -Eq -e "$label" "$T/out" || problem "no line matches /$label/"
done
report "trace prints every quantity, labelled in the model topic's notation"
run "$CHARNN" trace --model gru --layers 2 --hidden 2 --text "hi!"
begin
[ "$rc" -eq 0 ] || problem "exit $rc"
for label in ' δr_2  *= \[' ' δn_1  *= \[' ' dL/dh_1 from layer 1  *= \[' '^  layer 1$' \
    'W_hn \(r_t ⊙ h_\{t-1\}\)' '^  l1\.W_xn \[2 x 2\]$'; do
    grep -Eq -e "$label" "$T/out" || problem "no line matches /$label/"
done
report "trace of a 2-layer gru: its gates, and dL/dh from the layer above"
"$CHARNN" trace --model rnn --seed 5 >"$T/a" 2>&1 && "$CHARNN" trace --model rnn --seed 5 >"$T/b" 2>&1 &&
    cmp -s "$T/a" "$T/b" && "$CHARNN" trace --model rnn --seed 6 >"$T/b" 2>&1 && ! cmp -s "$T/a" "$T/b"
check $? "the same seed gives the same trace, another seed another"

# bad input
expect_fail 2 "a character outside the checkpoint's vocabulary" "--text: character 'z'" \
    "$CHARNN" trace --from "$T/x.ckpt" --text "zap"
expect_fail 2 "a text of one character" "--text has 1 character; a trace needs at least 2" \
    "$CHARNN" trace --text "a"
expect_fail 2 "an empty text" "--text is empty" "$CHARNN" trace --text ""
expect_fail 2 "--hidden 0" "--hidden" "$CHARNN" trace --hidden 0
expect_fail 2 "--from with --hidden" "--hidden makes a random model, --from traces a checkpoint" \
    "$CHARNN" trace --from "$T/x.ckpt" --hidden 4
expect_fail 2 "an unknown format" "--format" "$CHARNN" trace --format xml
expect_fail 1 "a checkpoint that is missing" "nothing.ckpt" "$CHARNN" trace --from "$T/nothing.ckpt"
if [ -w /dev/full ]; then
    "$CHARNN" trace --format json >/dev/full 2>"$T/err"
    rc=$?
    [ $rc -eq 1 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q '^charnn: cannot write' "$T/err"
    check $? "a failed write to standard output exits 1 with one line (exit $rc)" "$T/err"
else
    echo "ok - a failed write to standard output exits 1 # skipped: no /dev/full"
fi
