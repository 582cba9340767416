#!/usr/bin/env python3
"""PyTorch peer of bench/distill.ts: the issue 5 distillation recipes on Fashion-MNIST, run as a subprocess.

  distill_torch.py time --teacher-logits F.npy --threads T [--epochs E] [--max-batches B]
      KD epochs (T = 2, alpha = 0.5) of the student MLP 784-64-10 on all 60000 training images with the cached teacher
      logits; one JSON line per epoch {"epoch", "train_seconds", "steps", "train_loss"}.
  distill_torch.py accuracy --recipe R [--teacher-logits F.npy] [--seeds 1,2,3] [--threads T] [--quick]
      trains the student with recipe R and prints one JSON line per seed {"recipe", "seed", "test_accuracy", ...}:
        full.hard / full.kd        all 60000 images, 30 epochs, hard labels / KD (T = 2, alpha = 0.5)
        n1000.hard / n1000.kd      the first 1000 images, 2400 optimizer steps (n5000.* likewise)
        labelfree                  all images, 2400 steps, alpha = 1: the labels are never loaded into the loop
        n1000.topk4                n1000.kd with the teacher reduced to its 4 largest logits per row
      Without --teacher-logits the teacher is trained here with the issue 4 reference recipe (MLP 784-1200-1200-10,
      15 epochs, bench/train_torch.py's model) and its train-set logits cached in bench/.cache/distill/, so the
      brackets of the issue can be re-derived in PyTorch alone.

Common recipe: AdamW (lr 3e-3, weight decay 1e-4), cosine to 0 stepped per optimizer step over all steps, batch 128,
each epoch a fresh permutation of the (first N) training images, batches gathered by index, the teacher logits
gathered by the same index (a cache, not a teacher forward). Inputs uint8/255 as in bench/train_torch.py.
KD loss per batch: alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y), means over the batch; a
top-k teacher is the softmax over its k logits (other classes get probability 0), as distiq's softmax-KL does.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing train_torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_torch import load, mlp as teacher_mlp  # noqa: E402  (the issue 4 teacher and data loader)

BATCH = 128
CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache", "distill")

# recipe -> (first N images or None for all, epochs or None, steps or None, alpha or None for hard labels, top-k)
RECIPES = {
    "full.hard": (None, 30, None, None, None),
    "full.kd": (None, 30, None, 0.5, None),
    "n1000.hard": (1000, None, 2400, None, None),
    "n1000.kd": (1000, None, 2400, 0.5, None),
    "n5000.hard": (5000, None, 2400, None, None),
    "n5000.kd": (5000, None, 2400, 0.5, None),
    "labelfree": (None, None, 2400, 1.0, None),
    "n1000.topk4": (1000, None, 2400, 0.5, 4),
}


def student():
    return nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))


def kd_loss(s, t, y, temperature, alpha):
    """alpha*T^2*KL(p_t || p_s) at temperature T + (1 - alpha)*CE; t may hold -inf (masked classes)."""
    log_q = F.log_softmax(s / temperature, dim=1)
    log_p = F.log_softmax(t / temperature, dim=1)
    p = log_p.exp()
    kl = torch.where(p > 0, p * (log_p - log_q), torch.zeros_like(p)).sum(1).mean()
    loss = alpha * temperature * temperature * kl
    if alpha < 1:
        loss = loss + (1 - alpha) * F.cross_entropy(s, y)
    return loss


def top_k_mask(logits, k):
    """Keeps the k largest logits of each row, the others become -inf."""
    idx = logits.topk(k, dim=1).indices
    out = torch.full_like(logits, -math.inf)
    return out.scatter(1, idx, logits.gather(1, idx))


def train(xtr, ytr, tlog, n, epochs, steps, alpha, temperature, seed, on_epoch=None, max_batches=0):
    """Trains a fresh student; returns it. ytr is None for label-free training (alpha must be 1)."""
    torch.manual_seed(seed)
    model = student()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    per_epoch = math.ceil(n / BATCH)
    if max_batches:
        per_epoch = min(per_epoch, max_batches)
    total = steps if steps is not None else epochs * per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(t, total) / total)))
    done, epoch = 0, 0
    model.train()
    while done < total:
        epoch += 1
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        loss_sum, seen = 0.0, 0
        for b in range(per_epoch):
            if done == total:
                break
            i = perm[b * BATCH : (b + 1) * BATCH]
            x = xtr[i]
            y = ytr[i] if ytr is not None else None
            opt.zero_grad()
            s = model(x)
            if alpha is None:
                loss = F.cross_entropy(s, y)
            else:
                loss = kd_loss(s, tlog[i], y, temperature, alpha)
            loss.backward()
            opt.step()
            sched.step()
            done += 1
            loss_sum += loss.item() * len(i)
            seen += len(i)
        if on_epoch:
            on_epoch({"epoch": epoch, "train_seconds": time.perf_counter() - t0, "steps": done, "train_loss": loss_sum / seen})
    return model


def accuracy(model, xte, yte):
    model.eval()
    with torch.no_grad():
        hits = sum((model(xte[j : j + 1000]).argmax(1) == yte[j : j + 1000]).sum().item() for j in range(0, len(yte), 1000))
    return hits / len(yte)


def torch_teacher_logits(xtr, ytr, quick):
    """Train-set logits of the issue 4 teacher trained here (cached per recipe length)."""
    epochs = 1 if quick else 15
    path = os.path.join(CACHE, f"torch-teacher-e{epochs}-logits.npy")
    if os.path.exists(path):
        return torch.from_numpy(np.load(path))
    torch.manual_seed(1)
    model = teacher_mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    n = len(ytr)
    total = epochs * math.ceil(n / BATCH)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(t, total) / total)))
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n)
        for b in range(math.ceil(n / BATCH)):
            i = perm[b * BATCH : (b + 1) * BATCH]
            opt.zero_grad()
            F.cross_entropy(model(xtr[i]), ytr[i]).backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(xtr[j : j + 1000]) for j in range(0, n, 1000)])
    os.makedirs(CACHE, exist_ok=True)
    np.save(path, logits.numpy())
    return logits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["time", "accuracy"])
    ap.add_argument("--recipe", choices=sorted(RECIPES))
    ap.add_argument("--teacher-logits", help=".npy float32 [60000, 10]: the teacher's train-set logits")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--max-batches", type=int, default=0)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--temperature", type=float, default=2.0)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--quick", action="store_true", help="accuracy: one tenth of the steps/epochs")
    ap.add_argument("--dir", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    xtr, ytr, xte, yte = load(a.dir, False)
    if a.teacher_logits:
        tlog = torch.from_numpy(np.load(a.teacher_logits).astype(np.float32))
        if tuple(tlog.shape) != (len(ytr), 10):
            raise SystemExit(f"--teacher-logits: expected [{len(ytr)}, 10], got {list(tlog.shape)}")
    elif a.mode == "time":
        raise SystemExit("time needs --teacher-logits")
    elif RECIPES.get(a.recipe, (None,) * 4)[3] is not None:
        tlog = torch_teacher_logits(xtr, ytr, a.quick)
    else:
        tlog = None  # hard labels only: no teacher needed

    if a.mode == "time":
        train(xtr, ytr, tlog, len(ytr), a.epochs, None, a.alpha, a.temperature, 1,
              on_epoch=lambda r: print(json.dumps(r), flush=True), max_batches=a.max_batches)
        return

    if a.recipe is None:
        raise SystemExit("accuracy needs --recipe")
    n, epochs, steps, alpha, k = RECIPES[a.recipe]
    n = n or len(ytr)
    if a.quick:
        epochs = epochs and max(1, epochs // 10)
        steps = steps and max(1, steps // 10)
    x, y, t = xtr[:n], ytr[:n], tlog[:n] if tlog is not None else None
    if k is not None:
        t = top_k_mask(t, k)
    if alpha == 1.0:
        y = None  # label-free: the loop never sees a label
    for seed in [int(s) for s in a.seeds.split(",")]:
        t0 = time.perf_counter()
        model = train(x, y, t, n, epochs, steps, alpha, a.temperature, seed)
        print(json.dumps({"recipe": a.recipe, "seed": seed, "test_accuracy": accuracy(model, xte, yte),
                          "seconds": time.perf_counter() - t0, "teacher": a.teacher_logits or "torch"}), flush=True)


if __name__ == "__main__":
    main()
