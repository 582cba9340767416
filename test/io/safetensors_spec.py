#!/usr/bin/env python3
"""An independent safetensors reader/writer written from the format's specification, standard library only:
8-byte little-endian header length N, N bytes of JSON header, then raw little-endian tensor data addressed by
data_offsets relative to the end of the header.

  safetensors_spec.py read FILE   -> prints {"metadata": {...}, "tensors": {name: {dtype, shape, values}}} as JSON
  safetensors_spec.py write FILE  -> writes the fixed test tensors below (values are functions of the index)
"""
import json
import struct
import sys

FMT = {"F32": ("f", 4), "F16": ("e", 2), "I8": ("b", 1), "U8": ("B", 1), "I32": ("i", 4)}


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = blob[8 + n :]
    out = {"metadata": header.pop("__metadata__", {}), "tensors": {}}
    end = 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, stop = e["data_offsets"]
        assert begin == end, "tensors must tile the data section"
        end = stop
        code, size = FMT[e["dtype"]]
        count = 1
        for d in e["shape"]:
            count *= d
        assert stop - begin == count * size, "byte span must match the shape"
        values = list(struct.unpack("<%d%s" % (count, code), data[begin:stop]))
        out["tensors"][name] = {"dtype": e["dtype"], "shape": e["shape"], "values": values}
    assert end == len(data), "no trailing bytes"
    print(json.dumps(out))


def write(path):
    tensors = [
        ("w", "F32", [2, 3], [struct.unpack("<f", struct.pack("<f", (i - 2.5) / 3.0))[0] for i in range(6)]),
        ("h", "F16", [4], [0.5 * i - 1.0 for i in range(4)]),
        ("q", "I8", [5], [-128, -1, 0, 1, 127]),
        ("u", "U8", [3], [0, 128, 255]),
        ("idx", "I32", [2], [-(2**31), 2**31 - 1]),
    ]
    header = {"__metadata__": {"config": '{"type":"ReLU"}', "who": "python"}}
    chunks = []
    offset = 0
    for name, dtype, shape, values in tensors:
        code, size = FMT[dtype]
        raw = struct.pack("<%d%s" % (len(values), code), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


if __name__ == "__main__":
    {"read": read, "write": write}[sys.argv[1]](sys.argv[2])
