#!/usr/bin/env python3
"""PyTorch peer of bench/quant.ts (issue 6, acceptance 1-3): the same float MLP, quantized by PyTorch, run as a subprocess.

  quant_torch.py accuracy --model NAME=FILE [--model ...] [--calib-batches N] [--calib-batch-size B] [--threads T]
      For each model: test accuracy of fp32 and of every PyTorch scheme below; one JSON line per (model, scheme):
      {"model", "scheme", "accuracy", "state_bytes"}.
  quant_torch.py serve --model NAME=FILE [--model ...] [--calib-batches N] [--calib-batch-size B] [--threads T]
      A timing peer speaking one JSON object per line (stdin -> stdout), like bench/peers:
        {"op":"info"}                                     -> {"ok":true,"lib":"PyTorch 1.13 ...","engine":"onednn",...}
        {"op":"setup","model":M,"scheme":S,"batch":B}     -> {"ok":true,"handle":"h1"} (model built + calibrated here)
        {"op":"run","handle":"h1","iters":N}              -> {"ok":true,"ns_per_iter":...} (N forwards, monotonic clock)
        {"op":"threads","n":T} -> {"ok":true,"threads":T} (torch.set_num_threads for the following runs)
        {"op":"free","handle":"h1"} -> {"ok":true};  {"op":"quit"} -> exits 0;  errors -> {"ok":false,"error":"..."}

Models: the float weights of a distiq model file (safetensors, written by lib/io/safetensors.ts saveModel), read by
the small numpy reader below from the format's spec; the architecture is the "config" JSON of its metadata
(Sequential of Linear / ReLU / Dropout; Dropout is the identity at inference and is left out).

Schemes (ids as bench/quant.ts's rows):
  fp32                     the float model
  int8_static_pc_minmax    torch.ao.quantization eager mode: QuantStub / DeQuantStub, Linear+ReLU fused, activations
                           quint8 affine per-tensor MinMaxObserver, weights qint8 per-channel symmetric MinMax;
                           calibrated on the first N training batches of B images in order (the same images as distiq)
  int8_static_pt_minmax    the same with per-tensor symmetric weights
  int8_dynamic             quantize_dynamic({nn.Linear}, qint8): per-tensor weights, activation range per batch
  int4_pt / int4_pc / int4_g128 / int4_g32
                           int4 weight-only round-to-nearest, symmetric (scale = absmax / 7, codes clamped to
                           [-8, 7]) per tensor / per output channel / per group of g along the input dimension; SIMULATED:
                           the dequantized weights in the float model (PyTorch 1.13 has no int4 kernels), bias fp32
Quantized engine: 'onednn' (this Debian build has no fbgemm). Inputs: uint8 / 255, as bench/train_torch.py.
Run with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (bench/quant.ts does); torch.set_num_threads(--threads).
"""
import argparse
import copy
import io
import json
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing train_torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_torch import load  # noqa: E402  (the Fashion-MNIST reader of the training peer)

import torch.ao.quantization as tq  # noqa: E402

# ---- safetensors (https://github.com/huggingface/safetensors format: u64 LE header size, JSON header, raw data) ----

_DTYPES = {"F32": np.float32, "F16": np.float16, "I8": np.int8, "U8": np.uint8, "I32": np.int32, "F64": np.float64}


