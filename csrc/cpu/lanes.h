// A group of outputs as the lanes of one vector (the dense loops' SIMD
// groups, online_loop.h and multiclass_loop.h): a sample's decision values,
// thresholds and errors for kGroupRows outputs at once, so that a correct
// prediction costs a few vector instructions for all of them. Over vec.h's
// dot products and loads.
#pragma once

#include <cstdint>
#include <type_traits>

#include "vec.h"

namespace torch_perceptron::cpu {

// Rows whose decision values are computed and compared as one vector: as many
// as their two vector sums each fit in registers beside x (32 vector registers
// with AVX-512, 16 otherwise). Only speed depends on it: each row's sums are
// the same whatever rows share its group. Defining TORCH_PERCEPTRON_GROUP_ROWS
// (4 or 8), or TORCH_PERCEPTRON_NO_WIDE (no 64-byte sums), at build time
// selects the other variants, to compare their speed.
#if defined(TORCH_PERCEPTRON_GROUP_ROWS)
constexpr int kGroupRows = TORCH_PERCEPTRON_GROUP_ROWS;
#elif defined(__AVX512F__)
constexpr int kGroupRows = 8;
#else
constexpr int kGroupRows = 4;
#endif
static_assert(kGroupRows == 4 || kGroupRows == 8);

// N lanes of scalar_t, and the lane masks of comparing them.
template <typename scalar_t, int N>
struct LanesOf;
template <>
struct LanesOf<float, 4> {
  typedef float type __attribute__((vector_size(16)));
  typedef int32_t mask __attribute__((vector_size(16)));
};
template <>
struct LanesOf<double, 4> {
  typedef double type __attribute__((vector_size(32)));
  typedef int64_t mask __attribute__((vector_size(32)));
};
template <>
struct LanesOf<float, 8> {
  typedef float type __attribute__((vector_size(32)));
  typedef int32_t mask __attribute__((vector_size(32)));
};
template <>
struct LanesOf<double, 8> {
  typedef double type __attribute__((vector_size(64)));
  typedef int64_t mask __attribute__((vector_size(64)));
};

template <typename scalar_t>
using Vec4 = typename LanesOf<scalar_t, 4>::type;
// The decision values (and biases, targets, errors) of a group of rows.
template <typename scalar_t>
using Lanes = typename LanesOf<scalar_t, kGroupRows>::type;
template <typename scalar_t>
using LaneMask = typename LanesOf<scalar_t, kGroupRows>::mask;

// reduce() of four vectors at once, [reduce(a), reduce(b), reduce(c),
// reduce(d)]: the same pairwise tree for every row, so each lane is the bit
// pattern reduce() gives, in a dozen shuffles and adds instead of four
// separate horizontal sums.
[[gnu::always_inline]] inline Vec4<float> reduce4(VecOf<float>::type a, VecOf<float>::type b,
                                                  VecOf<float>::type c, VecOf<float>::type d) {
  // [lanes 0-3 + 4-7 of a, of b] and of c, d.
  const VecOf<float>::type ab = __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11) +
                                __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15);
  const VecOf<float>::type cd = __builtin_shufflevector(c, d, 0, 1, 2, 3, 8, 9, 10, 11) +
                                __builtin_shufflevector(c, d, 4, 5, 6, 7, 12, 13, 14, 15);
  // Pairs 0-1 + 2-3 of each half: [a, a, c, c, b, b, d, d].
  const VecOf<float>::type h2 = __builtin_shufflevector(ab, cd, 0, 1, 8, 9, 4, 5, 12, 13) +
                                __builtin_shufflevector(ab, cd, 2, 3, 10, 11, 6, 7, 14, 15);
  return __builtin_shufflevector(h2, h2, 0, 4, 2, 6) + __builtin_shufflevector(h2, h2, 1, 5, 3, 7);
}

[[gnu::always_inline]] inline Vec4<double> reduce4(VecOf<double>::type a, VecOf<double>::type b,
                                                   VecOf<double>::type c, VecOf<double>::type d) {
  // [lanes 0-1 + 2-3 of a, of b] and of c, d.
  const VecOf<double>::type ab =
      __builtin_shufflevector(a, b, 0, 1, 4, 5) + __builtin_shufflevector(a, b, 2, 3, 6, 7);
  const VecOf<double>::type cd =
      __builtin_shufflevector(c, d, 0, 1, 4, 5) + __builtin_shufflevector(c, d, 2, 3, 6, 7);
  return __builtin_shufflevector(ab, cd, 0, 2, 4, 6) + __builtin_shufflevector(ab, cd, 1, 3, 5, 7);
}

// The horizontal sums of the group's vectors s[0, kGroupRows), one per lane.
template <typename scalar_t>
[[gnu::always_inline]] inline Lanes<scalar_t> reduce_group(const Vec<scalar_t> (&s)[kGroupRows]) {
  if constexpr (kGroupRows == 4) {
    return reduce4(s[0], s[1], s[2], s[3]);
  } else {
    const Vec4<scalar_t> a = reduce4(s[0], s[1], s[2], s[3]);
    const Vec4<scalar_t> b = reduce4(s[4], s[5], s[6], s[7]);
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7);
  }
}

// Bit l set where lane l of m (all ones or zero) is set.
inline unsigned lane_bits(LanesOf<float, 4>::mask m) {
#if defined(__SSE__)
  return static_cast<unsigned>(__builtin_ia32_movmskps(reinterpret_cast<Vec4<float>>(m)));
#else
  unsigned bits = 0;
  for (int l = 0; l < 4; ++l) bits |= unsigned(m[l] != 0) << l;
  return bits;
#endif
}

