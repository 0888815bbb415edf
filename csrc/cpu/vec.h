// The two inner loops of every CPU rule, written so GCC vectorises them.
#pragma once

#include <cstdint>

namespace torch_perceptron::cpu {

// x . w with 64 bytes of independent partial sums: one running sum is a chain of
// dependent adds that the compiler must not reorder (no -ffast-math), while
// independent lanes become SIMD registers and hide the add latency.
template <typename scalar_t>
inline scalar_t dot(const scalar_t* __restrict a, const scalar_t* __restrict b,
                    int64_t n) {
  constexpr int kLanes = 64 / sizeof(scalar_t);
  scalar_t acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int u = 0; u < kLanes; ++u) acc[u] += a[j + u] * b[j + u];
  }
  scalar_t tail = 0;
  for (; j < n; ++j) tail += a[j] * b[j];
  for (int width = kLanes / 2; width > 0; width /= 2) {
    for (int u = 0; u < width; ++u) acc[u] += acc[u + width];
  }
  return acc[0] + tail;
}

// w += step * x, rounded as the textbook rule writes it (a product, then a sum:
// the extension is built with -ffp-contract=off so no FMA fuses the two).
template <typename scalar_t>
inline void axpy(scalar_t* __restrict w, const scalar_t* __restrict x,
                 scalar_t step, int64_t n) {
  for (int64_t j = 0; j < n; ++j) w[j] += step * x[j];
}

}  // namespace torch_perceptron::cpu
