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
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

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
  const V4 h4 =
      __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
  const V2 h2 = __builtin_shufflevector(h4, h4, 0, 1) + __builtin_shufflevector(h4, h4, 2, 3);
  return h2[0] + h2[1];
}

inline double reduce(VecOf<double>::type v) {
  typedef double V2 __attribute__((vector_size(16)));
  const V2 h2 = __builtin_shufflevector(v, v, 0, 1) + __builtin_shufflevector(v, v, 2, 3);
  return h2[0] + h2[1];
}

// acc + a * b. Fused where the build targets FMA: a dot product's rounding is
// already its own (its order differs from the reference's), and one
// instruction instead of two is what the inner loop is bound by. The update
// (axpy) stays unfused, rounding exactly like the textbook rule.
inline VecOf<float>::type madd(VecOf<float>::type acc, VecOf<float>::type a, VecOf<float>::type b) {
#if defined(__FMA__)
  return __builtin_ia32_vfmaddps256(a, b, acc);
#else
  return acc + a * b;
#endif
}

inline VecOf<double>::type madd(VecOf<double>::type acc, VecOf<double>::type a,
                                VecOf<double>::type b) {
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
  return __builtin_ia32_maskloadps256(reinterpret_cast<const VecOf<float>::type*>(p), mask);
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
  return __builtin_ia32_maskloadpd256(reinterpret_cast<const VecOf<double>::type*>(p), mask);
#else
  VecOf<double>::type v = {};
  std::memcpy(&v, p, n_tail * sizeof(double));
  return v;
#endif
}

// Stores the first n_tail (< L) lanes of v at p, touching nothing beyond
// p[n_tail - 1] (load_tail's counterpart).
inline void store_tail(float* p, VecOf<float>::type v, int64_t n_tail) {
#if defined(__AVX__)
  typedef int32_t Mask __attribute__((vector_size(32)));
  const Mask lane = {0, 1, 2, 3, 4, 5, 6, 7};
  const Mask mask = lane < static_cast<int32_t>(n_tail);
  __builtin_ia32_maskstoreps256(reinterpret_cast<VecOf<float>::type*>(p), mask, v);
#else
  std::memcpy(p, &v, n_tail * sizeof(float));
#endif
}

inline void store_tail(double* p, VecOf<double>::type v, int64_t n_tail) {
#if defined(__AVX__)
  typedef long long Mask __attribute__((vector_size(32)));
  const Mask lane = {0, 1, 2, 3};
  const Mask mask = lane < static_cast<long long>(n_tail);
  __builtin_ia32_maskstorepd256(reinterpret_cast<VecOf<double>::type*>(p), mask, v);
#else
  std::memcpy(p, &v, n_tail * sizeof(double));
#endif
}

// The dot products of one sample x with R PaddedRows rows w[r * stride ...],
// before their horizontal sums: x is loaded once for all R rows. Each row
// keeps two independent vector sums (even and odd vectors) so consecutive adds
// do not wait on each other; a single running sum would be a chain the
// compiler may not reorder without -ffast-math. The order of additions is the
// same for every R, so every R gives each row the same bits. The rows are
// padded with zeros to a whole vector, so the tail reads w as a whole vector;
// the padding times the zeros of x's masked tail adds +0, exactly what a
// masked load of w adds.
template <int R, typename scalar_t>
[[gnu::always_inline]] inline void accumulate(const scalar_t* __restrict w, int64_t stride,
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
    for (int r = 0; r < R; ++r) { even[r] = madd(even[r], load(w + r * stride + j), x0); }
    j += L;
  }
  if (j < n) {
    const Vec<scalar_t> xt = load_tail(x + j, n - j);
    for (int r = 0; r < R; ++r) { odd[r] = madd(odd[r], load(w + r * stride + j), xt); }
  }
}

