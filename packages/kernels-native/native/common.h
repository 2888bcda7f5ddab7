// Shared scalar helpers and argument structs. Everything here is ISA-neutral: the per-ISA translation units
// (isa-*.cc) include it and add their own vector code.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <cmath>

namespace gptoss {

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t f32_to_bf16(float f) {  // round to nearest even; inputs here are finite activations
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

// Reads bf16 from a possibly unaligned address: mmapped safetensors give no alignment guarantee.
inline float load_bf16(const uint8_t* p, size_t i) {
  uint16_t h;
  std::memcpy(&h, p + 2 * i, 2);
  return bf16_to_f32(h);
}

inline float load_f32(const uint8_t* p, size_t i) {
  float f;
  std::memcpy(&f, p + 4 * i, 4);
  return f;
}

// FP4 E2M1 values times two, so that every entry is an integer (int8 lookup tables on AVX2). The matching scale
// table below folds the factor 1/2 back in: value = FP4_X2[n] * kScaleHalf[s].
extern const float kFp4x2[16];
extern const int8_t kFp4x2i8[16];
extern const uint16_t kFp4Bf16x2[32];  // kFp4x2 as bf16 bits, repeated twice (32-entry vpermw table)
extern float kScaleHalf[256];  // 2^(s - 128) (s = 0, 1: subnormal), NaN for s = 255; filled at load time

enum DType : int { kBF16 = 0, kF32 = 1 };

// A small vector that is either bf16 or f32 (norm scales, sinks, biases), read element by element.
struct Vec {
  const uint8_t* data = nullptr;
  int dtype = kBF16;
  inline float at(size_t i) const { return dtype == kBF16 ? load_bf16(data, i) : load_f32(data, i); }
  explicit operator bool() const { return data != nullptr; }
};

// Weight matrix [rows, K] in one of the formats the model uses.
enum WeightFormat : int { kWBF16 = 0, kWMXFP4 = 1, kWF32 = 2 };
struct Weight {
  int format = kWBF16;
  const uint8_t* data = nullptr;    // bf16/f32 rows, or MXFP4 blocks [rows, K/32, 16]
  const uint8_t* scales = nullptr;  // MXFP4 only: [rows, K/32]
  int64_t rows = 0;
  int64_t k = 0;
};

// Epilogue applied to each output row of a matmul.
enum Epilogue : int { kStore = 0, kSwiglu = 1 };

struct MatmulArgs {
  const float* x = nullptr;  // [T, ldx]; for MXFP4 weights x must be block-deinterleaved (see deinterleave32)
  int64_t ldx = 0;
  int64_t t = 0;
  Weight w;
  Vec bias;                  // [rows] or null
  float* out = nullptr;      // [T, ldo]; kSwiglu writes rows/2 columns
  int64_t ldo = 0;
  int epilogue = kStore;
  float swiglu_limit = 7.0f;
  float swiglu_alpha = 1.702f;
  // Always fp32 activations, even when prefill_bf16() is on: the router, whose top-k choice is discontinuous.
  bool exact = false;
};

struct RopeParams {
  float theta = 150000.f;
  float factor = 32.f;
  float ntk_alpha = 1.f;
  float ntk_beta = 32.f;
  float initial_context = 4096.f;
  int head_dim = 64;
};

// Sink attention of T query tokens of ONE sequence against its KV cache.
struct AttentionArgs {
  const float* q = nullptr;   // [T, ldq], heads of head_dim each
  int64_t ldq = 0;
  const float* k = nullptr;   // cache [S, n_kv * head_dim]
  const float* v = nullptr;
  const int32_t* positions = nullptr;  // [T] absolute position of each query (keys 0..pos are valid)
  int64_t t = 0;
  int n_heads = 0, n_kv = 0, head_dim = 0;
  int window = 0;             // 0 = full causal
  Vec sinks;                  // [n_heads]
  float sm_scale = 0.125f;
  float* out = nullptr;       // [T, ldo]
  int64_t ldo = 0;
};

// One group of tokens routed to the same expert (prefill groups many tokens, decode has one per expert).
struct ExpertGroup {
  int expert;
  int count;
  const int32_t* tokens;  // token row indices
  const float* gates;     // routing weight of each token
};

struct MoeArgs {
  const float* x = nullptr;     // [T, H] normed input (natural order)
  int64_t t = 0;
  int64_t hidden = 0, inter = 0;
  const int32_t* expert_ids = nullptr;   // [T, k]
  const float* expert_w = nullptr;       // [T, k]
  int top_k = 0;
  int n_experts = 0;
  const uint8_t* w1_blocks = nullptr; const uint8_t* w1_scales = nullptr; Vec b1;  // [E, 2I, H/32, 16], bias [E,2I]
  const uint8_t* w2_blocks = nullptr; const uint8_t* w2_scales = nullptr; Vec b2;  // [E, H, I/32, 16], bias [E,H]
  float swiglu_limit = 7.0f;
  float swiglu_alpha = 1.702f;
  float* out = nullptr;         // [T, H]; the weighted expert outputs are ADDED to it (residual)
};

struct TopkArgs {
  const float* x = nullptr;     // [T, K]
  int64_t t = 0;
  Weight w;                     // [V, K] bf16
  int k = 1;
  float* logits = nullptr;      // optional [T, V]
  int32_t* top_ids = nullptr;   // optional [T, k]
  float* top_vals = nullptr;    // optional [T, k]
};

// The kernels every ISA variant provides. Thread-parallel where it matters; callers hold no locks.
struct KernelTable {
  const char* name;
  void (*matmul)(const MatmulArgs& a);
  void (*rmsnorm)(const float* x, int64_t t, int64_t n, Vec scale, float eps, float* out);
  void (*rope)(float* x, int64_t t, int64_t ld, int n_heads, const int32_t* positions, const RopeParams& p);
  void (*attention)(const AttentionArgs& a);
  void (*moe)(const MoeArgs& a);
  void (*unembed_topk)(const TopkArgs& a);
};

// Prefill precision: false = fp32 activations (default, matches the reference to ~1e-6); true = activations rounded
// to bf16 for the many-token GEMMs only (AVX-512 BF16 dot products, twice the FLOP rate; ~1e-3 relative error).
bool prefill_bf16();
void set_prefill_bf16(bool on);
// Opt-in: MXFP4 prefill GEMMs (> 4 tokens per expert) with int8 activations (per token and 32-block, scale
// max|x| / 127) and vpdpbusd on AVX-512 VNNI (i8-gemm-avx512.h): ~5e-3 relative error per GEMM, the bf16 class.
// GPTOSS_CPU_PREFILL=int8 or set_prefill_int8(true); bf16 and int8 prefill exclude each other (one setting), but
// the int8 mode also runs the bf16-weight prefill GEMMs with bf16 activations. Variants without VNNI keep their
// default path.
bool prefill_int8();
void set_prefill_int8(bool on);
// Decode precision of the MXFP4 expert GEMVs (<= 4 tokens per expert): false = fp32-accurate (default); true =
// activations quantized to int8 per 32-block with an fp32 scale and integer dot products (AVX-512 VNNI only; the
// other variants keep the fp32 path). ~1e-3..1e-2 relative error: the runtime's bf16 tolerance class.
bool decode_int8();
void set_decode_int8(bool on);
// MXFP4 prefill GEMMs (> 4 tokens per expert) with int16 activations (per 32-block fp32 scale) and exact int16
// weights on AVX-512 VNNI: ~1e-5 relative error, the fp32 class. On by default; GPTOSS_CPU_INT16GEMM=0 turns it off.
// Variants without VNNI always use the fp32 path.
bool prefill_int16();
void set_prefill_int16(bool on);
// MXFP4 decode GEMVs (<= 4 tokens per expert) with int16 activations (per 32-block fp32 scale, split into two int8
// halves) and vpdpbusd on AVX-512 VNNI: ~1e-5 relative error, the fp32 class. On by default; GPTOSS_CPU_INT16GEMV=0
// turns it off. decode_int8() wins; variants without VNNI always use the fp32 path.
bool decode_int16();
void set_decode_int16(bool on);

const KernelTable* kernels_scalar();
const KernelTable* kernels_avx2();
const KernelTable* kernels_avx512();

// ISA-neutral helpers (scalar.cc).
void router_topk(const float* logits, int64_t t, int n_experts, int k, int32_t* ids, float* weights);
void embed_rows(const uint8_t* table_bf16, int64_t dim, const int32_t* ids, int64_t t, float* out);
void yarn_inv_freq(const RopeParams& p, float* inv_freq, float* concentration);

// Reorders each block of 32 values to [even 16, odd 16], the order in which MXFP4 bytes decode.
void deinterleave32(const float* x, int64_t n, float* out);

/**
 * The AVX-512-only kernels as never-taken stubs, for the ISA variants without AVX-512 (avx2, scalar): the shared
 * kernel code (kernels-impl.h) checks the `*_enabled()` switches and compiles the calls for every variant.
 */
struct NoAvx512Kernels {
  static bool bf16dot_enabled() { return false; }
  static bool int8_enabled() { return false; }
  static bool i16_enabled() { return false; }
  static bool i8_enabled() { return false; }
  static void i8_quantize_block(const float*, int32_t*, float*) {}
  static void i8gemm(int64_t, int64_t, const uint8_t*, const uint8_t*, int64_t, const int32_t*, const float*, float*,
                     int, const uint8_t*, int64_t) {}
  static constexpr bool kAttention8x64 = false;
  static bool i16v_enabled() { return false; }
  static void i16v_quantize(const float*, int64_t, int8_t*, float*, int32_t*) {}
  static void i16v_gemv(int64_t, const uint8_t*, const uint8_t*, int64_t, const int8_t*, const float*, const int32_t*,
                        float*) {}
  static void i16_quantize_block(const float*, int32_t*, float*) {}
  static void i16gemm(int64_t, int64_t, const uint8_t*, const uint8_t*, int64_t, const int32_t*, const float*, float*,
                      int, const uint8_t*, int64_t) {}
  static void quantize_block_q8(const float*, int8_t*, int8_t*, float*, int32_t*) {}
  static void mxfp4dot_row_q8(const uint8_t*, const uint8_t*, int64_t, const int8_t*, const float*, const int32_t*, float*) {}
  static void bf16dot(int, int, const uint8_t*, int64_t, const uint16_t*, const float* const*, float*, int) {}
  static void mxfp4dot(int, int, const uint8_t*, const uint8_t*, int64_t, const uint16_t*, const float* const*, float*,
                       int) {}
  static void bf16gemm(int, int, const uint8_t*, int64_t, const uint16_t*, const float* const*, float*, int) {}
  static void widen_block_bf16(const uint8_t*, float, uint16_t*) {}
};

}  // namespace gptoss
