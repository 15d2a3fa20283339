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
# first disagreement, else prints how many values it checked. The loss may
# be the mean or the sum, the rnn linear, the biases absent; each term of
# a single step's J_t ("terms") is recomputed like the whole backward pass,
# from its own numbers, and with every step's terms, their gradients add
# up to the loss's.
import json, math, sys

tr = json.load(open(sys.argv[1]))
cell, H, L, T = tr["model"], tr["hidden"], tr["layers"], tr["steps"]
vocab, xs, ys = tr["vocab"], tr["inputs"], tr["targets"]
V = len(vocab)
gates = {"rnn": "h", "lstm": "ifog", "peephole": "ifog", "gru": "run"}[cell]
lstm, peep = cell in ("lstm", "peephole"), cell == "peephole"
mean, linear, biases = tr["loss_form"] == "mean", tr["activation"] == "linear", tr["biases"]
if tr["version"] != 2 or tr["loss_form"] not in ("mean", "sum") or \
        tr["activation"] not in ("tanh", "linear") or biases not in (True, False):
    sys.exit("version, loss_form, activation or biases: %r" % [tr.get(k) for k in
             ("version", "loss_form", "activation", "biases")])
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
    if name.startswith("b_") and not biases:
        return [0.0] * H
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
if vocab != sorted(vocab):
    sys.exit("the vocabulary is not in the order of code points")

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
            z = {"h": a["h"] if linear else tanh(a["h"])}
            hn = z["h"]
        elif lstm:
            if peep:
                a["i"] = add(a["i"], mul(w(l, "w_ci"), cp))
                a["f"] = add(a["f"], mul(w(l, "w_cf"), cp))
            z = {"i": sig(a["i"]), "f": sig(a["f"]), "g": tanh(a["g"])}
            cn = add(mul(z["f"], cp), mul(z["i"], z["g"]))
            if peep:
                a["o"] = add(a["o"], mul(w(l, "w_co"), cn))
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
    y = mv(W["W_hy"], h[L - 1][t + 1])
    if biases:
        y = add(y, W["b_y"])
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
close("loss", tr["loss"], sum(nll) / T if mean else sum(nll))

