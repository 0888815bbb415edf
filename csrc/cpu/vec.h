// The two inner loops of every CPU rule: the dot product and the update.
//
// Written with GCC/Clang vector extensions rather than intrinsics: the compiler
// maps a 32-byte vector onto whatever SIMD the build targets (one AVX register,
// two SSE registers), and the order of every addition is fixed by this code, so
// a result does not depend on the ISA or on how many rows are dotted at once.
#pragma once

#include <cstdint>
#include <cstring>

static_assert(sizeof(float) == 4 && sizeof(double) == 8);

namespace torch_perceptron::cpu {

// GCC ignores vector_size on a dependent type, so each dtype is spelled out.
template <typename scalar_t>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(32)));
};

template <typename scalar_t>
using Vec = typename VecOf<scalar_t>::type;

template <typename scalar_t>
constexpr int kLanes = 32 / sizeof(scalar_t);

template <typename scalar_t>
inline Vec<scalar_t> load(const scalar_t* p) {
  Vec<scalar_t> v;
  std::memcpy(&v, p, sizeof(v));  // an unaligned vector load
  return v;
}

template <typename scalar_t>
inline void store(scalar_t* p, Vec<scalar_t> v) {
  std::memcpy(p, &v, sizeof(v));
}

// Adds the lanes pairwise: lanes [0, L/2) + [L/2, L), and so on down to one,
// with register shuffles (a store and lane-wise reloads would stall on store
// forwarding, once per dot).
inline float reduce(VecOf<float>::type v) {
  typedef float V4 __attribute__((vector_size(16)));
  typedef float V2 __attribute__((vector_size(8)));
  const V4 h4 = __builtin_shufflevector(v, v, 0, 1, 2, 3) +
                __builtin_shufflevector(v, v, 4, 5, 6, 7);
  const V2 h2 = __builtin_shufflevector(h4, h4, 0, 1) +
                __builtin_shufflevector(h4, h4, 2, 3);
  return h2[0] + h2[1];
}

inline double reduce(VecOf<double>::type v) {
  typedef double V2 __attribute__((vector_size(16)));
  const V2 h2 = __builtin_shufflevector(v, v, 0, 1) +
                __builtin_shufflevector(v, v, 2, 3);
  return h2[0] + h2[1];
}

// The dots of one sample x with R weight rows w[r * stride ...], x loaded once
// for all R rows. Each row keeps two independent vector sums (even and odd
// vectors) so consecutive adds do not wait on each other; a single running sum
// would be a chain the compiler may not reorder without -ffast-math.
// The order of additions is the same for every R, so dots<R> and dots<1> agree
// bit for bit.
template <int R, typename scalar_t>
inline void dots(const scalar_t* __restrict w, int64_t stride,
                 const scalar_t* __restrict x, int64_t n, scalar_t* out) {
  constexpr int L = kLanes<scalar_t>;
  Vec<scalar_t> even[R] = {}, odd[R] = {};
  int64_t j = 0;
  for (; j + 2 * L <= n; j += 2 * L) {
    const Vec<scalar_t> x0 = load(x + j), x1 = load(x + j + L);
    for (int r = 0; r < R; ++r) {
      even[r] += load(w + r * stride + j) * x0;
      odd[r] += load(w + r * stride + j + L) * x1;
    }
  }
  if (j + L <= n) {
    const Vec<scalar_t> x0 = load(x + j);
    for (int r = 0; r < R; ++r) even[r] += load(w + r * stride + j) * x0;
    j += L;
  }
  for (int r = 0; r < R; ++r) {
    scalar_t tail = 0;
    for (int64_t t = j; t < n; ++t) tail += w[r * stride + t] * x[t];
    out[r] = reduce(even[r] + odd[r]) + tail;
  }
}

// The dots of x with `rows` consecutive weight rows, four at a time.
template <typename scalar_t>
inline void dots(const scalar_t* w, int64_t stride, const scalar_t* x,
                 int64_t n, int64_t rows, scalar_t* out) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) dots<4>(w + r * stride, stride, x, n, out + r);
  for (; r + 2 <= rows; r += 2) dots<2>(w + r * stride, stride, x, n, out + r);
  if (r < rows) dots<1>(w + r * stride, stride, x, n, out + r);
}

// w += step * x, rounded as the textbook rule writes it: a product, then a sum
// (the extension is built with -ffp-contract=off, so no FMA fuses the two).
template <typename scalar_t>
inline void axpy(scalar_t* __restrict w, const scalar_t* __restrict x,
                 scalar_t step, int64_t n) {
  constexpr int L = kLanes<scalar_t>;
  int64_t j = 0;
  for (; j + L <= n; j += L) store(w + j, load(w + j) + step * load(x + j));
  for (; j < n; ++j) w[j] += step * x[j];
}

}  // namespace torch_perceptron::cpu
