// The two inner loops of every CPU rule: the dot product and the update.
//
// Written with GCC/Clang vector extensions rather than intrinsics: the compiler
// maps a 32-byte vector onto whatever SIMD the build targets (one AVX register,
// two SSE registers), and the order of every addition is fixed by this code, so
// a result does not depend on the ISA or on how many rows are dotted at once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

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

// acc + a * b. Fused where the build targets FMA: a dot product's rounding is
// already its own (its order differs from the reference's), and one
// instruction instead of two is what the inner loop is bound by. The update
// (axpy) stays unfused, rounding exactly like the textbook rule.
inline VecOf<float>::type madd(VecOf<float>::type acc, VecOf<float>::type a,
                               VecOf<float>::type b) {
#if defined(__FMA__)
  return __builtin_ia32_vfmaddps256(a, b, acc);
#else
  return acc + a * b;
#endif
}

inline VecOf<double>::type madd(VecOf<double>::type acc,
                                VecOf<double>::type a, VecOf<double>::type b) {
#if defined(__FMA__)
  return __builtin_ia32_vfmaddpd256(a, b, acc);
#else
  return acc + a * b;
#endif
}

// The last n_tail (< L) elements as a vector with zeros past the end, read
// without touching memory beyond p[n_tail - 1]: AVX's masked load where the
// build has it, a copy otherwise.
inline VecOf<float>::type load_tail(const float* p, int64_t n_tail) {
#if defined(__AVX__)
  typedef int32_t Mask __attribute__((vector_size(32)));
  const Mask lane = {0, 1, 2, 3, 4, 5, 6, 7};
  const Mask mask = lane < static_cast<int32_t>(n_tail);
  return __builtin_ia32_maskloadps256(
      reinterpret_cast<const VecOf<float>::type*>(p), mask);
#else
  VecOf<float>::type v = {};
  std::memcpy(&v, p, n_tail * sizeof(float));
  return v;
#endif
}

inline VecOf<double>::type load_tail(const double* p, int64_t n_tail) {
#if defined(__AVX__)
  typedef long long Mask __attribute__((vector_size(32)));
  const Mask lane = {0, 1, 2, 3};
  const Mask mask = lane < static_cast<long long>(n_tail);
  return __builtin_ia32_maskloadpd256(
      reinterpret_cast<const VecOf<double>::type*>(p), mask);
#else
  VecOf<double>::type v = {};
  std::memcpy(&v, p, n_tail * sizeof(double));
  return v;
#endif
}

// The dot products of one sample x with R weight rows w[r * stride ...],
// before their horizontal sums: x is loaded once for all R rows. Each row
// keeps two independent vector sums (even and odd vectors) so consecutive adds
// do not wait on each other; a single running sum would be a chain the
// compiler may not reorder without -ffast-math. The order of additions is the
// same for every R, so every R gives each row the same bits. kPaddedW: the
// rows of w are PaddedRows (zeros past n up to a whole vector), so the tail
// reads w as a whole vector; the padding times the zeros of x's masked tail
// adds +0, exactly what a masked load of w adds.
template <int R, bool kPaddedW, typename scalar_t>
inline void accumulate(const scalar_t* __restrict w, int64_t stride,
                       const scalar_t* __restrict x, int64_t n,
                       Vec<scalar_t> (&even)[R], Vec<scalar_t> (&odd)[R]) {
  constexpr int L = kLanes<scalar_t>;
  int64_t j = 0;
  for (; j + 2 * L <= n; j += 2 * L) {
    const Vec<scalar_t> x0 = load(x + j), x1 = load(x + j + L);
    for (int r = 0; r < R; ++r) {
      even[r] = madd(even[r], load(w + r * stride + j), x0);
      odd[r] = madd(odd[r], load(w + r * stride + j + L), x1);
    }
  }
  if (j + L <= n) {
    const Vec<scalar_t> x0 = load(x + j);
    for (int r = 0; r < R; ++r) {
      even[r] = madd(even[r], load(w + r * stride + j), x0);
    }
    j += L;
  }
  if (j < n) {
    const Vec<scalar_t> xt = load_tail(x + j, n - j);
    for (int r = 0; r < R; ++r) {
      const scalar_t* wt = w + r * stride + j;
      odd[r] = madd(odd[r], kPaddedW ? load(wt) : load_tail(wt, n - j), xt);
    }
  }
}