def read_safetensors(path):
    """Returns ({name: np.ndarray}, metadata dict); validates the header against the file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header size")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8 or n > 100_000_000:
        raise ValueError(f"{path}: header size {n} does not fit the file ({len(raw)} bytes)")
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = memoryview(raw)[8 + n :]
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, e in header.items():
        dt = _DTYPES.get(e["dtype"])
        if dt is None:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {e['dtype']}")
        begin, end = e["data_offsets"]
        count = int(np.prod(e["shape"], dtype=np.int64)) if e["shape"] else 1
        if not (0 <= begin <= end <= len(data)) or end - begin != count * np.dtype(dt).itemsize:
            raise ValueError(f"{path}: tensor {name}: offsets {begin}..{end} do not match shape {e['shape']} {e['dtype']}")
        out[name] = np.frombuffer(data[begin:end], dtype=np.dtype(dt).newbyteorder("<")).reshape(e["shape"]).copy()
    return out, meta


# ---- models ------------------------------------------------------------------------------------------------------


class QuantMLP(nn.Module):
    """QuantStub -> body (Linear / LinearReLU after fusion) -> DeQuantStub."""

    def __init__(self, body):
        super().__init__()
        self.quant = tq.QuantStub()
        self.body = body
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.body(self.quant(x)))


def float_model(path):
    """The float nn.Sequential (Linear / ReLU only) of a distiq model file, in eval mode."""
    tensors, meta = read_safetensors(path)
    cfg = json.loads(meta["config"])
    if cfg.get("type") != "Sequential":
        raise ValueError(f"{path}: expected a Sequential model, got {cfg.get('type')}")
    layers = []
    for i, l in enumerate(cfg["layers"]):
        if l["type"] == "Linear":
            lin = nn.Linear(l["inFeatures"], l["outFeatures"], bias=l.get("bias", True))
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(tensors[f"{i}.weight"]))
                if lin.bias is not None:
                    lin.bias.copy_(torch.from_numpy(tensors[f"{i}.bias"]))
            layers.append(lin)
        elif l["type"] == "ReLU":
            layers.append(nn.ReLU())
        elif l["type"] == "Dropout":
            continue  # identity at inference
        else:
            raise ValueError(f"{path}: layer {i} is {l['type']}: only Linear / ReLU / Dropout are supported here")
    return nn.Sequential(*layers).eval()


def fuse_pairs(seq):
    """Indices [[i, i+1]] of every Linear directly followed by ReLU (for fuse_modules)."""
    return [[str(i), str(i + 1)] for i in range(len(seq) - 1) if isinstance(seq[i], nn.Linear) and isinstance(seq[i + 1], nn.ReLU)]


def static_int8(fp32, calib, per_channel):
    body = copy.deepcopy(fp32)
    pairs = fuse_pairs(body)
    if pairs:
        body = tq.fuse_modules(body, pairs)
    m = QuantMLP(body).eval()
    wobs = (tq.PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric) if per_channel
            else tq.MinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric))
    m.qconfig = tq.QConfig(activation=tq.MinMaxObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine), weight=wobs)
    tq.prepare(m, inplace=True)
    with torch.no_grad():
        for x in calib:
            m(x)
    tq.convert(m, inplace=True)
    return m


def dynamic_int8(fp32):
    return tq.quantize_dynamic(copy.deepcopy(fp32), {nn.Linear}, dtype=torch.qint8)


def rtn_int4(w, group):
    """Symmetric int4 round-to-nearest of w [out, in], dequantized; group: 0 per tensor, -1 per channel, g per group."""
    w = w.detach().clone()
    out_f, in_f = w.shape
    if group == 0:
        blocks = w.reshape(1, -1)
    elif group == -1:
        blocks = w
    else:
        pad = (-in_f) % group  # short last group: padded with zeros that do not change its absmax
        wp = torch.nn.functional.pad(w, (0, pad))
        blocks = wp.reshape(out_f, -1, group).reshape(-1, group)
    amax = blocks.abs().amax(dim=1, keepdim=True)
    scale = torch.where(amax > 0, amax / 7.0, torch.ones_like(amax))
    q = torch.clamp(torch.round(blocks / scale), -8, 7)  # torch.round: half to even, as distiq
    deq = q * scale
    if group > 0:
        deq = deq.reshape(out_f, -1)[:, :in_f]
    return deq.reshape(out_f, in_f)


def int4_weight_only(fp32, group):
    m = copy.deepcopy(fp32)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.Linear):
                mod.weight.copy_(rtn_int4(mod.weight, group))
    return m


SCHEMES = ["fp32", "int8_static_pc_minmax", "int8_static_pt_minmax", "int8_dynamic", "int4_pt", "int4_pc", "int4_g128", "int4_g32"]


def build(scheme, fp32, calib):
    if scheme == "fp32":
        return fp32
    if scheme == "int8_static_pc_minmax":
        return static_int8(fp32, calib, True)
    if scheme == "int8_static_pt_minmax":
        return static_int8(fp32, calib, False)
    if scheme == "int8_dynamic":
        return dynamic_int8(fp32)
    groups = {"int4_pt": 0, "int4_pc": -1, "int4_g128": 128, "int4_g32": 32}
    if scheme in groups:
        return int4_weight_only(fp32, groups[scheme])
    raise ValueError(f"unknown scheme {scheme!r} (one of {', '.join(SCHEMES)})")


def accuracy(model, xte, yte):
    with torch.no_grad():
        hits = sum((model(xte[j : j + 1000]).argmax(1) == yte[j : j + 1000]).sum().item() for j in range(0, len(yte), 1000))
    return hits / len(yte)


def state_bytes(model):
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes


# ---- modes -------------------------------------------------------------------------------------------------------


def serve(models, calib, xte):
    handles, next_id = {}, [0]

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "info":
                reply({"ok": True, "lib": f"PyTorch {torch.__version__}", "engine": torch.backends.quantized.engine,
                       "threads": torch.get_num_threads(), "models": sorted(models)})
            elif op == "setup":
                name, scheme, batch = req["model"], req["scheme"], int(req["batch"])
                if name not in models:
                    raise ValueError(f"unknown model {name!r} (have {', '.join(sorted(models))})")
                if not 1 <= batch <= len(xte):
                    raise ValueError(f"batch must be in [1, {len(xte)}], got {batch}")
                m = build(scheme, models[name], calib)
                x = xte[:batch].contiguous()
                with torch.no_grad():
                    m(x)  # warm-up outside timing (primitive creation, weight reorder)
                next_id[0] += 1
                h = f"h{next_id[0]}"
                handles[h] = (m, x)
                reply({"ok": True, "handle": h})
            elif op == "run":
                m, x = handles[req["handle"]]
                iters = int(req["iters"])
                if iters < 1:
                    raise ValueError("iters must be >= 1")
                with torch.inference_mode():
                    t0 = time.perf_counter_ns()
                    for _ in range(iters):
                        m(x)
                    ns = time.perf_counter_ns() - t0
                reply({"ok": True, "ns_per_iter": ns / iters})
            elif op == "threads":
                n = int(req["n"])
                if not 1 <= n <= 256:
                    raise ValueError(f"n must be in [1, 256], got {n}")
                torch.set_num_threads(n)
                reply({"ok": True, "threads": torch.get_num_threads()})
            elif op == "free":
                handles.pop(req["handle"], None)
                reply({"ok": True})
            elif op == "quit":
                reply({"ok": True})
                return
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as e:  # a bad request never ends the peer
            reply({"ok": False, "error": f"{type(e).__name__}: {e}"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["accuracy", "serve"])
    ap.add_argument("--model", action="append", required=True, help="NAME=FILE.safetensors (a distiq model file)")
    ap.add_argument("--schemes", default=",".join(SCHEMES), help="accuracy: comma-separated scheme ids")
    ap.add_argument("--calib-batches", type=int, default=32)
    ap.add_argument("--calib-batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dir", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    if "onednn" not in torch.backends.quantized.supported_engines:
        raise SystemExit(f"this PyTorch has no onednn quantized engine ({torch.backends.quantized.supported_engines})")
    torch.backends.quantized.engine = "onednn"
    torch.set_num_threads(a.threads)
    xtr, _, xte, yte = load(a.dir, False)
    b = a.calib_batch_size
    calib = [xtr[i * b : (i + 1) * b] for i in range(a.calib_batches)]
    models = {}
    for spec in a.model:
        name, sep, path = spec.partition("=")
        if not sep:
            raise SystemExit(f"--model needs NAME=FILE, got {spec!r}")
        models[name] = float_model(path)
    if a.mode == "serve":
        serve(models, calib, xte)
        return
    for name, fp32 in models.items():
        for scheme in a.schemes.split(","):
            t0 = time.perf_counter()
            m = build(scheme, fp32, calib)
            print(json.dumps({"model": name, "scheme": scheme, "accuracy": accuracy(m, xte, yte), "state_bytes": state_bytes(m),
                              "seconds": round(time.perf_counter() - t0, 3)}), flush=True)


if __name__ == "__main__":
    main()
