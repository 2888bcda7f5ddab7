#!/usr/bin/env python3
"""Interop check between @gptoss/mxfp4 and the Python `safetensors` package, both directions.

Usage (on a machine with `safetensors`, ideally with torch and numpy too):
    python3 scripts/interop-check.py OURS_DIR OUT_DIR

1. Loads every file listed in OURS_DIR/expected.json (written by scripts/make-interop-ours.mjs) with
   `safetensors` (the framework-free `deserialize`, `safe_open` for metadata and, when torch is
   present, `safetensors.torch.load_file`) and compares dtype, shape, metadata and bytes exactly.
2. Writes files with `safetensors.torch.save_file`, `safetensors.numpy.save_file` and the raw
   `serialize_file` into OUT_DIR/python/, with OUT_DIR/python/expected.json describing every tensor's
   bytes, for our reader's tests.
Prints and writes OUT_DIR/report.json. Exit status 0 even when a check fails: the report says what.
"""

import hashlib
import json
import os
import struct
import sys
import traceback

import safetensors
from safetensors import safe_open

try:
    import numpy as np
except ImportError:  # pragma: no cover
    np = None
try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

TORCH_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool",
    "U16": "uint16", "U32": "uint32", "U64": "uint64",
    "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2", "F8_E8M0": "float8_e8m0fnu", "F4": "float4_e2m1fn_x2",
}


def torch_dtype(name):
    return getattr(torch, TORCH_DTYPES[name], None) if torch is not None else None


def torch_bytes(t):
    t = t.contiguous().reshape(-1)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return t.view(torch.uint8).cpu().numpy().tobytes()