#if defined(__AVX512F__) && !defined(TORCH_PERCEPTRON_NO_WIDE)
#define TORCH_PERCEPTRON_WIDE_SUMS 1
// With AVX-512 a row's two vector sums sit side by side in one 64-byte
// register, [even | odd], so that a step over 2 L elements is one load and
// one fused multiply-add per row instead of two. Every lane sees exactly the
// additions of accumulate (a last lone vector goes to the even half, a shorter
// tail to the odd half), so the bits are the same.
template <typename scalar_t>
struct WideOf;
template <>
struct WideOf<float> {
  typedef float type __attribute__((vector_size(64)));
};
template <>
struct WideOf<double> {
  typedef double type __attribute__((vector_size(64)));
};
template <typename scalar_t>
using Wide = typename WideOf<scalar_t>::type;

template <typename scalar_t>
inline Wide<scalar_t> load_wide(const scalar_t* p) {
  Wide<scalar_t> v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <typename scalar_t>
inline void store_wide(scalar_t* p, Wide<scalar_t> v) {
  std::memcpy(p, &v, sizeof(v));
}
// The first n_tail (< 2 L) elements, zeros past them, nothing read beyond.
inline Wide<float> load_wide_tail(const float* p, int64_t n_tail) {
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n_tail) - 1), p);
}
inline Wide<double> load_wide_tail(const double* p, int64_t n_tail) {
  return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << n_tail) - 1), p);
}
inline Wide<float> madd(Wide<float> acc, Wide<float> a, Wide<float> b) {
  return _mm512_fmadd_ps(a, b, acc);
}
inline Wide<double> madd(Wide<double> acc, Wide<double> a, Wide<double> b) {
  return _mm512_fmadd_pd(a, b, acc);
}
inline VecOf<float>::type lo(Wide<float> v) {
  return __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
}
inline VecOf<float>::type hi(Wide<float> v) {
  return __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
}
inline VecOf<double>::type lo(Wide<double> v) { return __builtin_shufflevector(v, v, 0, 1, 2, 3); }
inline VecOf<double>::type hi(Wide<double> v) { return __builtin_shufflevector(v, v, 4, 5, 6, 7); }

template <int R, typename scalar_t>
[[gnu::always_inline]] inline void accumulate_wide(const scalar_t* __restrict w, int64_t stride,
                                                   const scalar_t* __restrict x, int64_t n,
                                                   Vec<scalar_t> (&even)[R],
                                                   Vec<scalar_t> (&odd)[R]) {
  constexpr int L = kLanes<scalar_t>;
  Wide<scalar_t> acc[R] = {};
  int64_t j = 0;
  for (; j + 2 * L <= n; j += 2 * L) {
    const Wide<scalar_t> xv = load_wide(x + j);
    for (int r = 0; r < R; ++r) { acc[r] = madd(acc[r], load_wide(w + r * stride + j), xv); }
  }
  const int64_t rest = n - j;
  if (rest > L) {
    const Wide<scalar_t> xv = load_wide_tail(x + j, rest);
    for (int r = 0; r < R; ++r) { acc[r] = madd(acc[r], load_wide(w + r * stride + j), xv); }
  }
  for (int r = 0; r < R; ++r) {
    even[r] = lo(acc[r]);
    odd[r] = hi(acc[r]);
  }
  if (rest == L) {
    const Vec<scalar_t> xv = load(x + j);
    for (int r = 0; r < R; ++r) { even[r] = madd(even[r], load(w + r * stride + j), xv); }
  } else if (rest > 0 && rest < L) {
    const Vec<scalar_t> xt = load_tail(x + j, rest);
    for (int r = 0; r < R; ++r) { odd[r] = madd(odd[r], load(w + r * stride + j), xt); }
  }
}
#endif

// Asks for the cache lines of [p, p + bytes) ahead of use. The hardware
// prefetcher alone leaves a one-row-at-a-time stream (a dot, then a branch on
// it) waiting on memory; a few KiB of lead brings it to the speed of a plain
// read of x.
inline void prefetch_line(const void* p) {
  __builtin_prefetch(p);
  // GCC treats a prefetch as free of side effects and deletes a loop of
  // nothing but prefetches as dead code (-O2 and up): this empty statement
  // with a side effect keeps the loop, and costs nothing.
  asm volatile("" : : "r"(p));
}

