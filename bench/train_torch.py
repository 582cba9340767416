#!/usr/bin/env python3
"""PyTorch peer of bench/train.ts: the same Fashion-MNIST recipes, run as a subprocess by the bench.

  train_torch.py --model mlp|cnn --epochs E --threads T [--max-batches B] [--seed S] [--dir DIR] [--eval]

Prints one JSON line per epoch: {"epoch", "train_seconds", "steps", "train_loss", "test_accuracy" (with --eval)}.
Data: the four IDX files read with gzip + numpy, inputs uint8/255; the training set stays in one tensor and batches
are gathered by index (no DataLoader workers), like distiq's loader.
"""
import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
from torch import nn


def idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def find(d, base):
    for name in (base + ".gz", base):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    raise SystemExit("missing " + base)


def load(d, image):
    out = []
    for prefix in ("train", "t10k"):
        x = idx(find(d, prefix + "-images-idx3-ubyte")).astype(np.float32) / 255.0
        y = idx(find(d, prefix + "-labels-idx1-ubyte")).astype(np.int64)
        x = x.reshape(len(x), 1, 28, 28) if image else x.reshape(len(x), 784)
        out += [torch.from_numpy(x), torch.from_numpy(y)]
    return out


def mlp():
    return nn.Sequential(
        nn.Dropout(0.1), nn.Linear(784, 1200), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(1200, 1200), nn.ReLU(), nn.Dropout(0.2), nn.Linear(1200, 10),
    )


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(64 * 12 * 12, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10),
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-batches", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--eval", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr, xte, yte = load(a.dir, a.model == "cnn")
    model = mlp() if a.model == "mlp" else cnn()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    n = len(ytr)
    steps_per_epoch = math.ceil(n / a.batch)
    if a.max_batches:
        steps_per_epoch = min(steps_per_epoch, a.max_batches)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(t, a.epochs * steps_per_epoch) / (a.epochs * steps_per_epoch)))
    )
    loss_fn = nn.CrossEntropyLoss()
    steps = 0
    for epoch in range(1, a.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        total = 0.0
        for b in range(steps_per_epoch):
            i = perm[b * a.batch : (b + 1) * a.batch]
            x, y = xtr[i], ytr[i]
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            steps += 1
            total += loss.item() * len(y)
        dt = time.perf_counter() - t0
        rec = {"epoch": epoch, "train_seconds": dt, "steps": steps, "train_loss": total / min(n, steps_per_epoch * a.batch)}
        if a.eval:
            model.eval()
            with torch.no_grad():
                hits = sum((model(xte[j : j + 1000]).argmax(1) == yte[j : j + 1000]).sum().item() for j in range(0, len(yte), 1000))
            rec["test_accuracy"] = hits / len(yte)
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
