// The loops of the sparse (CSR) rules on the CPU, shared by the plain,
// averaged and pocket kernels (csr_kernels.cpp, averaged_kernel.cpp,
// pocket_kernel.cpp).
//
// A sample costs its non-zeros, never in_features: each row is a CsrRow
// (rows.h), which dots and updates only its own columns. Every row's columns
// are checked (csr_dot<true>, fused into the row's first dot product) before its
// result is used, the CPU's step 4 of the validation (csr_checks.h); the loop
// returns the first row that fails it or gives a non-finite decision value,
// and the caller undoes what was written (restore.h: written in place, a
// mistake logs the entries it overwrites first).
//
// Where the time goes (docs/sparse_design.md): each non-zero is a load
// w[col[p]] from weights that do not fit in L1, so the loops are bound by
// those gathers, not by arithmetic. Three ways to serve them:
// - K = 1 (csr_online_rows with one output): csr_dot (csr_dot.h), eight
//   partial sums in one register of gathers, with the row's check fused in;
// - K > 1 (one-vs-rest, and the plain multiclass rule) on a call with many
//   non-zeros (*_feature_major): a thread
//   copies its outputs' weights once per call into a feature-major buffer
//   [in][K] (the share's K), so that one gather brings a column's weights for all its
//   outputs, and a row is read once for all of them (decision values and the
//   masked update are vector operations);
// - otherwise (variants, small calls) row by row, output by output, the row
//   read from L1 after the first output.
// The rule is sequential over samples, so threads split the outputs, and each
// reads every row.
//
// A variant is a policy of the hook protocol (policies.h), the very policies
// of the dense kernels (averaged_kernel.cpp, pocket_kernel.cpp): the hooks
// receive the sample's CsrRow where the dense loops hand a DenseRow. w_o is
// output o's weight row ([in], the caller's layout); the multiclass model is
// CsrMulticlassModel.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <sys/mman.h>
#include <type_traits>
#include <utility>
#include <vector>

#include "../csr_operands.h"
#include "../policies.h"
#include "online_loop.h"
#include "csr_dot.h"
#include "threads.h"
#include "vec.h"

namespace torch_perceptron::cpu {

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

// The multiclass model as the hooks see it (policies.h), over the call's
// own [K, in] weights and [K] biases.
template <typename scalar_t>
struct CsrMulticlassModel {
  const scalar_t* w;
  const scalar_t* b;
  int64_t k, in;