// The dots of one sample x with R weight rows, one horizontal sum per row.
template <int R, typename scalar_t>
inline void dots(const scalar_t* __restrict w, int64_t stride,
                 const scalar_t* __restrict x, int64_t n, scalar_t* out) {
  Vec<scalar_t> even[R] = {}, odd[R] = {};
  accumulate<R, false>(w, stride, x, n, even, odd);
  for (int r = 0; r < R; ++r) out[r] = reduce(even[r] + odd[r]);
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

// Four lanes of scalar_t, for the four decision values of a group of rows.
template <typename scalar_t>
struct Vec4Of;
template <>
struct Vec4Of<float> {
  typedef float type __attribute__((vector_size(16)));
  typedef int32_t mask __attribute__((vector_size(16)));
};
template <>
struct Vec4Of<double> {
  typedef double type __attribute__((vector_size(32)));
  typedef int64_t mask __attribute__((vector_size(32)));
};

template <typename scalar_t>
using Vec4 = typename Vec4Of<scalar_t>::type;
template <typename scalar_t>
using Mask4 = typename Vec4Of<scalar_t>::mask;

// reduce() of four vectors at once, [reduce(a), reduce(b), reduce(c),
// reduce(d)]: the same pairwise tree for every row, so each lane is the bit
// pattern reduce() gives, in a dozen shuffles and adds instead of four
// separate horizontal sums.
inline Vec4<float> reduce4(VecOf<float>::type a, VecOf<float>::type b,
                           VecOf<float>::type c, VecOf<float>::type d) {
  // [lanes 0-3 + 4-7 of a, of b] and of c, d.
  const VecOf<float>::type ab =
      __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11) +
      __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15);
  const VecOf<float>::type cd =
      __builtin_shufflevector(c, d, 0, 1, 2, 3, 8, 9, 10, 11) +
      __builtin_shufflevector(c, d, 4, 5, 6, 7, 12, 13, 14, 15);
  // Pairs 0-1 + 2-3 of each half: [a, a, c, c, b, b, d, d].
  const VecOf<float>::type h2 =
      __builtin_shufflevector(ab, cd, 0, 1, 8, 9, 4, 5, 12, 13) +
      __builtin_shufflevector(ab, cd, 2, 3, 10, 11, 6, 7, 14, 15);
  return __builtin_shufflevector(h2, h2, 0, 4, 2, 6) +
         __builtin_shufflevector(h2, h2, 1, 5, 3, 7);
}

inline Vec4<double> reduce4(VecOf<double>::type a, VecOf<double>::type b,
                            VecOf<double>::type c, VecOf<double>::type d) {
  // [lanes 0-1 + 2-3 of a, of b] and of c, d.
  const VecOf<double>::type ab = __builtin_shufflevector(a, b, 0, 1, 4, 5) +
                                 __builtin_shufflevector(a, b, 2, 3, 6, 7);
  const VecOf<double>::type cd = __builtin_shufflevector(c, d, 0, 1, 4, 5) +
                                 __builtin_shufflevector(c, d, 2, 3, 6, 7);
  return __builtin_shufflevector(ab, cd, 0, 2, 4, 6) +
         __builtin_shufflevector(ab, cd, 1, 3, 5, 7);
}

// Bit l set where lane l of m (all ones or zero) is set.
inline unsigned lane_bits(Mask4<float> m) {
#if defined(__SSE__)
  return static_cast<unsigned>(
      __builtin_ia32_movmskps(reinterpret_cast<Vec4<float>>(m)));
#else
  unsigned bits = 0;
  for (int l = 0; l < 4; ++l) bits |= unsigned(m[l] != 0) << l;
  return bits;
#endif
}

inline unsigned lane_bits(Mask4<double> m) {
#if defined(__AVX__)
  return static_cast<unsigned>(
      __builtin_ia32_movmskpd256(reinterpret_cast<Vec4<double>>(m)));
#else
  unsigned bits = 0;
  for (int l = 0; l < 4; ++l) bits |= unsigned(m[l] != 0) << l;
  return bits;
#endif
}