def backward(what, Bk, dy, S):
    """Checks the backward arrays Bk (layers, rows for steps 1..S) of a loss
    whose dJ/dy rows are dy, each quantity from the printed values it
    depends on; returns the gradients, sums over the S steps."""
    grads = {"W_hy": [[0.0] * H for _ in range(V)], "b_y": [0.0] * V}
    for t in range(S):
        o = outer(dy[t], F["layers"][L - 1]["h"][t + 1])
        grads["W_hy"] = [add(r, q) for r, q in zip(grads["W_hy"], o)]
        grads["b_y"] = add(grads["b_y"], dy[t])
    for l in range(L):
        Fl, Bl = F["layers"][l], Bk["layers"][l]
        hs = Fl["h"]
        z = {g: (Fl[g] if cell != "rnn" else hs[1:]) for g in gates}
        d = {g: Bl["delta_" + g] for g in gates}
        dh = Bl["dh"]
        if l == L - 1:
            out = [mtv(W["W_hy"], dy[t]) for t in range(S)]
        else:
            up = Bk["layers"][l + 1]
            out = [add(*[mtv(w(l + 1, "W_x" + g), up["delta_" + g][t]) for g in gates])
                   for t in range(S)]
        close("%s l%d dh_out" % (what, l), Bl["dh_out"], out)
        nxt = []
        for t in range(S):
            if t == S - 1:
                nxt.append(zero)
            elif cell == "gru":
                nxt.append(add(mul([1 - u for u in z["u"][t + 1]], dh[t + 1]),
                               mtv(w(l, "W_hr"), d["r"][t + 1]), mtv(w(l, "W_hu"), d["u"][t + 1]),
                               mul(z["r"][t + 1], mtv(w(l, "W_hn"), d["n"][t + 1]))))
            else:
                nxt.append(add(*[mtv(w(l, "W_h" + g), d[g][t + 1]) for g in gates]))
        close("%s l%d dh_next" % (what, l), Bl["dh_next"], nxt)
        close("%s l%d dh" % (what, l), dh, [add(a, b) for a, b in zip(Bl["dh_out"], Bl["dh_next"])])
        want = {g: [] for g in gates}
        if lstm:
            cs, dc = Fl["c"], Bl["dc"]
            dc_h, dc_next = [], []
        for t in range(S):
            hp = hs[t]
            if cell == "rnn":
                want["h"].append(dh[t] if linear else mul(dh[t], [1 - v * v for v in hs[t + 1]]))
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
                    part = add(part, mul(w(l, "w_co"), d["o"][t]))
                dc_h.append(part)
                if t == S - 1:
                    dc_next.append(zero)
                else:
                    part = mul(dc[t + 1], z["f"][t + 1])
                    if peep:
                        part = add(part, mul(w(l, "w_ci"), d["i"][t + 1]),
                                   mul(w(l, "w_cf"), d["f"][t + 1]))
                    dc_next.append(part)
                want["i"].append(mul(dc[t], g, i, [1 - v for v in i]))
                want["f"].append(mul(dc[t], cs[t], f, [1 - v for v in f]))
                want["g"].append(mul(dc[t], i, [1 - v * v for v in g]))
        if lstm:
            close("%s l%d dc_h" % (what, l), Bl["dc_h"], dc_h)
            close("%s l%d dc_next" % (what, l), Bl["dc_next"], dc_next)
            close("%s l%d dc" % (what, l), dc, [add(a, b) for a, b in zip(dc_h, dc_next)])
        for g in gates:
            close("%s l%d delta_%s" % (what, l, g), d[g], want[g])
        # the gradients: sums over the steps
        for g in gates:
            dWx, dWh, db = None, None, [0.0] * H
            for t in range(S):
                x = onehot(xs[t], V) if l == 0 else F["layers"][l - 1]["h"][t + 1]
                hin = mul(z["r"][t], hs[t]) if cell == "gru" and g == "n" else hs[t]
                ox, oh = outer(d[g][t], x), outer(d[g][t], hin)
                dWx = ox if dWx is None else [add(a, b) for a, b in zip(dWx, ox)]
                dWh = oh if dWh is None else [add(a, b) for a, b in zip(dWh, oh)]
                db = add(db, d[g][t])
            grads["l%d.W_x%s" % (l, g)], grads["l%d.W_h%s" % (l, g)] = dWx, dWh
            grads["l%d.b_%s" % (l, g)] = db
        if peep:
            grads["l%d.w_ci" % l] = add(*[mul(d["i"][t], cs[t]) for t in range(S)])
            grads["l%d.w_cf" % l] = add(*[mul(d["f"][t], cs[t]) for t in range(S)])
            grads["l%d.w_co" % l] = add(*[mul(d["o"][t], cs[t + 1]) for t in range(S)])
        if "dW_hh_terms" in Bl:  # the rnn's dJ_t/dW_hh term by term
            close("%s l%d dW_hh_terms" % (what, l), Bl["dW_hh_terms"],
                  [outer(d["h"][t], hs[t]) for t in range(S)])
            close("%s l%d dW_hh_terms sum" % (what, l), grads["l%d.W_hh" % l],
                  [[sum(m[j][k] for m in Bl["dW_hh_terms"]) for k in range(H)] for j in range(H)])
    if not biases:
        grads = {k: v for k, v in grads.items() if ".b_" not in k and k != "b_y"}
    return grads

def gradients(what, printed, grads):
    if sorted(grads) != sorted(printed) or list(printed) != list(tr["weights"]):
        sys.exit("%s: the gradients are not named as the weights: %s" % (what, sorted(printed)))
    for name, t in printed.items():
        if t["shape"] != tr["weights"][name]["shape"]:
            sys.exit("%s: gradient %s has shape %s" % (what, name, t["shape"]))
        close("%s %s" % (what, name), t["data"], grads[name])

dy = B["dy"]
close("dL/dy", dy, [[(p - o) / (T if mean else 1) for p, o in zip(F["p"][t], onehot(ys[t], V))]
                    for t in range(T)])
gradients("gradient", tr["gradients"], backward("backward", B, dy, T))

