#!/usr/bin/env python3
"""Reference logits from the seed's PyTorch model (openai/gpt-oss gpt_oss/torch/model.py), weights upcast to fp32.

usage: /usr/bin/python3 make-reference-logits.py GPT_OSS_CHECKOUT CHECKPOINT_DIR TOKENS_JSON OUT_F32

GPT_OSS_CHECKOUT is a checkout of github.com/openai/gpt-oss (its code is imported from there, never copied);
CHECKPOINT_DIR an original/-layout checkpoint (e.g. written by @gptoss/runtime createCheckpoint); TOKENS_JSON a
JSON list of token ids. Writes raw little-endian float32 logits [n_tokens, vocab], row-major, from one forward
pass over the whole sequence (the seed recomputes the full sequence; there is no cache to disagree with).

Compatibility shims, all here rather than in the seed: a `safetensors` stand-in (scripts/pyshim) because Debian's
torch has none; and loading the bf16 parameters before converting the whole model to float32.
"""
import json
import os
import sys

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "pyshim"))


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    seed_repo, ckpt, tokens_path, out_path = sys.argv[1:]
    sys.path.insert(0, seed_repo)
    from gpt_oss.torch.model import Transformer  # noqa: E402 (seed code, imported from the checkout)

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    with torch.inference_mode():
        model = Transformer.from_checkpoint(ckpt, device="cpu")
        # bf16 parameters (and MXFP4 experts, dequantised exactly to bf16 by the seed) upcast to fp32: every op
        # below then runs in fp32, which is the function the runtime's fp32 backends must reproduce.
        model = model.float()
        tokens = json.load(open(tokens_path))
        x = torch.as_tensor(tokens, dtype=torch.int64)
        logits = model(x)
        assert logits.dtype == torch.float32, logits.dtype
        arr = logits.numpy().astype("<f4")
        assert np.isfinite(arr).all(), "non-finite logits"
        arr.tofile(out_path)
        print(f"{out_path}: {arr.shape[0]} x {arr.shape[1]} float32", file=sys.stderr)


if __name__ == "__main__":
    main()
