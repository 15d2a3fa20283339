#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The PyTorch side of charnn's comparisons (charnn help speed and charnn
help quality): the same task as charnn train, done with PyTorch's fused
layers, so that the two are timed and scored alike.

  data      the corpus's last 10% is held out; the rest is cut into B
            contiguous streams, each iteration trains on the next T
            characters of every stream, the hidden state is carried from
            chunk to chunk (detached: truncated backpropagation) and reset
            when the streams start over
  model     one-hot input -> nn.RNN (tanh) / nn.LSTM / nn.GRU -> nn.Linear,
            cross-entropy averaged over the B*T predictions
  training  Adam, the gradient's norm clipped (5)
  chars/s   B*T*(iterations after the warm-up) / their wall time; the
            validation passes are not counted
  val loss  mean nats per character over the held-out tail, run as B streams

Needs Debian's python3-torch (and python3-numpy, libopenblas0-pthread).
Example (the speed table's configuration b):
  /usr/bin/python3 tests/bench/torch_charrnn.py --data data/input.txt --model lstm \\
      --hidden 512 --layers 2 --batch 32 --seq 64 --iters 35 --warmup 3 --threads 2 \\
      --no-final-eval
"""
import argparse
import math
import os
import time


def options():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="UTF-8 corpus")
    p.add_argument("--model", choices=("rnn", "lstm", "gru"), default="lstm")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--seq", type=int, default=50)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0, help="gradient norm bound; 0: off")
    p.add_argument("--iters", type=int, default=100, help="iterations; 0: until the budget")
    p.add_argument("--warmup", type=int, default=5, help="iterations not timed")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--blas-threads", type=int, default=0,
                   help="OpenBLAS's own threads; 0: as --threads (two pools of 2 threads on "
                        "2 cores can slow each other down)")
    p.add_argument("--time-budget-s", type=float, default=0, help="seconds of training; 0: none")
    p.add_argument("--eval-every", type=float, default=0,
                   help="validate every this many seconds of training; 0: at the end only")
    p.add_argument("--no-final-eval", action="store_true")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args()


args = options()
# the thread counts are read when torch and OpenBLAS load
for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[name] = str(args.threads)
if args.blas_threads > 0:
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)

with open(args.data, encoding="utf-8") as f:
    text = f.read()
chars = sorted(set(text))
V = len(chars)
index = {c: i for i, c in enumerate(chars)}
ids = torch.tensor([index[c] for c in text], dtype=torch.long)
n_val = int(len(ids) * 0.1)
train, val = ids[: len(ids) - n_val], ids[len(ids) - n_val:]
B, T = args.batch, args.seq


def streams(data):
    """(B, per_stream + 1) contiguous streams, each one character longer
    than it predicts."""
    per = (len(data) - 1) // B
    return torch.stack([data[b * per: b * per + per + 1] for b in range(B)]), per


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        cell = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[args.model]
        self.rnn = cell(V, args.hidden, args.layers)  # time-major
        self.out = nn.Linear(args.hidden, V)

    def forward(self, x, state):  # x (steps, B) of ids
        h, state = self.rnn(nn.functional.one_hot(x, V).float(), state)
        return self.out(h), state


def detach(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def validate(net):
    s, per = streams(val)
    net.eval()
    total, state = 0.0, None
    with torch.no_grad():
        for at in range(0, per, T):
            steps = min(T, per - at)
            x = s[:, at: at + steps].t()
            y = s[:, at + 1: at + 1 + steps].t()
            logits, state = net(x, state)
            total += nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1),
                                                 reduction="sum").item()
    net.train()
    return total / (B * per)


net = Net()
opt = torch.optim.Adam(net.parameters(), lr=args.lr)
s, per = streams(train)
chunks = per // T
print(f"pytorch {torch.__version__}: {args.model} {args.layers} x {args.hidden}, V {V}, "
      f"batch {B} x seq {T}, {args.threads} thread(s), {chunks} iterations per epoch")
state, it, trained, timed, t_timed = None, 0, 0.0, 0, 0.0
next_eval = args.eval_every if args.eval_every > 0 else math.inf
best = math.inf
while (args.iters == 0 or it < args.iters) and \
        (args.time_budget_s <= 0 or trained < args.time_budget_s):
    k = it % chunks
    if k == 0:
        state = None  # every epoch starts the streams over, from a zero state
    t0 = time.perf_counter()
    x = s[:, k * T: k * T + T].t()
    y = s[:, k * T + 1: k * T + T + 1].t()
    logits, state = net(x, detach(state))
    loss = nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    if args.clip > 0:
        nn.utils.clip_grad_norm_(net.parameters(), args.clip)
    opt.step()
    dt = time.perf_counter() - t0
    it += 1
    trained += dt
    if it > args.warmup:
        timed += 1
        t_timed += dt
    if trained >= next_eval:
        v = validate(net)
        best = min(best, v)
        print(f"iteration {it} ({it / chunks:.2f} epochs, {trained:.0f} s): val loss {v:.4f}")
        next_eval += args.eval_every
cps = B * T * timed / t_timed if t_timed > 0 else 0.0
print(f"trained {it} iterations ({it / chunks:.2f} epochs) in {trained:.1f} s; "
      f"{cps:,.0f} chars/s; last loss {loss.item():.4f}")
if not args.no_final_eval:
    v = validate(net)
    best = min(best, v)
    print(f"final val loss {v:.4f} nats/char; best {best:.4f}")