# the terms of single steps: J_t's backward pass, steps 1..t, dJ_t/dy_t alone
total = {}
for term in tr["terms"]:
    t = term["t"]
    close("terms %d nll" % t, term["nll"], nll[t - 1])
    close("terms %d dy" % t, term["dy"], [p - o for p, o in zip(F["p"][t - 1], onehot(ys[t - 1], V))])
    rows = [[0.0] * V] * (t - 1) + [term["dy"]]
    gradients("terms %d gradient" % t, term["gradients"], backward("terms %d" % t, term, rows, t))
    for name, g in term["gradients"].items():
        total[name] = add(total.get(name, [0.0] * len(g["data"])), g["data"])
if [u["t"] for u in tr["terms"]] == list(range(1, T + 1)):
    for name, g in tr["gradients"].items():
        close("sum over t of dJ_t/d" + name, g["data"], [v / (T if mean else 1) for v in total[name]])
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

    # the textbook forms: the sum of the steps' losses, a linear rnn, no
    # biases, and single steps' terms (with every step's, their sum is the
    # loss's gradient)
    n=0
    for args in "--model rnn --activation linear --no-bias --loss sum --hidden 2 --text abab --terms all" \
        "--model lstm --loss sum --terms all" "--model peephole --no-bias --terms 3" \
        "--model gru --layers 2 --hidden 3 --text abracadabra --loss sum --terms all" \
        "--model rnn --layers 2 --hidden 3 --terms 2"; do
        n=$((n + 1))
        "$CHARNN" trace $args --format json >"$T/textbook$n.json" 2>"$T/err" &&
            python3 "$T/check.py" "$T/textbook$n.json" >"$T/py" 2>>"$T/err"
        check $? "trace $args: the JSON recomputes, J_t's terms too ($(cat "$T/py"))" "$T/err"
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

# The homework of the course's notes (issue 26): h_i = W_hh h_{i-1} +
# W_hx x_i (no tanh, no bias), o_t = W_yh h_t, two classes, J = Σ_t J_t
# over t = 1..3. Its terms as trace prints them (--terms all), against
# numpy computing from the printed weights alone, the notes' way:
# dJ_t/dh_i = g_ot · W_yh · W_hh^(t-i) with matrix powers, dJ_t/dW_hh =
# Σ_{i<=t} (dJ_t/dh_i)^T h_{i-1}^T, dJ/dW_hh = Σ_t dJ_t/dW_hh; and the
# mean loss's gradient is the sum's over T (the issue's "3 x").
HOMEWORK="--model rnn --activation linear --no-bias --hidden 2 --text abab"
if [ -z "$numpy" ]; then
    echo "ok - the homework's terms against numpy's g_ot W_yh W_hh^(t-i) # skipped: no numpy"
else
    cat > "$T/homework.py" <<'EOF'
import json, sys
import numpy as np
tr = json.load(open(sys.argv[1]))
mean = json.load(open(sys.argv[2]))
W = {k: np.array(v["data"]).reshape(v["shape"]) for k, v in tr["weights"].items()}
assert sorted(W) == ["W_hy", "l0.W_hh", "l0.W_xh"], sorted(W)   # no biases
W_hx, W_hh, W_yh = W["l0.W_xh"], W["l0.W_hh"], W["W_hy"]       # the notes' names
assert W_hx.shape == (2, 2) and W_yh.shape == (2, 2) and len(tr["vocab"]) == 2  # two classes
x = np.eye(2)[tr["inputs"]]
h = [np.zeros(2)]
for i in range(1, 4):                                         # h_i = W_hh h_{i-1} + W_hx x_i
    h.append(W_hh @ h[-1] + W_hx @ x[i - 1])
worst, J, dJ = 0.0, 0.0, np.zeros((2, 2))
for term in tr["terms"]:
    t = term["t"]
    o = W_yh @ h[t]                                           # o_t = W_yh h_t
    p = np.exp(o - o.max()) / np.exp(o - o.max()).sum()
    g = p - np.eye(2)[tr["targets"][t - 1]]                   # g_ot = dJ_t/do_t, a row
    J += -np.log(p[tr["targets"][t - 1]])
    dJt = np.zeros((2, 2))
    for i in range(1, t + 1):
        want = g @ W_yh @ np.linalg.matrix_power(W_hh, t - i) # dJ_t/dh_i
        got = np.array(term["layers"][0]["dh"][i - 1])
        worst = max(worst, abs(got - want).max())
        dJt += np.outer(want, h[i - 1])
    worst = max(worst, abs(np.array(term["gradients"]["l0.W_hh"]["data"]).reshape(2, 2) - dJt).max())
    dJ += dJt
