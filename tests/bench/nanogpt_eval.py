#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The loss of a nanoGPT checkpoint on a text, counted as charnn eval counts
its own: every character after the first predicted once, the mean of
-ln p in nats per character (charnn help quality, beside PyTorch and
nanoGPT). A transformer sees at most block_size characters, so the text is
read in windows of block_size every STRIDE characters; each window counts
the predictions no window before it counted, so every character past the
first block is predicted from at least block_size - STRIDE characters of
context. nanoGPT's own "val loss" is the mean over random windows, whose
first positions see little context: it is higher.

Needs Debian's python3-torch and a nanoGPT checkout (karpathy/nanoGPT: its
model.py and the dataset's meta.pkl); nothing of it is copied here.

usage: nanogpt_eval.py NANOGPT_DIR OUT_DIR TEXT [STRIDE]
  e.g. nanogpt_eval.py ~/nanoGPT ~/nanoGPT/out-10m val.txt 16
"""
import os
import pickle
import sys

if len(sys.argv) not in (4, 5):
    sys.exit(__doc__.split("\n\n")[-1])
root, out_dir, path = sys.argv[1:4]
stride = int(sys.argv[4]) if len(sys.argv) == 5 else 16
os.environ.setdefault("OMP_NUM_THREADS", "2")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, root)
from model import GPT, GPTConfig  # noqa: E402

ck = torch.load(os.path.join(out_dir, "ckpt.pt"), map_location="cpu")
model = GPT(GPTConfig(**ck["model_args"]))
model.load_state_dict({k.removeprefix("_orig_mod."): v for k, v in ck["model"].items()})
model.eval()
dataset = ck["config"]["dataset"]
with open(os.path.join(root, "data", dataset, "meta.pkl"), "rb") as f:
    stoi = pickle.load(f)["stoi"]
with open(path, encoding="utf-8") as f:
    ids = torch.tensor([stoi[c] for c in f.read()], dtype=torch.long)
n, block = len(ids), ck["model_args"]["block_size"]
assert n > block + 1 and 0 < stride <= block

# windows: inputs ids[s : s + block], targets ids[s + 1 : s + block + 1];
# each counts the targets from next_t on
starts, counts, next_t = [], [], 1
s = 0
while next_t <= n - 1:
    s = min(s, n - 1 - block)
    first = max(0, next_t - (s + 1))  # the first position whose target is new
    starts.append(s)
    counts.append(first)
    next_t = s + block + 1
    s += stride
total, predicted = 0.0, 0
with torch.no_grad():
    for at in range(0, len(starts), 64):
        group = starts[at: at + 64]
        x = torch.stack([ids[s: s + block] for s in group])
        y = torch.stack([ids[s + 1: s + block + 1] for s in group]).clone()
        for row, first in enumerate(counts[at: at + 64]):
            y[row, :first] = -1  # counted by an earlier window
        logits, _ = model(x, y)
        total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                                 ignore_index=-1, reduction="sum").item()
        predicted += int((y >= 0).sum())
assert predicted == n - 1, (predicted, n)
print(f"{total / predicted:.6f} nats/char  {total / predicted / 0.6931471805599453:.6f} bits/char  "
      f"({predicted:,} predictions; windows of {block}, stride {stride}; "
      f"iteration {ck['iter_num']}, nanoGPT's best val loss {float(ck['best_val_loss']):.4f})")
