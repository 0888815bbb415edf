// What the CPU's CSR loops share beside the rows (csr_dot.h): the online
// rule's arguments, the buffers and
// copies of the feature-major layout, [in][K], that the one-vs-rest and
// multiclass loops use to serve many outputs with one gather per non-zero
// (csr_online_loop.h, csr_multiclass_loop.h), and the bounds of that path.
#pragma once

#include <sys/mman.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "../csr_rows.h"
#include "../online_step.h"
#include "vec.h"

namespace torch_perceptron::cpu {

// What the online rule's CSR loops get, row-major or feature-major.
template <typename scalar_t, typename index_t>
struct CsrOnlineArgs {
  CsrRows<scalar_t, index_t> x;
  scalar_t* w;  // [K, in]
  scalar_t* b;  // [K]
  int64_t k;
  int64_t fm_stride;  // 0: w is [K, in]; else w[j * fm_stride + o]
  // The visits: without an order the rows of x, n == x.n; with one, visit i
  // of output o reads row rule.row(o, i) (online_step.h).
  int64_t n;
  OnlineStep<scalar_t> rule;
};

// Rows ahead whose weights the feature-major loop prefetches (its buffer,
// [in][K], is far beyond L2). The row-major loops do not prefetch: a
// weight row of 2^18 floats sits in L2, and the prefetches of a row's
// columns cost more than the gathers they hide (measured:
// docs/sparse_design.md).
constexpr int64_t kPrefetchRows = 4;

// Whether any lane of a vector comparison's mask is set.
template <typename Mask>
[[gnu::always_inline]] inline bool lane_any(Mask m) {
  bool any = false;
  for (size_t l = 0; l < sizeof(Mask) / sizeof(m[0]); ++l) any |= m[l] != 0;
  return any;
}

// A buffer of `count` scalars on a cache line, zeroed. A large one is mapped
// from the kernel and unmapped when done: from malloc, glibc raises its mmap
// threshold after the first free of one, keeps the next ones in the threads'
// arenas, and a fit's calls on two threads then grew the process epoch after
// epoch, where mapped ones kept it flat (measured on 200,000 x 2^18, K = 20:
// BENCHMARKS.md, the sparse section after session 5's merges). A mapped one
// starts on a 2 MiB boundary and asks for transparent huge pages (where the
// system gives them on request): the loops read it at random, a line per
// non-zero, and a 16 MiB buffer in 4 KiB pages spans twice the pages the
// second-level TLB holds (huge pages measured faster on this data:
// docs/sparse_design.md, session 6).
template <typename scalar_t>
struct AlignedBuffer {
  static constexpr size_t kMapBytes = size_t{1} << 20;
  static constexpr size_t kHugePage = size_t{1} << 21;
  scalar_t* data = nullptr;
  size_t bytes = 0;
  void* mapping = nullptr;
  size_t mapped = 0;
  explicit AlignedBuffer(int64_t count) {
    bytes = (std::max<int64_t>(count, 1) * sizeof(scalar_t) + 63) / 64 * 64;
    if (bytes >= kMapBytes) {
      mapped = bytes + kHugePage;
      mapping = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mapping == MAP_FAILED) throw std::bad_alloc();
      // Advice only: where it is refused, the pages stay small.
      madvise(mapping, mapped, MADV_HUGEPAGE);
      const uintptr_t start = reinterpret_cast<uintptr_t>(mapping);
      data = reinterpret_cast<scalar_t*>((start + kHugePage - 1) & ~(kHugePage - 1));
      return;  // zero, as every fresh mapping
    }
    data = static_cast<scalar_t*>(std::aligned_alloc(64, bytes));
    if (data == nullptr) throw std::bad_alloc();
    std::memset(data, 0, bytes);
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() {
    if (mapping != nullptr) {
      munmap(mapping, mapped);
    } else {
      std::free(data);
    }
  }
  scalar_t* get() const { return data; }
};

// The copies between k weight rows [k][in] and a feature-major buffer
// [in][W], in tiles of kTile features: a tile's k row pieces are whole cache
// lines, and its kTile buffer rows stay in L1 while the k pieces go by. (Row
// by row, or feature by feature, every access of one side lands on another
// line: the copies then took a large share of a K = 20 epoch, measured:
// docs/sparse_design.md.)
constexpr int64_t kTile = 16;

template <typename scalar_t>
void to_feature_major(const scalar_t* w, int64_t k, int64_t in, scalar_t* wt, int64_t W) {
  for (int64_t j0 = 0; j0 < in; j0 += kTile) {
    const int64_t j1 = std::min(in, j0 + kTile);
    for (int64_t r = 0; r < k; ++r) {
      const scalar_t* src = w + r * in;
      for (int64_t j = j0; j < j1; ++j) wt[j * W + r] = src[j];
    }
  }
}

template <typename scalar_t>
void from_feature_major(const scalar_t* wt, int64_t W, int64_t k, int64_t in, scalar_t* w) {
  for (int64_t j0 = 0; j0 < in; j0 += kTile) {
    const int64_t j1 = std::min(in, j0 + kTile);
    for (int64_t r = 0; r < k; ++r) {
      scalar_t* dst = w + r * in;
      for (int64_t j = j0; j < j1; ++j) dst[j] = wt[j * W + r];
    }
  }
}

// Outputs per thread that the feature-major path takes at most: G vectors of
// kLanes outputs, G <= kMaxVectors.
constexpr int kMaxVectors = 4;

// What feature_major_rows returns when it stopped for another share's bad
// row: its own outputs are then neither written back nor counted.
constexpr int64_t kStopped = -2;

}  // namespace torch_perceptron::cpu
