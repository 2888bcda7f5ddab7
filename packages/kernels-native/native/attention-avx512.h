// AVX-512 pieces of sink attention (kernels-impl.h attention()), for gpt-oss's shape: per KV head 8 query heads of
// 64 values. Included inside namespace gptoss::isa_avx512 by isa-avx512.cc.

namespace attn {

// out[h] = q_h . k for 8 heads q [8][64] and one key row k [64]. Each head's 64 products are 4 FMAs into one
// vector; the 8 vectors are then summed together by a transpose tree (halves, quarters, pairs, lanes: 21 shuffles
// and adds for all 8 instead of 8 full horizontal sums).
inline void dot8x64(const float* q, const float* k, float* out) {
  const __m512 k0 = _mm512_loadu_ps(k), k1 = _mm512_loadu_ps(k + 16), k2 = _mm512_loadu_ps(k + 32), k3 = _mm512_loadu_ps(k + 48);
  __m512 a[8];
  for (int h = 0; h < 8; h++) {
    const float* qh = q + 64 * h;
    __m512 s = _mm512_mul_ps(_mm512_loadu_ps(qh), k0);
    s = _mm512_fmadd_ps(_mm512_loadu_ps(qh + 16), k1, s);
    s = _mm512_fmadd_ps(_mm512_loadu_ps(qh + 32), k2, s);
    a[h] = _mm512_fmadd_ps(_mm512_loadu_ps(qh + 48), k3, s);
  }
  // 256-bit halves: b[i] lanes 0-7 = head 2i, lanes 8-15 = head 2i + 1 (8 partial sums each).
  __m512 b[4];
  for (int i = 0; i < 4; i++)
    b[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0x44), _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0xEE));
  // 128-bit quarters: c[i] = heads 4i, 4i+1, 4i+2, 4i+3, 4 partial sums each (one 128-bit lane per head).
  __m512 c[2];
  for (int i = 0; i < 2; i++)
    c[i] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0x88), _mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0xDD));
  // Pairs within each 128-bit lane: lane l holds [c0 head l: 2 partials, c1 head l + 4: 2 partials].
  const __m512 d = _mm512_add_ps(_mm512_shuffle_ps(c[0], c[1], 0x44), _mm512_shuffle_ps(c[0], c[1], 0xEE));
  // Adjacent lanes: element 4l holds head l (from c0), element 4l + 2 head l + 4 (from c1).
  const __m512 e = _mm512_add_ps(d, _mm512_shuffle_ps(d, d, 0xB1));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 2, 6, 10, 14, 0, 0, 0, 0, 0, 0, 0, 0);
  _mm256_storeu_ps(out, _mm512_castps512_ps256(_mm512_permutexvar_ps(order, e)));
}

// e^x for x <= 0 (softmax after subtracting the maximum), ~1 ulp: Cody-Waite reduction x = n ln2 + r with
// |r| <= ln2 / 2, Cephes' degree-6 polynomial for e^r, then scalef by 2^n (which also underflows to 0 correctly).
inline __m512 exp_nonpositive(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.f));  // e^-104 is 0 in fp32; keeps n in range (and -inf finite)
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.f));
  return _mm512_scalef_ps(y, n);
}

// s[j] = e^(s[j] - m) for the first multiple of 16 of n entries; returns their sum and sets *done to that count.
inline float exp_shifted(float* s, int64_t n, float m, int64_t* done) {
  const __m512 mv = _mm512_set1_ps(m);
  __m512 z = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(s + j), mv));
    _mm512_storeu_ps(s + j, e);
    z = _mm512_add_ps(z, e);
  }
  *done = j;
  return _mm512_reduce_add_ps(z);
}

}  // namespace attn
