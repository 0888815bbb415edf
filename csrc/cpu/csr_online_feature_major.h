// The sparse (CSR) online rule on feature-major weights, [in][K]: one gather
// brings a column's weights for all of a thread's outputs, and a row is read
// once for all of them (decision values and the masked update are vector
// operations). On a copy of the weights made for the call, or in place on
// the caller's feature-major weights (csr_online_loop.h chooses).
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>

#include "../restore.h"
#include "csr_dot.h"
#include "csr_layout.h"
#include "vec.h"

namespace torch_perceptron::cpu {

// The one-vs-rest rule for `kk` outputs (k0, ...) whose weights are
// feature-major: wt[j * stride + r] is output k0 + r's weight of feature j.
// kTail: the last of the G vectors holds fewer than L outputs, and its lanes
// past them belong to someone else (other outputs, or past the tensor's end):
// they are read and written masked. Biases, mistake counts and loss sums
// (when a.rule.loss is given) stay in `bias`, `mistakes` and `loss` (the caller's
// to write). Returns the first bad row of x
// (rows before it are applied), kStopped when another share found one, or
// -1. kOrder: the visits read their rows through one shared order (a.rule.order,
// [M]); one per output never comes here (CsrOnlineCall::choose_layout).
template <int G, bool kTail, bool kOrder, typename scalar_t, typename index_t>
int64_t feature_major_rows(const CsrOnlineArgs<scalar_t, index_t>& a, int64_t k0, int64_t kk,
                           scalar_t* wt, int64_t stride, Vec<scalar_t> (&bias)[G],
                           int64_t* mistakes, double* loss, const std::atomic<bool>& stop,
                           UndoLog* log = nullptr) {
  // A copy of the step, which no store to the weights can alias.
  const OnlineStep<scalar_t> rule = a.rule;
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
  for (int64_t i = 0; i < a.n; ++i) {
    int64_t s = i;
    if constexpr (kOrder) s = rule.order[i];
    const CsrRow<scalar_t, index_t> row = a.x.row(s);
    if (!csr_row_ok(row.cols, row.nnz, in)) return s;
    if (i + kPrefetchRows < a.n) {
      const int64_t ahead_row = kOrder ? rule.order[i + kPrefetchRows] : i + kPrefetchRows;
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
        t[l] = r < kk ? rule.target(s, k0 + r) : scalar_t(0);
      }
      const auto is_live = live[g] != 0;
      finite &= !lane_any((((z[g] - z[g]) != 0) & is_live));
      using M = decltype(V{} < V{});
      wrong[g] = rule.template wrong<M>(z[g], t) & is_live;
      wrong_any |= lane_any(wrong[g]);
      step[g] = rule.step(t, s);
    }
    if (!finite) return s;
    if (wrong_any) {
      for (int g = 0; g < G; ++g) {
        for (int l = 0; l < L; ++l) {
          mistakes[g * L + l] += wrong[g][l] != 0;
          if (rule.loss != nullptr && wrong[g][l] != 0) {
            loss[g * L + l] += rule.loss_of(z[g][l]);
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
      if (rule.bias_step != 0) {
        for (int g = 0; g < G; ++g) {
          bias[g] = wrong[g] ? bias[g] + rule.bias_gain(step[g]) : bias[g];
        }
      }
    }
    if (stop.load(std::memory_order_relaxed)) return kStopped;
  }
  return -1;
}

// The loss sums of outputs [k0, k0 + kk) go on from what a.rule.loss holds; the
// feature-major loops keep them locally and write them back with the weights.
template <typename scalar_t, typename index_t>
void load_loss(const CsrOnlineArgs<scalar_t, index_t>& a, int64_t k0, int64_t kk, double* loss) {
  if (a.rule.loss == nullptr) return;
  for (int64_t r = 0; r < kk; ++r) loss[r] = a.rule.loss[k0 + r];
}

// The one-vs-rest rule for outputs [k0, k1) on a feature-major copy of their
// weights, [in][kk] unpadded (the last vector's lanes past kk masked, kTail):
// the copy is the call's largest allocation, and padding 20 outputs to 32
// lanes made it 1.6x the weights. Writes w and b only at the end, when every
// row was good; returns the first bad row, or -1.
template <int G, bool kTail, typename scalar_t, typename index_t>
int64_t csr_online_feature_major(const CsrOnlineArgs<scalar_t, index_t>& a, int64_t k0, int64_t k1,
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
      a.rule.order != nullptr
          ? feature_major_rows<G, kTail, true>(a, k0, kk, wt, kk, bias, mistakes, loss, stop)
          : feature_major_rows<G, kTail, false>(a, k0, kk, wt, kk, bias, mistakes, loss, stop);
  if (bad != -1) return std::max<int64_t>(bad, -1);
  from_feature_major(wt, kk, kk, in, a.w + k0 * in);
  for (int64_t r = 0; r < kk; ++r) {
    a.b[k0 + r] = bias[r / L][r % L];
    a.rule.mistakes[k0 + r] += mistakes[r];
    if (a.rule.loss != nullptr) a.rule.loss[k0 + r] = loss[r];
  }
  return -1;
}

// The same rule in place on weights that are feature-major already (the
// caller's weight is the transpose of a [in, stride] tensor: a.fm_stride).
// No copy and no buffer: the weights are written as the rows go, and a
// mistake's old values go to the call's undo log (restore.h).
template <int G, bool kTail, typename scalar_t, typename index_t>
int64_t csr_online_in_place(const CsrOnlineArgs<scalar_t, index_t>& a, int64_t k0, int64_t k1,
                            const std::atomic<bool>& stop, UndoLog* log) {
  constexpr int L = kLanes<scalar_t>;
  const int64_t kk = k1 - k0;
  Vec<scalar_t> bias[G] = {};
  for (int64_t r = 0; r < kk; ++r) bias[r / L][r % L] = a.b[k0 + r];
  int64_t mistakes[G * L] = {};
  double loss[G * L] = {};
  load_loss(a, k0, kk, loss);
  const int64_t bad = a.rule.order != nullptr
                          ? feature_major_rows<G, kTail, true>(a, k0, kk, a.w + k0, a.fm_stride,
                                                               bias, mistakes, loss, stop, log)
                          : feature_major_rows<G, kTail, false>(a, k0, kk, a.w + k0, a.fm_stride,
                                                                bias, mistakes, loss, stop, log);
  if (bad != -1) return std::max<int64_t>(bad, -1);
  for (int64_t r = 0; r < kk; ++r) {
    a.b[k0 + r] = bias[r / L][r % L];
    a.rule.mistakes[k0 + r] += mistakes[r];
    if (a.rule.loss != nullptr) a.rule.loss[k0 + r] = loss[r];
  }
  return -1;
}

}  // namespace torch_perceptron::cpu
