#!/bin/sh
# Alternates llama.cpp and our engine on the same model so that both see the same machine state:
#   sh bench/llama-cpp/side-by-side.sh            (from packages/kernels-native; `pnpm build` first)
# Environment: LLAMA (node-llama-cpp install dir, default /tmp/llamacpp), MODEL (original checkpoint dir),
# GGUF (converted file), THREADS (2), ROUNDS (2), LLAMA_BENCH (optional path to a llama-bench binary built from the
# llama.cpp source bundled in node-llama-cpp; when set, it runs too), GGUF_Q8 (optional: a `to-gguf.mjs --q8` file,
# llama.cpp's usual MXFP4_MOE mix with Q8_0 non-expert weights, measured too for reference). Every run holds
# /tmp/gptoss-bench.lock.
set -eu
LLAMA=${LLAMA:-/tmp/llamacpp}
MODEL=${MODEL:-/work/bigmodels/gpt-oss-20b}
GGUF=${GGUF:-/work/bigmodels/gpt-oss-20b.gguf}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-2}
LOCK=/tmp/gptoss-bench.lock
i=1
while [ "$i" -le "$ROUNDS" ]; do
  echo "=== round $i: llama.cpp (node-llama-cpp) $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
  flock "$LOCK" node bench/llama-cpp/bench.mjs --llama "$LLAMA" --model "$GGUF" --threads "$THREADS" --prompt 512 --gen 128 --repeat 2
  if [ -n "${LLAMA_BENCH:-}" ]; then
    echo "=== round $i: llama-bench $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
    flock "$LOCK" "$LLAMA_BENCH" -m "$GGUF" -t "$THREADS" -p 512 -n 128 -r 2 -ngl 0 -lm mmap
  fi
  if [ -n "${GGUF_Q8:-}" ]; then
    echo "=== round $i: llama.cpp (node-llama-cpp) on the Q8_0 variant $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
    flock "$LOCK" node bench/llama-cpp/bench.mjs --llama "$LLAMA" --model "$GGUF_Q8" --threads "$THREADS" --prompt 512 --gen 128 --repeat 2
    if [ -n "${LLAMA_BENCH:-}" ]; then
      echo "=== round $i: llama-bench on the Q8_0 variant $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
      flock "$LOCK" "$LLAMA_BENCH" -m "$GGUF_Q8" -t "$THREADS" -p 512 -n 128 -r 2 -ngl 0 -lm mmap
    fi
  fi
  echo "=== round $i: ours (bench/run.mjs) $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
  flock "$LOCK" node bench/run.mjs --model "$MODEL" --threads "$THREADS" --prompt 512 --gen 128 --repeat 2
  i=$((i + 1))
done
