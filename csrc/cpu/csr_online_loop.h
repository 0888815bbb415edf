// The loops of the sparse (CSR) online rule on the CPU, for the plain,
// averaged and pocket ops alike (register.cpp); the multiclass rule's are
// csr_multiclass_loop.h.
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
// of the dense loops (averaged_policy.h, pocket_policy.h): the hooks
// receive the sample's CsrRow where the dense loops hand a DenseRow. w_o is
// output o's weight row ([in], the caller's layout); the multiclass model is
// CsrMulticlassModel.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <type_traits>
#include <utility>
#include <vector>

#include "../csr_operands.h"
#include "../policies.h"
#include "csr_dot.h"
#include "csr_layout.h"
#include "csr_online_feature_major.h"
#include "online_loop.h"
#include "threads.h"
#include "vec.h"

namespace torch_perceptron::cpu {

// Outputs [k0, k1) over every sample, row-major weights, kRowBlock outputs
// at a time (a block's hooks keep at most that many outputs' state), the
// policy's hooks called. Returns the first bad row (of x), or -1.
//
// kOrder: the visits read their rows through a.rule.order (a compile-time switch,
// so the plain loop stays as it was). One order for all outputs keeps the
// blocks; one per output runs the outputs one at a time, each its own rows.
template <bool kOrder, typename scalar_t, typename index_t, typename Policy>
int64_t csr_online_rows_through(const CsrOnlineArgs<scalar_t, index_t>& a, const Policy& policy,
                                int64_t k0, int64_t k1, const std::atomic<bool>& stop,
                                UndoLog* log) {
  // A copy of the step, which no store to the weights can alias.
  const OnlineStep<scalar_t> rule = a.rule;
  const int64_t in = a.x.in;
  const int64_t block = kOrder && rule.order_stride != 0 ? 1 : kRowBlock;
  for (int64_t blk = k0; blk < k1; blk += block) {
    const int64_t blk_end = std::min(k1, blk + block);
    auto hooks = policy.begin(blk, blk_end - blk);
    const int64_t* order = kOrder ? rule.order + blk * rule.order_stride : nullptr;
    for (int64_t i = 0; i < a.n; ++i) {
      int64_t s = i;
      if constexpr (kOrder) s = order[i];
      const CsrRow<scalar_t, index_t> row = a.x.row(s);
      for (int64_t o = blk; o < blk_end; ++o) {
        scalar_t* w_o = a.w + o * in;
        // The first output's dot checks the row (before anything is written).
        bool good = true;
        const scalar_t dot = o == blk
                                 ? csr_dot<true>(row, static_cast<const scalar_t*>(w_o), in, good)
                                 : csr_dot<false>(row, static_cast<const scalar_t*>(w_o), in, good);
        const scalar_t z = dot + a.b[o];
        if (!good || !std::isfinite(z)) {
          hooks.end();
          return s;
        }
        const scalar_t t = rule.target(s, o);
        const bool wrong = rule.template wrong<bool>(z, t);
        if (!wrong) {
          if constexpr (decltype(hooks)::kCountsCorrect) hooks.correct(o, 1);
          continue;
        }
        const scalar_t step = rule.step(t, s);
        rule.mistakes[o] += 1;
        if (rule.loss != nullptr) rule.loss[o] += rule.loss_of(z);
        hooks.mistake(o, i, row, step, static_cast<const scalar_t*>(w_o), a.b[o]);
        if (log != nullptr) {
          log->save(w_o, row.cols, row.nnz, 1, 1);
          log->save(a.b + o, 1);
        }
        row.add_to(w_o, step);
        if (rule.bias_step != 0) a.b[o] += rule.bias_gain(step);
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
int64_t csr_online_rows(const CsrOnlineArgs<scalar_t, index_t>& a, const Policy& policy, int64_t k0,
                        int64_t k1, const std::atomic<bool>& stop, UndoLog* log) {
  return a.rule.order != nullptr ? csr_online_rows_through<true>(a, policy, k0, k1, stop, log)
                                 : csr_online_rows_through<false>(a, policy, k0, k1, stop, log);
}

// One call of the sparse online rule on the CPU.
struct CsrOnlineCall : CsrOnlineOperands {
  using CsrOnlineOperands::CsrOnlineOperands;
  // The plain rule keeps the caller's feature-major weights (choose_layout).
  static constexpr bool kKeepsFeatureMajor = true;
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
    return k >= 2 && 2 * x.nnz >= in && per_share <= kMaxVectors * kLanes<scalar_t>;
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
    dispatch_float(weight.scalar_type(), "the online rule", [&](auto tag) {
      using scalar_t = decltype(tag);
      constexpr int64_t per_line = 64 / sizeof(scalar_t);
      if (fm_stride > 0) {
        const bool lines = fm_stride % per_line == 0 &&
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
    return {std::min(k, s * units / count * unit), std::min(k, (s + 1) * units / count * unit)};
  }

  template <typename scalar_t, typename index_t, typename Policy>
  int64_t run_share(const CsrOnlineArgs<scalar_t, index_t>& args, const Policy& policy, int64_t k0,
                    int64_t k1, const std::atomic<bool>& stop, UndoLog* log) {
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
    dispatch_float(weight.scalar_type(), "the online rule", [&](auto tag) {
      using scalar_t = decltype(tag);
      dispatch_index(x, [&](auto itag) {
        using index_t = decltype(itag);
        const CsrOnlineArgs<scalar_t, index_t> args{rows<scalar_t, index_t>(),
                                                    w.mutable_data_ptr<scalar_t>(),
                                                    b.mutable_data_ptr<scalar_t>(),
                                                    k,
                                                    fm_stride,
                                                    n,
                                                    online_step<scalar_t>(*this)};
        const auto policy = make(scalar_t{});
        auto record = [&](int64_t row) {
          if (row < 0) return;
          stop.store(true, std::memory_order_relaxed);
          int64_t seen = bad_row.load();
          while (row < seen && !bad_row.compare_exchange_weak(seen, row)) {}
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
            if (k0 < k1) { record(run_share(args, policy, k0, k1, stop, journal.open(elem))); }
          }
          return;
        }
        // One share of the outputs per thread, claimed by whichever thread
        // comes (a late thread's share is run by another, not waited for).
        std::atomic<int64_t> next{0};
        torch::stable::parallel_for(0, count, 1, [&](int64_t, int64_t) {
          for (int64_t s = next++; s < count; s = next++) {
            const auto [k0, k1] = share(s, count);
            if (k0 < k1) { record(run_share(args, policy, k0, k1, stop, journal.open(elem))); }
          }
        });
      });
    });
    return stop.load() ? bad_row.load() : -1;
  }
};

}  // namespace torch_perceptron::cpu