  const scalar_t* row(int64_t c) const { return w + c * in; }
  scalar_t bias_of(int64_t c) const { return b[c]; }
  void copy_to(scalar_t* dst_w, scalar_t* dst_b) const {
    std::memcpy(dst_w, w, k * in * sizeof(scalar_t));
    std::memcpy(dst_b, b, k * sizeof(scalar_t));
  }
};

template <typename scalar_t, typename index_t>
struct CsrOnlineArgs {
  CsrRows<scalar_t, index_t> x;
  scalar_t* w;         // [K, in]
  scalar_t* b;         // [K]
  const scalar_t* y;   // [N, K] of 0/1
  const scalar_t* sw;  // [N] or nullptr
  int64_t k;
  scalar_t lr, bias_step;
  bool zero_is_mistake;
  int64_t* mistakes;   // [K]
  double* loss;        // [K], the epoch loss sums (operands.h), or nullptr
  int64_t fm_stride;   // 0: w is [K, in]; else w[j * fm_stride + o]
  // The visits: without an order the rows of x, n == x.n; with one, visit i
  // of output o reads row order[o * order_stride + i] (csr_operands.h).
  int64_t n;
  const int64_t* order;
  int64_t order_stride;
};

// Outputs [k0, k1) over every sample, row-major weights, kRowBlock outputs
// at a time (a block's hooks keep at most that many outputs' state), the
// policy's hooks called. Returns the first bad row (of x), or -1.
//
// kOrder: the visits read their rows through a.order (a compile-time switch,
// so the plain loop stays as it was). One order for all outputs keeps the
// blocks; one per output runs the outputs one at a time, each its own rows.
template <bool kOrder, typename scalar_t, typename index_t, typename Policy>
int64_t csr_online_rows_through(const CsrOnlineArgs<scalar_t, index_t>& a,
                                const Policy& policy, int64_t k0, int64_t k1,
                                const std::atomic<bool>& stop, UndoLog* log) {
  const int64_t in = a.x.in;
  const int64_t block = kOrder && a.order_stride != 0 ? 1 : kRowBlock;
  for (int64_t blk = k0; blk < k1; blk += block) {
    const int64_t blk_end = std::min(k1, blk + block);
    auto hooks = policy.begin(blk, blk_end - blk);
    const int64_t* order = kOrder ? a.order + blk * a.order_stride : nullptr;
    for (int64_t i = 0; i < a.n; ++i) {
      int64_t s = i;
      if constexpr (kOrder) s = order[i];
      const CsrRow<scalar_t, index_t> row = a.x.row(s);
      for (int64_t o = blk; o < blk_end; ++o) {
        scalar_t* w_o = a.w + o * in;
        // The first output's dot checks the row (before anything is written).
        bool good = true;
        const scalar_t dot =
            o == blk ? csr_dot<true>(row, static_cast<const scalar_t*>(w_o), in, good)
                     : csr_dot<false>(row, static_cast<const scalar_t*>(w_o), in, good);
        const scalar_t z = dot + a.b[o];
        if (!good || !std::isfinite(z)) {
          hooks.end();
          return s;
        }
        const scalar_t t = a.y[s * a.k + o];
        const bool wrong =
            ((z > 0) != (t != 0)) || (a.zero_is_mistake && z == 0);
        if (!wrong) {
          if constexpr (decltype(hooks)::kCountsCorrect) hooks.correct(o, 1);
          continue;
        }
        // The error y - yhat of a mistake is 2t - 1.
        const scalar_t err = t + t - 1;
        const scalar_t step =
            a.sw != nullptr ? (a.lr * a.sw[s]) * err : a.lr * err;
        a.mistakes[o] += 1;
        // max(0, -(2t - 1) * z) in double: |z| at a mistake (online_loop.h).
        if (a.loss != nullptr) a.loss[o] += std::fabs(static_cast<double>(z));
        hooks.mistake(o, i, row, step, static_cast<const scalar_t*>(w_o),
                      a.b[o]);
        if (log != nullptr) {
          log->save(w_o, row.cols, row.nnz, 1, 1);
          log->save(a.b + o, 1);
        }
        row.add_to(w_o, step);
        if (a.bias_step != 0) a.b[o] += step * a.bias_step;
      }
      if (stop.load(std::memory_order_relaxed)) {
        hooks.end();
        return -1;
      }
    }
    for (int64_t o = blk; o < blk_end; ++o) hooks.done(o, a.w + o * in, a.b[o]);
    hooks.end();
  }
  return -1;
}

template <typename scalar_t, typename index_t, typename Policy>
int64_t csr_online_rows(const CsrOnlineArgs<scalar_t, index_t>& a,
                        const Policy& policy, int64_t k0, int64_t k1,
                        const std::atomic<bool>& stop, UndoLog* log) {
  return a.order != nullptr
             ? csr_online_rows_through<true>(a, policy, k0, k1, stop, log)
             : csr_online_rows_through<false>(a, policy, k0, k1, stop, log);
}

// A buffer of `count` scalars on a cache line, zeroed. A large one is mapped
// from the kernel and unmapped when done: from malloc, glibc raises its mmap
// threshold after the first free of one, keeps the next ones in the threads'
// arenas, and a fit's calls on two threads then grew the process by 20 MiB an
// epoch (200,000 x 2^18, K = 20: 43 MiB extra after one epoch, 203 MiB after
// ten; mapped, 62 MiB after either). A mapped one starts on a 2 MiB boundary
// and asks for transparent huge pages (where the system gives them on
// request): the loops read it at random, a line per non-zero, and a 16 MiB
// buffer in 4 KiB pages spans twice the pages the second-level TLB holds
// (on this data, one thread's 16 outputs: 96-100 ms an epoch against
// 110-117 ms, docs/sparse_design.md).
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
      mapping = mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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
// line: the copies then took a third of a K = 20 epoch, measured.)
constexpr int64_t kTile = 16;

template <typename scalar_t>
void to_feature_major(const scalar_t* w, int64_t k, int64_t in, scalar_t* wt,
                      int64_t W) {
  for (int64_t j0 = 0; j0 < in; j0 += kTile) {
    const int64_t j1 = std::min(in, j0 + kTile);
    for (int64_t r = 0; r < k; ++r) {
      const scalar_t* src = w + r * in;
      for (int64_t j = j0; j < j1; ++j) wt[j * W + r] = src[j];
    }
  }
}

template <typename scalar_t>
void from_feature_major(const scalar_t* wt, int64_t W, int64_t k, int64_t in,
                        scalar_t* w) {
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

// The one-vs-rest rule for `kk` outputs (k0, ...) whose weights are
// feature-major: wt[j * stride + r] is output k0 + r's weight of feature j.
// kTail: the last of the G vectors holds fewer than L outputs, and its lanes
// past them belong to someone else (other outputs, or past the tensor's end):
// they are read and written masked. Biases, mistake counts and loss sums
// (when a.loss is given) stay in `bias`, `mistakes` and `loss` (the caller's
// to write). Returns the first bad row of x
// (rows before it are applied), kStopped when another share found one, or
// -1. kOrder: the visits read their rows through one shared order (a.order,
// [M]); one per output never comes here (CsrOnlineCall::choose_layout).
template <int G, bool kTail, bool kOrder, typename scalar_t, typename index_t>
int64_t feature_major_rows(const CsrOnlineArgs<scalar_t, index_t>& a,
                           int64_t k0, int64_t kk, scalar_t* wt, int64_t stride,
                           Vec<scalar_t> (&bias)[G], int64_t* mistakes,
                           double* loss, const std::atomic<bool>& stop,
                           UndoLog* log = nullptr) {
  using V = Vec<scalar_t>;
  constexpr int L = kLanes<scalar_t>;
  const int64_t in = a.x.in;
  const int64_t tail = kk - (G - 1) * L;
  auto ld = [&](const scalar_t* c, int g) {
    if constexpr (kTail) {
      if (g == G - 1) return load_tail(c + g * L, tail);
    }
    return load(c + g * L);
  };
  auto st = [&](scalar_t* c, int g, V v) {
    if constexpr (kTail) {
      if (g == G - 1) return store_tail(c + g * L, v, tail);
    }
    store(c + g * L, v);
  };
  V live[G] = {};
  for (int64_t r = 0; r < kk; ++r) live[r / L][r % L] = 1;
  const scalar_t bias_step = a.bias_step;
  for (int64_t i = 0; i < a.n; ++i) {
    int64_t s = i;
    if constexpr (kOrder) s = a.order[i];
    const CsrRow<scalar_t, index_t> row = a.x.row(s);
    if (!csr_row_ok(row.cols, row.nnz, in)) return s;
    if (i + kPrefetchRows < a.n) {
      const int64_t ahead_row =
          kOrder ? a.order[i + kPrefetchRows] : i + kPrefetchRows;
      const CsrRow<scalar_t, index_t> ahead = a.x.row(ahead_row);
      for (int64_t p = 0; p < ahead.nnz; ++p) {
        const scalar_t* line = wt + ahead.cols[p] * stride;
        prefetch_line(line);
        if constexpr (G * L * sizeof(scalar_t) > 64) prefetch_line(line + kk - 1);
      }
    }
    // Two sums per vector, even and odd non-zeros, so consecutive adds do
    // not wait on each other.
    V z0[G] = {}, z1[G] = {};
    int64_t p = 0;
    for (; p + 2 <= row.nnz; p += 2) {
      const scalar_t* c0 = wt + row.cols[p] * stride;
      const scalar_t* c1 = wt + row.cols[p + 1] * stride;
      const scalar_t v0 = row.values[p], v1 = row.values[p + 1];
      for (int g = 0; g < G; ++g) {
        z0[g] += v0 * ld(c0, g);
        z1[g] += v1 * ld(c1, g);
      }
    }
    if (p < row.nnz) {
      const scalar_t* c0 = wt + row.cols[p] * stride;
      for (int g = 0; g < G; ++g) z0[g] += row.values[p] * ld(c0, g);
    }
    V z[G], step[G];
    unsigned wrong_any = 0;
    bool finite = true;
    decltype(V{} < V{}) wrong[G];
    for (int g = 0; g < G; ++g) {
      z[g] = (z0[g] + z1[g]) + bias[g];
      V t;
      for (int l = 0; l < L; ++l) {
        const int64_t r = g * L + l;
        t[l] = r < kk ? a.y[s * a.k + k0 + r] : scalar_t(0);
      }
      const auto is_live = live[g] != 0;
      finite &= !lane_any((((z[g] - z[g]) != 0) & is_live));
      auto w_lanes = (z[g] > 0) != (t != 0);
      if (a.zero_is_mistake) w_lanes |= z[g] == 0;
      wrong[g] = w_lanes & is_live;
      wrong_any |= lane_any(wrong[g]);
      const scalar_t lr_s = a.sw != nullptr ? a.lr * a.sw[s] : a.lr;
      step[g] = lr_s * (t + t - 1);
    }
    if (!finite) return s;
    if (wrong_any) {
      for (int g = 0; g < G; ++g) {
        for (int l = 0; l < L; ++l) {
          mistakes[g * L + l] += wrong[g][l] != 0;
          if (a.loss != nullptr && wrong[g][l] != 0) {
            loss[g * L + l] += std::fabs(static_cast<double>(z[g][l]));
          }
        }
      }
      // In place (the caller's weights), what a later row's failure must
      // undo: the row's columns of these outputs.
      if (log != nullptr) log->save(wt, row.cols, row.nnz, stride, kk);
      for (int64_t q = 0; q < row.nnz; ++q) {
        scalar_t* c = wt + row.cols[q] * stride;
        const scalar_t v = row.values[q];
        for (int g = 0; g < G; ++g) {
          const V old = ld(c, g);
          // A correct lane keeps its bits (adding a zero step could turn a
          // -0 weight into +0).
          st(c, g, wrong[g] ? old + step[g] * v : old);
        }
      }
      if (bias_step != 0) {
        for (int g = 0; g < G; ++g) {
          bias[g] = wrong[g] ? bias[g] + step[g] * bias_step : bias[g];
        }
      }
    }
    if (stop.load(std::memory_order_relaxed)) return kStopped;
  }
  return -1;
}

// The loss sums of outputs [k0, k0 + kk) go on from what a.loss holds; the
// feature-major loops keep them locally and write them back with the weights.
template <typename scalar_t, typename index_t>
void load_loss(const CsrOnlineArgs<scalar_t, index_t>& a, int64_t k0,
               int64_t kk, double* loss) {
  if (a.loss == nullptr) return;
  for (int64_t r = 0; r < kk; ++r) loss[r] = a.loss[k0 + r];
}

// The one-vs-rest rule for outputs [k0, k1) on a feature-major copy of their
// weights, [in][kk] unpadded (the last vector's lanes past kk masked, kTail):
// the copy is the call's largest allocation, and padding 20 outputs to 32
// lanes made it 1.6x the weights. Writes w and b only at the end, when every
// row was good; returns the first bad row, or -1.
template <int G, bool kTail, typename scalar_t, typename index_t>
int64_t csr_online_feature_major(const CsrOnlineArgs<scalar_t, index_t>& a,
                                 int64_t k0, int64_t k1,
                                 const std::atomic<bool>& stop) {
  constexpr int L = kLanes<scalar_t>;
  constexpr int64_t W = G * L;
  const int64_t in = a.x.in, kk = k1 - k0;
  AlignedBuffer<scalar_t> buffer(in * kk);
  scalar_t* wt = buffer.get();
  to_feature_major(a.w + k0 * in, kk, in, wt, kk);
  Vec<scalar_t> bias[G] = {};
  for (int64_t r = 0; r < kk; ++r) bias[r / L][r % L] = a.b[k0 + r];
  int64_t mistakes[W] = {};
  double loss[W] = {};
  load_loss(a, k0, kk, loss);
  const int64_t bad =
      a.order != nullptr
          ? feature_major_rows<G, kTail, true>(a, k0, kk, wt, kk, bias,
                                               mistakes, loss, stop)
          : feature_major_rows<G, kTail, false>(a, k0, kk, wt, kk, bias,
                                                mistakes, loss, stop);
  if (bad != -1) return std::max<int64_t>(bad, -1);
  from_feature_major(wt, kk, kk, in, a.w + k0 * in);
  for (int64_t r = 0; r < kk; ++r) {
    a.b[k0 + r] = bias[r / L][r % L];
    a.mistakes[k0 + r] += mistakes[r];
    if (a.loss != nullptr) a.loss[k0 + r] = loss[r];
  }
  return -1;
}

// The same rule in place on weights that are feature-major already (the
// caller's weight is the transpose of a [in, stride] tensor: a.fm_stride).
// No copy and no buffer: the weights are written as the rows go, and a
// mistake's old values go to the call's undo log (restore.h).
template <int G, bool kTail, typename scalar_t, typename index_t>
int64_t csr_online_in_place(const CsrOnlineArgs<scalar_t, index_t>& a,
                            int64_t k0, int64_t k1,
                            const std::atomic<bool>& stop, UndoLog* log) {
  constexpr int L = kLanes<scalar_t>;
  const int64_t kk = k1 - k0;
  Vec<scalar_t> bias[G] = {};
  for (int64_t r = 0; r < kk; ++r) bias[r / L][r % L] = a.b[k0 + r];
  int64_t mistakes[G * L] = {};
  double loss[G * L] = {};
  load_loss(a, k0, kk, loss);
  const int64_t bad =
      a.order != nullptr
          ? feature_major_rows<G, kTail, true>(a, k0, kk, a.w + k0, a.fm_stride,
                                               bias, mistakes, loss, stop, log)
          : feature_major_rows<G, kTail, false>(a, k0, kk, a.w + k0,
                                                a.fm_stride, bias, mistakes,
                                                loss, stop, log);
  if (bad != -1) return std::max<int64_t>(bad, -1);
  for (int64_t r = 0; r < kk; ++r) {
    a.b[k0 + r] = bias[r / L][r % L];
    a.mistakes[k0 + r] += mistakes[r];
    if (a.loss != nullptr) a.loss[k0 + r] = loss[r];
  }
  return -1;
}

// One call of the sparse online rule on the CPU.
struct CsrOnlineCall : CsrOnlineOperands {
  using CsrOnlineOperands::CsrOnlineOperands;
  bool feature_major = false;  // set by the plain op (choose_layout)
  // Of feature-major weights, the outputs are split between threads in
  // units of `unit` outputs (0: evenly, the row-major loops). In place
  // (fm_stride > 0), so that no two threads write one cache line (a unit is
  // a line's worth when the rows of fm_stride start on lines, else all K:
  // one thread). On the copy, where K is wider than a line, so that a
  // thread's buffer rows are whole lines (20 outputs: 16 + 4, not 10 + 10,
  // whose 40-byte rows straddle two lines every other feature and end in a
  // masked vector).
  int64_t unit = 0;

  // The copy writes late; in place and row by row, a mistake logs what it
  // overwrites (each output's share of the visited non-zeros), unless that
  // could outgrow the weights.
  Restore restore_plan() const {
    if (feature_major && fm_stride == 0) return Restore::kLate;
    // n visits for each of the k outputs (with or without an order).
    const int64_t per_visit = x.n > 0 ? x.nnz / x.n + 1 : 1;
    return n * k * per_visit <= k * in ? Restore::kLog : Restore::kSnapshot;
  }

  // The feature-major copy pays (2 K in copies, once per call) when the call
  // has about as many non-zeros as features; the outputs a thread takes must
  // fit in kMaxVectors vectors.
  template <typename scalar_t>
  bool feature_major_pays(int64_t shares) const {
    const int64_t per_share = (k + shares - 1) / shares;
    return k >= 2 && 2 * x.nnz >= in &&
           per_share <= kMaxVectors * kLanes<scalar_t>;
  }
  void choose_layout() {
    if (order_stride != 0) {
      // One order per output: each output reads its own row at a visit,
      // which the feature-major loops (one row for all outputs) cannot.
      if (fm_stride > 0) {
        fm_stride = 0;
        w = as_contiguous(weight);
      }
      return;
    }
    dispatch_float(weight.scalar_type(), "online_update_csr", [&](auto tag) {
      using scalar_t = decltype(tag);
      constexpr int64_t per_line = 64 / sizeof(scalar_t);
      if (fm_stride > 0) {
        const bool lines =
            fm_stride % per_line == 0 &&
            reinterpret_cast<uintptr_t>(w.const_data_ptr<scalar_t>()) % 64 == 0;
        unit = lines ? per_line : k;
        if (unit <= kMaxVectors * kLanes<scalar_t>) {
          feature_major = true;  // in place, whatever the call's size
          return;
        }
        // K too wide for one thread's vectors, and rows off the lines: the
        // row-major loop on a contiguous copy.
        fm_stride = 0;
        w = as_contiguous(weight);
      }
      feature_major = feature_major_pays<scalar_t>(threads());
      unit = feature_major && k > per_line ? per_line : 0;
    });
  }
  int64_t threads() const { return threads_for(x.nnz * k, k); }
  // How many shares the outputs are split into, and share s's outputs.
  int64_t shares() const {
    // One order per output: one output a share, claimed as threads come
    // free, so that they end together however each output's orders fall.
    if (order_stride != 0 && threads() > 1) return k;
    if (unit == 0) return threads();
    // Units of a line's worth, at most kMaxVectors vectors (two units) each.
    const int64_t units = (k + unit - 1) / unit;
    return std::max((units + 1) / 2, std::min(units, threads()));
  }
  std::pair<int64_t, int64_t> share(int64_t s, int64_t count) const {
    if (unit == 0) return {s * k / count, (s + 1) * k / count};
    const int64_t units = (k + unit - 1) / unit;
    return {std::min(k, s * units / count * unit),
            std::min(k, (s + 1) * units / count * unit)};
  }

  template <typename scalar_t, typename index_t, typename Policy>
  int64_t run_share(const CsrOnlineArgs<scalar_t, index_t>& args,
                    const Policy& policy, int64_t k0, int64_t k1,
                    const std::atomic<bool>& stop, UndoLog* log) {
    if (!feature_major) return csr_online_rows(args, policy, k0, k1, stop, log);
    constexpr int L = kLanes<scalar_t>;
    const int groups = static_cast<int>((k1 - k0 + L - 1) / L);
    const bool tail = (k1 - k0) % L != 0;
    auto go = [&](auto g) {
      constexpr int G = decltype(g)::value;
      if (fm_stride > 0) {
        return tail ? csr_online_in_place<G, true>(args, k0, k1, stop, log)
                    : csr_online_in_place<G, false>(args, k0, k1, stop, log);
      }
      return tail ? csr_online_feature_major<G, true>(args, k0, k1, stop)
                  : csr_online_feature_major<G, false>(args, k0, k1, stop);
    };
    using std::integral_constant;
    switch (groups) {
      case 1: return go(integral_constant<int, 1>{});
      case 2: return go(integral_constant<int, 2>{});
      case 3: return go(integral_constant<int, 3>{});
      default: return go(integral_constant<int, 4>{});
    }
  }

  // Runs the rule with the policy make(scalar_t{}) builds; returns the first
  // bad row or -1.
  template <typename MakePolicy>
  int64_t run(MakePolicy make) {
    alignas(64) std::atomic<bool> stop{false};
    // The row found is x's (past n, the visits, when an order is given).
    std::atomic<int64_t> bad_row{INT64_MAX};
    dispatch_float(weight.scalar_type(), "online_update_csr", [&](auto tag) {
      using scalar_t = decltype(tag);
      dispatch_index(x, [&](auto itag) {
        using index_t = decltype(itag);
        const CsrOnlineArgs<scalar_t, index_t> args{
            rows<scalar_t, index_t>(),
            w.mutable_data_ptr<scalar_t>(),
            b.mutable_data_ptr<scalar_t>(),
            y.const_data_ptr<scalar_t>(),
            sw ? sw->const_data_ptr<scalar_t>() : nullptr,
            k,
            static_cast<scalar_t>(lr),
            static_cast<scalar_t>(bias_step),
            zero_is_mistake,
            mistakes.mutable_data_ptr<int64_t>(),
            loss ? loss->mutable_data_ptr<double>() : nullptr,
            fm_stride,
            n,
            order ? order->const_data_ptr<int64_t>() : nullptr,
            order_stride};
        const auto policy = make(scalar_t{});
        auto record = [&](int64_t row) {
          if (row < 0) return;
          stop.store(true, std::memory_order_relaxed);
          int64_t seen = bad_row.load();
          while (row < seen && !bad_row.compare_exchange_weak(seen, row)) {
          }
        };
        const int64_t count = shares();
        const size_t elem = sizeof(scalar_t);
        if (count == 1) {
          record(run_share(args, policy, 0, k, stop, journal.open(elem)));
          return;
        }
        if (threads() == 1) {
          // Shares for the layout's sake (whole cache lines of outputs), on
          // the caller's thread: the call is too small to wake another.
          for (int64_t s = 0; s < count && !stop.load(); ++s) {
            const auto [k0, k1] = share(s, count);
            if (k0 < k1) {
              record(run_share(args, policy, k0, k1, stop, journal.open(elem)));
            }
          }
          return;
        }
        // One share of the outputs per thread, claimed by whichever thread
        // comes (a late thread's share is run by another, not waited for).
        std::atomic<int64_t> next{0};
        torch::stable::parallel_for(0, count, 1, [&](int64_t, int64_t) {
          for (int64_t s = next++; s < count; s = next++) {
            const auto [k0, k1] = share(s, count);
            if (k0 < k1) {
              record(run_share(args, policy, k0, k1, stop, journal.open(elem)));
            }
          }
        });
      });
    });
    return stop.load() ? bad_row.load() : -1;
  }
};

// The multiclass rule over CSR rows, on one thread (every sample needs all K
// decision values before it can update). Returns the first bad row, or -1.
template <typename scalar_t, typename index_t, typename Policy>
int64_t csr_multiclass_rows(const CsrRows<scalar_t, index_t>& x, scalar_t* w,
                            scalar_t* b, const int64_t* y, const scalar_t* sw,
                            int64_t k, scalar_t lr, scalar_t bias_step,
                            int64_t* mistakes, const Policy& policy,
                            UndoLog* log) {
  const int64_t in = x.in;
  const CsrMulticlassModel<scalar_t> model{w, b, k, in};
  auto hooks = policy.begin();
  int64_t wrong = 0;
  for (int64_t i = 0; i < x.n; ++i) {
    const CsrRow<scalar_t, index_t> row = x.row(i);
    // The argmax with the lowest index winning a tie: strictly greater
    // takes over. The first class's dot checks the row.
    scalar_t best = 0;
    int64_t yhat = 0;
    bool finite = true;
    for (int64_t c = 0; c < k; ++c) {
      bool good = true;
      const scalar_t* w_c = w + c * in;
      const scalar_t z = (c == 0 ? csr_dot<true>(row, w_c, in, good)
                                 : csr_dot<false>(row, w_c, in, good)) + b[c];
      if (!good) {
        hooks.end();
        return i;
      }
      finite &= std::isfinite(z);
      if (c == 0 || z > best) {
        best = z;
        yhat = c;
      }
    }
    if (!finite) {
      hooks.end();
      return i;
    }
    const int64_t t = y[i];
    if (yhat == t) {
      if constexpr (decltype(hooks)::kCountsCorrect) hooks.correct(1);
      continue;
    }
    ++wrong;
    const scalar_t step = sw != nullptr ? lr * sw[i] : lr;
    hooks.mistake(i, row, t, yhat, step, model);
    if (log != nullptr) {
      log->save(w + t * in, row.cols, row.nnz, 1, 1);
      log->save(w + yhat * in, row.cols, row.nnz, 1, 1);
      log->save(b + t, 1);
      log->save(b + yhat, 1);
    }
    row.add_to(w + t * in, step);
    row.add_to(w + yhat * in, -step);
    if (bias_step != 0) {
      const scalar_t bias_by = step * bias_step;
      b[t] += bias_by;
      b[yhat] -= bias_by;
    }
  }
  hooks.done(model);
  hooks.end();
  *mistakes += wrong;
  return -1;
}

// The multiclass rule on a feature-major copy of the K weight rows (as
// csr_online_feature_major): one gather of a column brings its weights for
// every class, so a row is read once for all K decision values; a mistake
// then writes two lanes per non-zero. Writes w and b only at the end, when
// every row was good; returns the first bad row, or -1.
template <int G, typename scalar_t, typename index_t>
int64_t csr_multiclass_feature_major(const CsrRows<scalar_t, index_t>& x,
                                     scalar_t* w, scalar_t* b,
                                     const int64_t* y, const scalar_t* sw,
                                     int64_t k, scalar_t lr,
                                     scalar_t bias_step, int64_t* mistakes) {
  using V = Vec<scalar_t>;
  constexpr int L = kLanes<scalar_t>;
  constexpr int64_t W = G * L;
  const int64_t in = x.in;
  AlignedBuffer<scalar_t> buffer(in * W);
  scalar_t* wt = buffer.get();
  to_feature_major(w, k, in, wt, W);
  alignas(64) scalar_t bias[W] = {};
  alignas(64) scalar_t z[W];
  for (int64_t c = 0; c < k; ++c) bias[c] = b[c];
  int64_t wrong = 0;
  for (int64_t i = 0; i < x.n; ++i) {
    const CsrRow<scalar_t, index_t> row = x.row(i);
    if (!csr_row_ok(row.cols, row.nnz, in)) return i;
    if (i + kPrefetchRows < x.n) {
      const CsrRow<scalar_t, index_t> ahead = x.row(i + kPrefetchRows);
      for (int64_t p = 0; p < ahead.nnz; ++p) {
        const scalar_t* line = wt + ahead.cols[p] * W;
        prefetch_line(line);
        if constexpr (W * sizeof(scalar_t) > 64) prefetch_line(line + W - 1);
      }
    }
    V z0[G] = {}, z1[G] = {};
    int64_t p = 0;
    for (; p + 2 <= row.nnz; p += 2) {
      const scalar_t* c0 = wt + row.cols[p] * W;
      const scalar_t* c1 = wt + row.cols[p + 1] * W;
      const scalar_t v0 = row.values[p], v1 = row.values[p + 1];
      for (int g = 0; g < G; ++g) {
        z0[g] += v0 * load(c0 + g * L);
        z1[g] += v1 * load(c1 + g * L);
      }
    }
    if (p < row.nnz) {
      const scalar_t* c0 = wt + row.cols[p] * W;
      for (int g = 0; g < G; ++g) z0[g] += row.values[p] * load(c0 + g * L);
    }
    for (int g = 0; g < G; ++g) store(z + g * L, (z0[g] + z1[g]) + load(bias + g * L));
    // The argmax with the lowest index winning a tie.
    scalar_t best = z[0];
    int64_t yhat = 0;
    bool finite = true;
    for (int64_t c = 0; c < k; ++c) {
      finite &= std::isfinite(z[c]);
      if (z[c] > best) {
        best = z[c];
        yhat = c;
      }
    }
    if (!finite) return i;
    const int64_t t = y[i];
    if (yhat == t) continue;
    ++wrong;
    const scalar_t step = sw != nullptr ? lr * sw[i] : lr;
    for (int64_t q = 0; q < row.nnz; ++q) {
      scalar_t* col = wt + row.cols[q] * W;
      const scalar_t v = row.values[q];
      col[t] += step * v;
      col[yhat] += -step * v;
    }
    if (bias_step != 0) {
      const scalar_t bias_by = step * bias_step;
      bias[t] += bias_by;
      bias[yhat] -= bias_by;
    }
  }
  from_feature_major(wt, W, k, in, w);
  for (int64_t c = 0; c < k; ++c) b[c] = bias[c];
  *mistakes += wrong;
  return -1;
}

// The multiclass rule in place on weights that are feature-major already
// (w[j * stride + c]: class c's weight of feature j), as the layer keeps them
// for sparse rows: a row's non-zeros each bring every class's weight from one
// place, so a call costs its non-zeros, not the model. The decision values
// add as csr_multiclass_feature_major's (even and odd non-zeros, then their
// sum, then the bias), so the two layouts give the same bits. A mistake logs
// the two classes' entries before it writes them; the biases are written
// once every row was good. Returns the first bad row, or -1.
template <typename scalar_t, typename index_t>
int64_t csr_multiclass_in_place(const CsrRows<scalar_t, index_t>& x,
                                scalar_t* wt, int64_t stride, scalar_t* b,
                                const int64_t* y, const scalar_t* sw,
                                int64_t k, scalar_t lr, scalar_t bias_step,
                                int64_t* mistakes, UndoLog* log) {
  const int64_t in = x.in;
  std::vector<scalar_t> bias(b, b + k), z0(k), z1(k);
  int64_t wrong = 0;
  for (int64_t i = 0; i < x.n; ++i) {
    const CsrRow<scalar_t, index_t> row = x.row(i);
    if (!csr_row_ok(row.cols, row.nnz, in)) return i;
    // The weights far beyond the caches: a row ahead's lines on their way
    // (as feature_major_rows does).
    if (i + kPrefetchRows < x.n) {
      const CsrRow<scalar_t, index_t> ahead = x.row(i + kPrefetchRows);
      constexpr int64_t per_line = 64 / sizeof(scalar_t);
      for (int64_t p = 0; p < ahead.nnz; ++p) {
        const scalar_t* line = wt + static_cast<int64_t>(ahead.cols[p]) * stride;
        for (int64_t c = 0; c < k; c += per_line) prefetch_line(line + c);
      }
    }
    std::fill(z0.begin(), z0.end(), scalar_t(0));
    std::fill(z1.begin(), z1.end(), scalar_t(0));
    int64_t p = 0;
    for (; p + 2 <= row.nnz; p += 2) {
      const scalar_t* c0 = wt + static_cast<int64_t>(row.cols[p]) * stride;
      const scalar_t* c1 = wt + static_cast<int64_t>(row.cols[p + 1]) * stride;
      const scalar_t v0 = row.values[p], v1 = row.values[p + 1];
      for (int64_t c = 0; c < k; ++c) {
        z0[c] += v0 * c0[c];
        z1[c] += v1 * c1[c];
      }
    }
    if (p < row.nnz) {
      const scalar_t* c0 = wt + static_cast<int64_t>(row.cols[p]) * stride;
      const scalar_t v0 = row.values[p];
      for (int64_t c = 0; c < k; ++c) z0[c] += v0 * c0[c];
    }
    // The argmax with the lowest index winning a tie.
    scalar_t best = 0;
    int64_t yhat = 0;
    bool finite = true;
    for (int64_t c = 0; c < k; ++c) {
      const scalar_t z = (z0[c] + z1[c]) + bias[c];
      finite &= std::isfinite(z);
      if (c == 0 || z > best) {
        best = z;
        yhat = c;
      }
    }
    if (!finite) return i;
    const int64_t t = y[i];
    if (yhat == t) continue;
    ++wrong;
    const scalar_t step = sw != nullptr ? lr * sw[i] : lr;
    if (log != nullptr) {
      log->save(wt + t, row.cols, row.nnz, stride, 1);
      log->save(wt + yhat, row.cols, row.nnz, stride, 1);
    }
    for (int64_t q = 0; q < row.nnz; ++q) {
      scalar_t* col = wt + static_cast<int64_t>(row.cols[q]) * stride;
      const scalar_t v = row.values[q];
      col[t] += step * v;
      col[yhat] += -step * v;
    }
    if (bias_step != 0) {
      const scalar_t bias_by = step * bias_step;
      bias[t] += bias_by;
      bias[yhat] -= bias_by;
    }
  }
  std::copy(bias.begin(), bias.end(), b);
  *mistakes += wrong;
  return -1;
}

struct CsrMulticlassCall : CsrMulticlassOperands {
  using CsrMulticlassOperands::CsrMulticlassOperands;
  bool feature_major = false;  // set by the plain op (choose_layout)

  // In place (feature-major weights), a mistake logs the two classes'
  // entries it overwrites; the copy writes late; row by row, as in place,
  // unless the log could outgrow the weights.
  Restore restore_plan() const {
    if (fm_stride > 0) return Restore::kLog;
    if (feature_major) return Restore::kLate;
    const int64_t per_visit = x.n > 0 ? x.nnz / x.n + 1 : 1;
    return 2 * n * per_visit <= k * in ? Restore::kLog : Restore::kSnapshot;
  }

  // Feature-major weights are updated in place, up to kMaxInPlaceClasses
  // (the loop keeps K decision values and biases of its own); wider, the
  // row-major loop on a contiguous copy. Else as CsrOnlineCall's: the copy
  // pays on a call with about as many non-zeros as features, for K that fits
  // in kMaxVectors vectors.
  static constexpr int64_t kMaxInPlaceClasses = 256;
  void choose_layout() {
    if (fm_stride > 0) {
      if (k <= kMaxInPlaceClasses) return;
      fm_stride = 0;
      w = as_contiguous(weight);
    }
    feature_major = dispatch_float(weight.scalar_type(), "multiclass_update_csr",
                                   [&](auto tag) {
      return k <= kMaxVectors * kLanes<decltype(tag)> && 2 * x.nnz >= in;
    });
  }

  template <typename MakePolicy>
  int64_t run(MakePolicy make) {
    int64_t bad_row = -1;
    dispatch_float(weight.scalar_type(), "multiclass_update_csr", [&](auto tag) {
      using scalar_t = decltype(tag);
      dispatch_index(x, [&](auto itag) {
        using index_t = decltype(itag);
        const auto policy = make(scalar_t{});
        if constexpr (std::is_same_v<std::decay_t<decltype(policy)>,
                                     NoMulticlassPolicy>) {
          if (fm_stride > 0) {
            bad_row = csr_multiclass_in_place(
                rows<scalar_t, index_t>(), w.mutable_data_ptr<scalar_t>(),
                fm_stride, b.mutable_data_ptr<scalar_t>(),
                y.const_data_ptr<int64_t>(),
                sw ? sw->const_data_ptr<scalar_t>() : nullptr, k,
                static_cast<scalar_t>(lr), static_cast<scalar_t>(bias_step),
                mistakes.mutable_data_ptr<int64_t>(),
                journal.open(sizeof(scalar_t)));
            return;
          }
          if (feature_major) {
            constexpr int L = kLanes<scalar_t>;
            auto run_fm = [&](auto g) {
              return csr_multiclass_feature_major<decltype(g)::value>(
                  rows<scalar_t, index_t>(), w.mutable_data_ptr<scalar_t>(),
                  b.mutable_data_ptr<scalar_t>(), y.const_data_ptr<int64_t>(),
                  sw ? sw->const_data_ptr<scalar_t>() : nullptr, k,
                  static_cast<scalar_t>(lr), static_cast<scalar_t>(bias_step),
                  mistakes.mutable_data_ptr<int64_t>());
            };
            using std::integral_constant;
            switch ((k + L - 1) / L) {
              case 1: bad_row = run_fm(integral_constant<int, 1>{}); break;
              case 2: bad_row = run_fm(integral_constant<int, 2>{}); break;
              case 3: bad_row = run_fm(integral_constant<int, 3>{}); break;
              default: bad_row = run_fm(integral_constant<int, 4>{}); break;
            }
            return;
          }
        }
        bad_row = csr_multiclass_rows<scalar_t, index_t>(
            rows<scalar_t, index_t>(), w.mutable_data_ptr<scalar_t>(),
            b.mutable_data_ptr<scalar_t>(), y.const_data_ptr<int64_t>(),
            sw ? sw->const_data_ptr<scalar_t>() : nullptr, k,
            static_cast<scalar_t>(lr), static_cast<scalar_t>(bias_step),
            mistakes.mutable_data_ptr<int64_t>(), policy,
            journal.open(sizeof(scalar_t)));
      });
    });
    return bad_row;
  }
};

}  // namespace torch_perceptron::cpu