inline unsigned lane_bits(LanesOf<double, 4>::mask m) {
#if defined(__AVX__)
  return static_cast<unsigned>(__builtin_ia32_movmskpd256(reinterpret_cast<Vec4<double>>(m)));
#else
  unsigned bits = 0;
  for (int l = 0; l < 4; ++l) bits |= unsigned(m[l] != 0) << l;
  return bits;
#endif
}

inline unsigned lane_bits(LanesOf<float, 8>::mask m) {
#if defined(__AVX__)
  return static_cast<unsigned>(
      __builtin_ia32_movmskps256(reinterpret_cast<LanesOf<float, 8>::type>(m)));
#else
  unsigned bits = 0;
  for (int l = 0; l < 8; ++l) bits |= unsigned(m[l] != 0) << l;
  return bits;
#endif
}

inline unsigned lane_bits(LanesOf<double, 8>::mask m) {
  const LanesOf<double, 4>::mask a = __builtin_shufflevector(m, m, 0, 1, 2, 3);
  const LanesOf<double, 4>::mask b = __builtin_shufflevector(m, m, 4, 5, 6, 7);
  return lane_bits(a) | lane_bits(b) << 4;
}

// Lanes [0, R) from p, zeros past them, nothing read beyond p[R - 1]: a
// masked load where the build has one. Copying R scalars into a vector on the
// stack would cost a failed store forwarding (one wide load of two narrow
// stores) on every sample.
template <int R, typename scalar_t>
[[gnu::always_inline]] inline Lanes<scalar_t> load_lanes(const scalar_t* p) {
  static_assert(R >= 1 && R <= kGroupRows);
  Lanes<scalar_t> v = {};
  if constexpr (R == kGroupRows) {
    std::memcpy(&v, p, sizeof(v));
    return v;
  }
  constexpr unsigned kMask = (1u << R) - 1;
#if defined(__AVX512F__) && defined(__AVX512VL__)
  if constexpr (kGroupRows == 8 && std::is_same_v<scalar_t, float>) {
    return _mm256_maskz_loadu_ps(static_cast<__mmask8>(kMask), p);
  } else if constexpr (kGroupRows == 8) {
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>(kMask), p);
  } else if constexpr (std::is_same_v<scalar_t, float>) {
    return _mm_maskz_loadu_ps(static_cast<__mmask8>(kMask), p);
  } else {
    return _mm256_maskz_loadu_pd(static_cast<__mmask8>(kMask), p);
  }
#else
  (void)kMask;
  std::memcpy(&v, p, R * sizeof(scalar_t));
  return v;
#endif
}

// The dots of x with R <= kGroupRows PaddedRows rows, as lanes [0, R) of one
// vector (zeros past R): each lane the bits reduce() gives that row.
template <int R, typename scalar_t>
[[gnu::always_inline]] inline Lanes<scalar_t> dots_group(const scalar_t* __restrict w,
                                                         int64_t stride,
                                                         const scalar_t* __restrict x, int64_t n) {
  static_assert(R >= 1 && R <= kGroupRows);
  Vec<scalar_t> even[R] = {}, odd[R] = {};
#if defined(TORCH_PERCEPTRON_WIDE_SUMS)
  accumulate_wide<R>(w, stride, x, n, even, odd);
#else
  accumulate<R>(w, stride, x, n, even, odd);
#endif
  if constexpr (R == 1) {
    return Lanes<scalar_t>{reduce(even[0] + odd[0])};
  } else if constexpr (kGroupRows == 8 && R <= 5) {
    // Lanes 4 and up are (mostly) empty: no second tree of four.
    Vec<scalar_t> s[4] = {};
    for (int r = 0; r < std::min(R, 4); ++r) s[r] = even[r] + odd[r];
    Vec4<scalar_t> high = {};
    if constexpr (R == 5) high[0] = reduce(even[4] + odd[4]);
    return __builtin_shufflevector(reduce4(s[0], s[1], s[2], s[3]), high, 0, 1, 2, 3, 4, 5, 6, 7);
  } else {
    Vec<scalar_t> s[kGroupRows] = {};
    for (int r = 0; r < R; ++r) s[r] = even[r] + odd[r];
    return reduce_group<scalar_t>(s);
  }
}

// Calls f(std::integral_constant<int, R>{}) for the runtime rows in
// [1, kGroupRows]: one instance of a group's body per group size, inlined
// into the loop. The hot helpers are always_inline: a call per sample passes
// the group's vectors through memory, and GCC's heuristics left some of them
// out of line in the extension, which measurably lengthened the epoch
// (BENCHMARKS.md, "Figures moved out of code comments").
template <typename F>
[[gnu::always_inline]] inline decltype(auto) with_rows(int64_t rows, F&& f) {
  using std::integral_constant;
  if constexpr (kGroupRows == 8) {
    switch (rows) {
      case 1: return f(integral_constant<int, 1>{});
      case 2: return f(integral_constant<int, 2>{});
      case 3: return f(integral_constant<int, 3>{});
      case 4: return f(integral_constant<int, 4>{});
      case 5: return f(integral_constant<int, 5>{});
      case 6: return f(integral_constant<int, 6>{});
      case 7: return f(integral_constant<int, 7>{});
      default: return f(integral_constant<int, 8>{});
    }
  } else {
    switch (rows) {
      case 1: return f(integral_constant<int, 1>{});
      case 2: return f(integral_constant<int, 2>{});
      case 3: return f(integral_constant<int, 3>{});
      default: return f(integral_constant<int, 4>{});
    }
  }
}

}  // namespace torch_perceptron::cpu
