#!/usr/bin/env python3
"""An independent safetensors reader/writer written from the format's specification, with numpy (no safetensors
package, nothing from distiq): an 8-byte little-endian unsigned header length N, N bytes of UTF-8 JSON header
(tensor name -> {dtype, shape, data_offsets}, plus an optional "__metadata__" of string -> string), then the raw
little-endian tensor data, each tensor at data_offsets [begin, end) relative to the end of the header.

  safetensors_spec.py check       -> exits 0 when numpy imports (the test fails loudly when it does not)
  safetensors_spec.py read FILE   -> prints {"metadata": {...}, "tensors": {name: {dtype, shape, values, bits}}}
                                     as JSON; "bits" are the raw little-endian words as unsigned integers
  safetensors_spec.py write FILE  -> writes the fixed test tensors below (values are functions of the index)
"""
import json
import struct
import sys

import numpy as np

# safetensors dtype string -> explicit little-endian numpy dtype, and the unsigned type of the same width
DTYPES = {
    "F32": (np.dtype("<f4"), np.dtype("<u4")),
    "F16": (np.dtype("<f2"), np.dtype("<u2")),
    "I8": (np.dtype("i1"), np.dtype("u1")),
    "U8": (np.dtype("u1"), np.dtype("u1")),
    "I32": (np.dtype("<i4"), np.dtype("<u4")),
}


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    assert len(blob) >= 8, "file shorter than the 8-byte header length"
    (n,) = struct.unpack("<Q", blob[:8])
    assert 8 + n <= len(blob), "header length past the end of the file"
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = memoryview(blob)[8 + n :]
    out = {"metadata": header.pop("__metadata__", {}), "tensors": {}}
    end = 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, stop = e["data_offsets"]
        assert begin == end, "tensors must tile the data section"
        end = stop
        dtype, word = DTYPES[e["dtype"]]
        count = int(np.prod(e["shape"], dtype=np.int64))
        assert stop - begin == count * dtype.itemsize, "byte span must match the shape"
        arr = np.frombuffer(data[begin:stop], dtype=dtype, count=count).reshape(e["shape"])
        bits = np.frombuffer(data[begin:stop], dtype=word, count=count)
        out["tensors"][name] = {
            "dtype": e["dtype"],
            "shape": list(arr.shape),
            "values": arr.astype(np.float64 if dtype.kind == "f" else np.int64).ravel().tolist(),
            "bits": bits.astype(np.int64).tolist(),
        }
    assert end == len(data), "no trailing bytes"
    print(json.dumps(out))


def tensors():
    i6 = np.arange(6, dtype=np.float64)
    r = np.arange(257, dtype=np.int64)
    return [
        ("w", "F32", [2, 3], ((i6 - 2.5) / 3.0).astype(np.float32)),
        ("h", "F16", [4], (0.5 * np.arange(4) - 1.0).astype(np.float16)),
        ("q", "I8", [5], np.array([-128, -1, 0, 1, 127], dtype=np.int8)),
        ("u", "U8", [3], np.array([0, 128, 255], dtype=np.uint8)),
        ("idx", "I32", [2], np.array([-(2**31), 2**31 - 1], dtype=np.int32)),
        # a larger float tensor spanning many exponents, exact in float32: ((37 i mod 257) - 128) * 2^((i mod 41) - 20)
        ("big", "F32", [1, 257], np.ldexp(((37 * r) % 257 - 128).astype(np.float64), (r % 41 - 20).astype(np.int32)).astype(np.float32)),
    ]


def write(path):
    header = {"__metadata__": {"config": '{"type":"ReLU"}', "who": "python+numpy"}}
    chunks = []
    offset = 0
    for name, dtype, shape, values in tensors():
        raw = values.astype(DTYPES[dtype][0]).reshape(shape).tobytes(order="C")
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def check():
    print("numpy", np.__version__)


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check()
    else:
        {"read": read, "write": write}[sys.argv[1]](sys.argv[2])