got = np.array(tr["gradients"]["l0.W_hh"]["data"]).reshape(2, 2)
worst = max(worst, abs(got - dJ).max(), abs(tr["loss"] - J))
three = np.array(mean["gradients"]["l0.W_hh"]["data"]).reshape(2, 2) * 3
worst = max(worst, abs(three - got).max())
assert [u["t"] for u in tr["terms"]] == [1, 2, 3], tr["terms"]
print("worst difference %.1e" % worst)
sys.exit(0 if worst < 1e-12 else 1)
EOF
    "$CHARNN" trace $HOMEWORK --loss sum --terms all --format json > "$T/hw.json" 2>"$T/err" &&
        "$CHARNN" trace $HOMEWORK --format json > "$T/hw-mean.json" 2>>"$T/err" &&
        "$numpy" "$T/homework.py" "$T/hw.json" "$T/hw-mean.json" > "$T/py" 2>>"$T/err"
    check $? "the homework (linear rnn, no biases, J = Σ J_t, T = 3): each dJ_t/dh_i is numpy's g_ot W_yh W_hh^(t-i), dJ_t/dW_hh and dJ/dW_hh its sums, 3 x the mean's ($(cat "$T/py"))" "$T/err"
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

# the header speaks the notes' notation (issue 26): the vocabulary's order,
# the table of symbols for each cell, the peephole vectors named w_c*, no
# letter meaning "any gate"
for kind in rnn lstm peephole gru; do
    "$CHARNN" trace --model $kind >"$T/$kind.txt" 2>"$T/err" || problem "exit $?"
done
begin
for pair in "lstm:^vocabulary, sorted by code point" "lstm:^  0 'e'  1 'h'  2 'l'  3 'o'$" \
    "rnn:^  W_hx  +W_xh  +input weights" "rnn:^  W_yh, W_qh  +W_hy " "rnn:^  o_t  +y_t  +output" \
    "rnn:^  g_ot = ∂J_t/∂o_t  +dJ_t/dy_t" "rnn:^  J = Σ_t J_t  +L  +with --loss sum" \
    "lstm:^  u_t  +i_t  +input gate" "lstm:^  c̃_t, D_t, m̃_t  +g_t  +candidate, tanh\(a_g\) \(one note writes σ" \
    "peephole:^  peephole: the notes' W_f·\[c_\{t-1\}, h_\{t-1\}, x_t\] multiplies c_\{t-1\} by a full matrix" \
    "peephole:^  l0\.w_ci  += \[" "peephole:w_co ⊙ c_t \+ b_o" \
    "gru:^  z_t  +u_t  +update gate" "gru:its z_t is 1 - u_t" "gru:^  h̃_t, H_t  +n_t  +candidate" \
    "lstm:^backward \(δi_t = dL/da_i at step t, and so for f, o, g;" \
    "gru:^backward \(δr_t = dL/da_r at step t, and so for u, n;" "lstm:^  J_1 = -ln p_1\[0\]  += "; do
    grep -Eq -e "${pair#*:}" "$T/${pair%%:*}.txt" || problem "trace --model ${pair%%:*}: no line matches /${pair#*:}/"
done
grep -Eq 'p_[ifo]\b|δg_t = dL/da_g' "$T/peephole.txt" "$T/lstm.txt" &&
    problem "p_i, p_f or p_o, or g for any gate, is still there"
report "trace's header: the vocabulary's order, the notes' symbols against charnn's, w_ci for the peepholes"

# no -0 (δf_1 is -0 x c_0 with c_0 = 0)
begin
for kind in lstm gru peephole; do
    "$CHARNN" trace --model $kind --seed 2 >"$T/z.txt" 2>"$T/err" &&
        "$CHARNN" trace --model $kind --seed 2 --format json >"$T/z.json" 2>>"$T/err" ||
        problem "exit $?"
    grep -Eq '(^|[ [])-0([ ,]|$)' "$T/z.txt" && problem "$kind: -0 in the text: $(grep -Em1 '(^| )-0( |$)' "$T/z.txt")"
    grep -Eq -- '-0[],]' "$T/z.json" && problem "$kind: -0 in the JSON"
