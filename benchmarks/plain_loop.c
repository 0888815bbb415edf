/* The K = 1 rule as the shortest scalar C loop: the sparse layer's epoch
 * with nothing around it (no checks, no hooks, no threads), its dot with four
 * scalar partial sums (the op's dot before it became a register of AVX2
 * gathers, csrc/cpu/csr_dot.h; scikit-learn's epoch takes about this loop's
 * time). benchmarks/sparse.py compiles it at run time (cc -O3 -march=native
 * -ffp-contract=off, where a compiler is present) and times it beside the op
 * on the same CSR: what a plain loop of this rule costs, between the op and
 * the read of values and col_indices. */
#include <stdint.h>

long plain_epoch(const int32_t* crow, const int32_t* col, const float* v,
                 const float* y, long n, float* w, float* bias) {
  float b = 0;
  long mistakes = 0;
  for (long i = 0; i < n; ++i) {
    const long lo = crow[i], hi = crow[i + 1];
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    long p = lo;
    for (; p + 4 <= hi; p += 4) {
      s0 += v[p] * w[col[p]];
      s1 += v[p + 1] * w[col[p + 1]];
      s2 += v[p + 2] * w[col[p + 2]];
      s3 += v[p + 3] * w[col[p + 3]];
    }
    for (; p < hi; ++p) s0 += v[p] * w[col[p]];
    const float z = (s0 + s1) + (s2 + s3) + b;
    if ((z > 0) != (y[i] != 0)) {
      const float step = y[i] != 0 ? 1.0f : -1.0f;
      ++mistakes;
      for (p = lo; p < hi; ++p) w[col[p]] += step * v[p];
      b += step;
    }
  }
  *bias = b;
  return mistakes;
}
