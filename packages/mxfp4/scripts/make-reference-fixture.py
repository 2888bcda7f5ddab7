#!/usr/bin/env python3
"""Build the MXFP4 dequantization reference fixture from the gpt-oss PyTorch reference.

Usage:
    /usr/bin/python3 scripts/make-reference-fixture.py PATH/TO/gpt_oss/torch/weights.py [OUT_DIR]

Needs torch (Debian's python3-torch 1.13 works) and the seed repository's ``gpt_oss/torch/weights.py``
(openai/gpt-oss); its path is the first argument. The file is executed unchanged: a stand-in
``safetensors`` module is installed first because weights.py imports ``safe_open`` at module level
but the fixture never opens a file. The dequantizer method of its ``Checkpoint`` class runs on
in-memory tensors by replacing the instance's tensor lookup.

Writes into OUT_DIR (default: test/fixtures/reference next to this script's package):
    blocks.bin          uint8 [ROWS, G, 16]
    scales.bin          uint8 [ROWS, G]
    expected-f32.bin    little-endian float32 [ROWS, G*32]  (reference with dtype=torch.float32)
    expected-bf16.bin   little-endian bf16 bits [ROWS, G*32] (reference with its default dtype=torch.bfloat16)
    meta.json           shapes, seed, sha256 of weights.py and of every output
"""

import hashlib
import importlib.util
import json
import os
import sys
import types

import torch

ROWS = 255  # scale bytes 0..254, one per row (0xFF is NaN in OCP MX and not exercised by the reference)
G = 2
SEED = 20251124


def load_reference(path):
    shim = types.ModuleType("safetensors")

    def safe_open(*_args, **_kwargs):
        raise RuntimeError("the fixture script never opens safetensors files")

    shim.safe_open = safe_open
    sys.modules["safetensors"] = shim
    spec = importlib.util.spec_from_file_location("gpt_oss_reference_weights", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_inputs():
    gen = torch.Generator().manual_seed(SEED)
    blocks = torch.randint(0, 256, (ROWS, G, 16), dtype=torch.uint8, generator=gen)
    # Group 0 of every row holds each nibble value in both the low and the high position
    # (byte j = j | (15 - j) << 4, shuffled per row), so every nibble meets every scale.
    base = torch.tensor([j | ((15 - j) << 4) for j in range(16)], dtype=torch.uint8)
    for r in range(ROWS):
        perm = torch.randperm(16, generator=gen)
        blocks[r, 0] = base[perm]
    scales = torch.empty((ROWS, G), dtype=torch.uint8)
    scales[:, 0] = torch.arange(ROWS, dtype=torch.uint8)
    scales[:, 1] = torch.randint(0, 255, (ROWS,), dtype=torch.uint8, generator=gen)
    return blocks, scales


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    weights_py = sys.argv[1]
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "reference"
    )
    os.makedirs(out_dir, exist_ok=True)
    ref = load_reference(weights_py)

    blocks, scales = make_inputs()
    tensors = {"w.blocks": blocks, "w.scales": scales}
    ckpt = ref.Checkpoint.__new__(ref.Checkpoint)  # skip __init__: it scans a directory
    ckpt.device_str = "cpu"
    ckpt.tensor_name_to_file = {name: "<memory>" for name in tensors}
    ckpt._get_tensor = lambda name: tensors[name].clone()

    out_f32 = ckpt._get_mxfp4_tensor("w.blocks", "w.scales", dtype=torch.float32)
    out_bf16 = ckpt._get_mxfp4_tensor("w.blocks", "w.scales", dtype=torch.bfloat16)
    assert out_f32.shape == (ROWS, G * 32), out_f32.shape
    # (_get_mxfp4_tensor_copy, the file's other variant, indexes with int32 tensors, which torch 1.13
    # refuses; the chunked method above is the one the reference model uses.)

    files = {
        "blocks.bin": blocks.numpy().tobytes(),
        "scales.bin": scales.numpy().tobytes(),
        "expected-f32.bin": out_f32.contiguous().view(torch.int32).numpy().astype("<i4").tobytes(),
        "expected-bf16.bin": out_bf16.contiguous().view(torch.int16).numpy().astype("<i2").tobytes(),
    }
    for name, data in files.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
    with open(weights_py, "rb") as f:
        ref_sha = hashlib.sha256(f.read()).hexdigest()
    meta = {
        "generator": "packages/mxfp4/scripts/make-reference-fixture.py",
        "reference": "openai/gpt-oss gpt_oss/torch/weights.py Checkpoint._get_mxfp4_tensor",
        "reference_sha256": ref_sha,
        "torch": torch.__version__,
        "seed": SEED,
        "blocks_shape": [ROWS, G, 16],
        "scales_shape": [ROWS, G],
        "output_shape": [ROWS, G * 32],
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