done
report "a zero prints as 0, never -0"

# the homework's terms, as text
run "$CHARNN" trace $HOMEWORK --loss sum --terms 3
begin
[ "$rc" -eq 0 ] || problem "exit $rc"
for label in '^A textbook setup, not a model charnn trains: linear \(h_t = a_h, no tanh\), no biases\.$' \
    '^  a_h = W_xh x_t \+ W_hh h_\{t-1\} +h_t = a_h \(linear\)$' '^loss L = Σ_t J_t = ' \
    '^  dL/dy_t = p_t - onehot\(target_t\)$' '^terms of J_3 = -ln p_3\[target_3\] alone' \
    'g_o3 · W_yh · W_hh\^\(3-i\)' '^  dJ_3/dy_3  += \[' '^    dJ_3/dh_1  += \[' \
    '^  l0\.W_hh: dJ_3/dW_hh term by term, δh_i h_\{i-1\}\^T' '^    i = 2 \[2 x 2\]$' \
    '^  dJ_3/dW of every weight$'; do
    grep -Eq -e "$label" "$T/out" || problem "no line matches /$label/"
done
grep -Eq 'b_h|b_y' "$T/out" && problem "a bias is printed"
report "the homework's trace: the sum, linear, no biases, and J_3's terms"

# the model topic's worked homework (src/doc/model.md): its command prints the lines it shows, in
# that order ("..." stands for lines left out)
awk '/^## The homework, worked through/ { on = 1 } on && /^    \.\/charnn trace/ { code = 1 }
     code && !/^    / { exit } code { print substr($0, 5) }' src/doc/model.md > "$T/readme-hw"
cmd=$(head -1 "$T/readme-hw" | sed 's|^\./charnn|"$CHARNN"|')
eval "$cmd" >"$T/hw.txt" 2>"$T/err"
python3 - "$T/readme-hw" "$T/hw.txt" <<'EOF' >"$T/report" 2>&1
import sys
want = [l for l in open(sys.argv[1], encoding='utf-8').read().split('\n')[1:] if l and l != '...']
got = open(sys.argv[2], encoding='utf-8').read().split('\n')
if len(want) < 41:
    sys.exit('the model topic shows %d lines of the homework, not its 41' % len(want))
at = 0
for line in want:
    try:
        at = got.index(line, at) + 1
    except ValueError:
        sys.exit('the model topic shows a line the command does not print (in that order): %r' % line)
print('%d lines, in order' % len(want))
EOF
check $? "the model topic's homework: the command prints the lines it shows ($(cat "$T/report"))" "$T/report"

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
expect_fail 2 "--terms past the last step" "--terms 4 is not one of the text's steps, 1 to 3" \
    "$CHARNN" trace --text abab --terms 4
expect_fail 2 "--terms that is not a step" "--terms 0x2 is not a step" "$CHARNN" trace --terms 0x2
expect_fail 2 "--loss that is not mean or sum" "--loss" "$CHARNN" trace --loss average
expect_fail 2 "--activation linear for a gru" "--activation linear is for --model rnn" \
    "$CHARNN" trace --model gru --activation linear
expect_fail 2 "--no-bias with --from" "--no-bias makes a random model, --from traces a checkpoint" \
    "$CHARNN" trace --from "$T/x.ckpt" --no-bias --text "the"
expect_fail 2 "--activation with --from" "--activation makes a random model" \
    "$CHARNN" trace --from "$T/x.ckpt" --activation linear --text "the"
if [ -w /dev/full ]; then
    "$CHARNN" trace --format json >/dev/full 2>"$T/err"
    rc=$?
    [ $rc -eq 1 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q '^charnn: cannot write' "$T/err"
    check $? "a failed write to standard output exits 1 with one line (exit $rc)" "$T/err"
else
    echo "ok - a failed write to standard output exits 1 # skipped: no /dev/full"
fi
