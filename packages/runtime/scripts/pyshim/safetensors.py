"""Minimal stand-in for the `safetensors` package (only `safe_open`), enough for gpt_oss/torch/weights.py.

Debian's python3-torch has no `safetensors` module and the network may be closed, so we read the format
ourselves: 8-byte little-endian header length, JSON header, raw little-endian tensor data.
"""
import json
import struct

import numpy as np
import torch

_NP = {
    "BF16": np.int16, "F16": np.float16, "F32": np.float32, "F64": np.float64,
    "U8": np.uint8, "I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64, "BOOL": np.bool_,
}


class _File:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            self.header = json.loads(f.read(n))
        self.data_start = 8 + n
        self.header.pop("__metadata__", None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def keys(self):
        return list(self.header.keys())

    def get_tensor(self, name):
        info = self.header[name]
        begin, end = info["data_offsets"]
        arr = np.fromfile(self.path, dtype=np.uint8, count=end - begin, offset=self.data_start + begin)
        arr = arr.view(_NP[info["dtype"]]).reshape(info["shape"]).copy()
        t = torch.from_numpy(arr)
        if info["dtype"] == "BF16":
            t = t.view(torch.bfloat16)
        return t


def safe_open(path, framework="pt", device="cpu"):
    assert framework == "pt", framework
    return _File(path)