inline void prefetch(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t off = 0; off < bytes; off += 64) prefetch_line(c + off);
}

constexpr int64_t kPrefetchBytes = 6 * 1024;

// Prefetches the bytes of one row, kPrefetchBytes past row `i`, never past the
// end of x.
template <typename scalar_t>
inline void prefetch_row_ahead(const scalar_t* x, int64_t i, int64_t n, int64_t in) {
  const int64_t row = in * static_cast<int64_t>(sizeof(scalar_t));
  const int64_t start = i * row + kPrefetchBytes;
  const int64_t end = n * row;
  if (start < end) {
    prefetch(reinterpret_cast<const char*>(x) + start, std::min(row, end - start));
  }
}

// prefetch_row_ahead for visits through an order (online_loop.h): the row
// about kPrefetchBytes of rows ahead in the order, all of it, as the rows
// come in no order the hardware prefetcher could follow.
template <typename scalar_t>
inline void prefetch_ordered_row(const scalar_t* x, const int64_t* order, int64_t i, int64_t n,
                                 int64_t in) {
  const int64_t row = in * static_cast<int64_t>(sizeof(scalar_t));
  const int64_t ahead = std::max<int64_t>(1, kPrefetchBytes / std::max<int64_t>(row, 1));
  if (i + ahead < n) prefetch(x + order[i + ahead] * in, row);
}

// w += step * x, rounded as the textbook rule writes it: a product, then a sum
// (the extension is built with -ffp-contract=off, so no FMA fuses the two).
template <typename scalar_t>
inline void axpy(scalar_t* __restrict w, const scalar_t* __restrict x, scalar_t step, int64_t n) {
  constexpr int L = kLanes<scalar_t>;
  int64_t j = 0;
  for (; j + L <= n; j += L) store(w + j, load(w + j) + step * load(x + j));
  for (; j < n; ++j) w[j] += step * x[j];
}

// axpy on a PaddedRows row: whole vectors only, the tail of x read masked, so
// the padding stays +0 (0 + step * 0). Each real element rounds as in axpy.
// The stores have the widths and offsets of the dot's loads of the row
// (accumulate, accumulate_wide), so the next dot reads each of them straight
// from the store it needs: a load that spans two stores waits until they
// reach the cache, once per mistake.
template <typename scalar_t>
[[gnu::always_inline]] inline void axpy_padded(scalar_t* __restrict w, const scalar_t* __restrict x,
                                               scalar_t step, int64_t n) {
  constexpr int L = kLanes<scalar_t>;
  int64_t j = 0;
#if defined(TORCH_PERCEPTRON_WIDE_SUMS)
  for (; j + 2 * L <= n; j += 2 * L) {
    store_wide(w + j, load_wide(w + j) + step * load_wide(x + j));
  }
  if (n - j > L) {
    store_wide(w + j, load_wide(w + j) + step * load_wide_tail(x + j, n - j));
    return;
  }
#endif
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
      : stride_((n * static_cast<int64_t>(sizeof(scalar_t)) + kAlign - 1) / kAlign * kAlign /
                static_cast<int64_t>(sizeof(scalar_t))),
        data_(static_cast<scalar_t*>(std::aligned_alloc(
            kAlign, std::max<int64_t>(rows * stride_ * sizeof(scalar_t), kAlign)))) {
    if (data_ == nullptr) throw std::bad_alloc();
    std::memset(data_.get(), 0, rows * stride_ * sizeof(scalar_t));
  }

  int64_t stride() const { return stride_; }
  scalar_t* row(int64_t r) { return data_.get() + r * stride_; }
  const scalar_t* row(int64_t r) const { return data_.get() + r * stride_; }

  // Rows [0, rows) from / to `src` rows of n elements, `src_stride` apart.
  void load_from(const scalar_t* src, int64_t src_stride, int64_t rows, int64_t n) {
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