def header_of(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return n, json.loads(f.read(n))


def check_ours(ours_dir):
    with open(os.path.join(ours_dir, "expected.json")) as f:
        expected = json.load(f)
    results = {}
    for fname, exp in expected.items():
        path = os.path.join(ours_dir, fname)
        res = {"ok": True, "problems": [], "checks": []}
        results[fname] = res

        def problem(msg):
            res["ok"] = False
            res["problems"].append(msg)

        try:
            data = open(path, "rb").read()
            res["sha256"] = hashlib.sha256(data).hexdigest()
            if res["sha256"] != exp["sha256"]:
                problem("sha256 differs from expected.json")
            # framework-free: raw bytes as the Rust crate sees them
            items = dict(safetensors.deserialize(data))
            res["checks"].append("deserialize")
            if sorted(items) != sorted(exp["tensors"]):
                problem(f"tensor names {sorted(items)} != {sorted(exp['tensors'])}")
            for name, t in exp["tensors"].items():
                got = items.get(name)
                if got is None:
                    continue
                if list(got["shape"]) != t["shape"]:
                    problem(f"{name}: shape {got['shape']} != {t['shape']}")
                if bytes(got["data"]).hex() != t["hex"]:
                    problem(f"{name}: bytes differ")
                res.setdefault("deserialize_dtypes", {})[name] = str(got["dtype"])
            with safe_open(path, framework="numpy" if torch is None else "pt") as f:
                meta = f.metadata() or {}
                keys = sorted(f.keys())
            res["checks"].append("safe_open")
            if meta != exp["metadata"]:
                problem(f"metadata {meta} != {exp['metadata']}")
            if keys != sorted(exp["tensors"]):
                problem(f"safe_open keys {keys}")
            if torch is not None:
                from safetensors.torch import load_file

                needed = [torch_dtype(t["dtype"]) for t in exp["tensors"].values()]
                if any(d is None for d in needed):
                    res["checks"].append("torch skipped: dtype unsupported by this torch")
                else:
                    loaded = load_file(path)
                    res["checks"].append("torch.load_file")
                    for name, t in exp["tensors"].items():
                        lt = loaded[name]
                        if lt.dtype != torch_dtype(t["dtype"]):
                            problem(f"{name}: torch dtype {lt.dtype} for {t['dtype']}")
                        if list(lt.shape) != t["shape"]:
                            problem(f"{name}: torch shape {list(lt.shape)}")
                        if torch_bytes(lt).hex() != t["hex"]:
                            problem(f"{name}: torch bytes differ")
        except Exception as e:  # noqa: BLE001
            problem(f"exception: {e!r}")
            res["traceback"] = traceback.format_exc()
    return results


def rand_bytes(seed, n):
    out = bytearray()
    x = seed & 0xFFFFFFFF
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


def describe(path, raw_by_name):
    n, header = header_of(path)
    meta = header.pop("__metadata__", None) or {}
    data = open(path, "rb").read()
    tensors = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        stored = data[8 + n + b : 8 + n + e]
        tensors[name] = {
            "dtype": info["dtype"],
            "shape": info["shape"],
            "hex": raw_by_name[name].hex(),
            "stored_equals_input": stored == raw_by_name[name],
        }
    return {"sha256": hashlib.sha256(data).hexdigest(), "header_length": n, "metadata": meta, "tensors": tensors}


def write_python(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    expected = {}
    errors = {}
    # Tensors as raw little-endian bytes; every writer below gets the same bytes.
    specs = [
        ("w.f32", "F32", [3, 4], 4), ("w.bf16", "BF16", [2, 8], 2), ("w.f16", "F16", [5], 2),
        ("w.f64", "F64", [2], 8), ("i64", "I64", [3], 8), ("i32", "I32", [2, 2], 4), ("i16", "I16", [3], 2),
        ("i8", "I8", [7], 1), ("u8", "U8", [4, 2, 16], 1), ("empty", "F32", [0, 3], 4), ("scalar", "F64", [], 8),
    ]
    raw = {name: rand_bytes(i + 1, size * max(1, _prod(shape))) if _prod(shape) else b"" for i, (name, _, shape, size) in enumerate(specs)}
    raw["flag"] = bytes([1, 0, 1])
    meta = {"format": "pt", "origin": "python safetensors " + getattr(safetensors, "__version__", "?")}

    if torch is not None:
        try:
            from safetensors.torch import save_file

            tensors = {}
            for name, dt, shape, _ in specs:
                if _prod(shape) == 0:
                    t = torch.empty(shape, dtype=torch_dtype(dt))
                else:
                    t = torch.frombuffer(bytearray(raw[name]), dtype=torch_dtype(dt)).clone().reshape(shape)
                tensors[name] = t
            tensors["flag"] = torch.tensor([True, False, True])
            p = os.path.join(out_dir, "torch.safetensors")
            save_file(tensors, p, metadata=meta)
            expected["torch.safetensors"] = describe(p, raw)
        except Exception as e:  # noqa: BLE001
            errors["torch.safetensors"] = traceback.format_exc()
    if np is not None:
        try:
            from safetensors.numpy import save_file as np_save

            npt = {}
            for name, dt, shape, _ in specs:
                if dt == "BF16":
                    continue
                npdt = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1"}[dt]
                npt[name] = np.frombuffer(raw[name], dtype=npdt).reshape(shape).copy()
            npt["flag"] = np.array([True, False, True])
            p = os.path.join(out_dir, "numpy.safetensors")
            np_save(npt, p, metadata={"origin": "numpy"})
            expected["numpy.safetensors"] = describe(p, raw)
        except Exception:  # noqa: BLE001
            errors["numpy.safetensors"] = traceback.format_exc()
    # Newer dtypes through torch (each file separately, so a torch without one only skips that file).
    # Shapes are torch's; the header records what safetensors made of them (e.g. F4 element counts).
    extra = {
        "torch-unsigned.safetensors": [("u16", "U16", [3], 6), ("u32", "U32", [2], 8), ("u64", "U64", [2], 16)],
        "torch-f8.safetensors": [("e4m3", "F8_E4M3", [5], 5), ("e5m2", "F8_E5M2", [2, 2], 4)],
        "torch-e8m0.safetensors": [("scales", "F8_E8M0", [4], 4)],
        "torch-f4.safetensors": [("fp4", "F4", [2, 3], 6)],
    }
    for fname, entries in extra.items():
        if torch is None:
            break
        try:
            from safetensors.torch import save_file

            tensors = {}
            for k, (name, dt, shape, nbytes) in enumerate(entries):
                td = torch_dtype(dt)
                if td is None:
                    raise RuntimeError(f"torch {torch.__version__} has no {TORCH_DTYPES[dt]}")
                b = rand_bytes(200 + k, nbytes)
                if dt == "F8_E8M0":
                    b = bytes(x % 255 for x in b)  # 0xFF is NaN; keep values ordinary
                raw[name] = b
                tensors[name] = torch.frombuffer(bytearray(b), dtype=torch.uint8).view(td).reshape(shape)
            p = os.path.join(out_dir, fname)
            save_file(tensors, p, metadata={"origin": fname})
            expected[fname] = describe(p, raw)
        except Exception:  # noqa: BLE001
            errors[fname] = traceback.format_exc()
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    return {"written": sorted(expected), "errors": errors}


def _prod(shape):
    p = 1
    for d in shape:
        p *= d
    return p


def main():
    ours_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    report = {
        "safetensors": getattr(safetensors, "__version__", "?"),
        "torch": getattr(torch, "__version__", None),
        "numpy": getattr(np, "__version__", None),
        "python": sys.version.split()[0],
        "ours": check_ours(ours_dir),
        "python_files": write_python(os.path.join(out_dir, "python")),
    }
    report["ok"] = all(r["ok"] for r in report["ours"].values())
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