// The dots of x with R <= 4 PaddedRows rows, as lanes [0, R) of one vector
// (zeros past R): each lane the bits dots<R> gives that row.
template <int R, typename scalar_t>
inline Vec4<scalar_t> dots4(const scalar_t* __restrict w, int64_t stride,
                            const scalar_t* __restrict x, int64_t n) {
  static_assert(R >= 1 && R <= 4);
  Vec<scalar_t> even[R] = {}, odd[R] = {};
  accumulate<R, true>(w, stride, x, n, even, odd);
  if constexpr (R == 1) {
    return Vec4<scalar_t>{reduce(even[0] + odd[0]), 0, 0, 0};
  } else {
    Vec<scalar_t> s[4] = {};
    for (int r = 0; r < R; ++r) s[r] = even[r] + odd[r];
    return reduce4(s[0], s[1], s[2], s[3]);
  }
}

// Asks for the cache lines of [p, p + bytes) ahead of use. The hardware
// prefetcher alone leaves a one-row-at-a-time stream (a dot, then a branch on
// it) waiting on memory; a few KiB of lead brings it to the speed of a plain
// read of x.
inline void prefetch(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off);
}

constexpr int64_t kPrefetchBytes = 6 * 1024;

// Prefetches the bytes of one row, kPrefetchBytes past row `i`, never past the
// end of x.
template <typename scalar_t>
inline void prefetch_row_ahead(const scalar_t* x, int64_t i, int64_t n,
                               int64_t in) {
  const int64_t row = in * static_cast<int64_t>(sizeof(scalar_t));
  const int64_t start = i * row + kPrefetchBytes;
  const int64_t end = n * row;
  if (start < end) {
    prefetch(reinterpret_cast<const char*>(x) + start,
             std::min(row, end - start));
  }
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

// axpy on a PaddedRows row: whole vectors only, the tail of x read masked, so
// the padding stays +0 (0 + step * 0). Each real element rounds as in axpy.
template <typename scalar_t>
inline void axpy_padded(scalar_t* __restrict w, const scalar_t* __restrict x,
                        scalar_t step, int64_t n) {
  constexpr int L = kLanes<scalar_t>;
  int64_t j = 0;
  for (; j + L <= n; j += L) store(w + j, load(w + j) + step * load(x + j));
  if (j < n) store(w + j, load(w + j) + step * load_tail(x + j, n - j));
}

// A thread's working copy of some weight rows: each row starts on a cache line
// and is padded with zeros to whole cache lines. The caller's rows are 4 *
// in bytes apart, so most vector loads of them straddle two lines, and the
// scalar tail of an update is then read back by the next dot as one vector,
// which store forwarding cannot serve (the load waits for the stores to
// retire), once per mistake; rows that two threads write may share a line.
// Here every vector of a row sits in one line, the update writes whole
// vectors, and no line holds two threads' rows.
template <typename scalar_t>
class PaddedRows {
 public:
  static constexpr int64_t kAlign = 64;

  PaddedRows(int64_t rows, int64_t n)
      : stride_((n * static_cast<int64_t>(sizeof(scalar_t)) + kAlign - 1) /
                kAlign * kAlign / static_cast<int64_t>(sizeof(scalar_t))),
        data_(static_cast<scalar_t*>(std::aligned_alloc(
            kAlign, std::max<int64_t>(rows * stride_ * sizeof(scalar_t),
                                      kAlign)))) {
    if (data_ == nullptr) throw std::bad_alloc();
    std::memset(data_.get(), 0, rows * stride_ * sizeof(scalar_t));
  }

  int64_t stride() const { return stride_; }
  scalar_t* row(int64_t r) { return data_.get() + r * stride_; }

  // Rows [0, rows) from / to `src` rows of n elements, `src_stride` apart.
  void load_from(const scalar_t* src, int64_t src_stride, int64_t rows,
                 int64_t n) {
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(row(r), src + r * src_stride, n * sizeof(scalar_t));
    }
  }
  void store_to(scalar_t* dst, int64_t dst_stride, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(dst + r * dst_stride, row(r), n * sizeof(scalar_t));
    }
  }

 private:
  struct Free {
    void operator()(scalar_t* p) const { std::free(p); }
  };
  int64_t stride_;
  std::unique_ptr<scalar_t, Free> data_;
};

}  // namespace torch_perceptron::cpu
