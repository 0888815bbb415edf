// The loops of the sparse (CSR) multiclass rule on the CPU, for the plain,
// averaged and pocket ops alike (register.cpp): one thread walks the rows
// (every sample needs all K decision values before it can update), row by
// row and class by class, or on feature-major weights (a copy, or the
// caller's own, in place), as csr_online_loop.h describes for the online rule.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "csr_online_loop.h"

namespace torch_perceptron::cpu {

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

// The multiclass rule over CSR rows, on one thread (every sample needs all K
// decision values before it can update). Returns the first bad row, or -1.
template <typename scalar_t, typename index_t, typename Policy>
int64_t csr_multiclass_rows(const CsrRows<scalar_t, index_t>& x, scalar_t* w, scalar_t* b,
                            int64_t k, const MulticlassStep<scalar_t>& rule, const Policy& policy,
                            UndoLog* log) {
  const int64_t in = x.in;
  const CsrMulticlassModel<scalar_t> model{w, b, k, in};
  auto hooks = policy.begin();
  int64_t wrong = 0;
  for (int64_t i = 0; i < x.n; ++i) {
    const CsrRow<scalar_t, index_t> row = x.row(i);
    // The first class's dot checks the row.
    ClassArgmax<scalar_t> argmax;
    for (int64_t c = 0; c < k; ++c) {
      bool good = true;
      const scalar_t* w_c = w + c * in;
      const scalar_t z =
          (c == 0 ? csr_dot<true>(row, w_c, in, good) : csr_dot<false>(row, w_c, in, good)) + b[c];
      if (!good) {
        hooks.end();
        return i;
      }
      argmax.offer(c, z);
    }
    if (!argmax.finite) {
      hooks.end();
      return i;
    }
    const int64_t yhat = argmax.yhat;
    const int64_t t = rule.target(i);
    if (yhat == t) {
      if constexpr (decltype(hooks)::kCountsCorrect) hooks.correct(1);
      continue;
    }
    ++wrong;
    const scalar_t step = rule.step(i);
    hooks.mistake(i, row, t, yhat, step, model);
    if (log != nullptr) {
      log->save(w + t * in, row.cols, row.nnz, 1, 1);
      log->save(w + yhat * in, row.cols, row.nnz, 1, 1);
      log->save(b + t, 1);
      log->save(b + yhat, 1);
    }
    row.add_to(w + t * in, step);
    row.add_to(w + yhat * in, -step);
    rule.move_biases([b](int64_t c) -> scalar_t& { return b[c]; }, t, yhat, step);
  }
  hooks.done(model);
  hooks.end();
  *rule.mistakes += wrong;
  return -1;
}

// A multiclass mistake on feature-major weights (class c's weight of feature
// j at wt[j * stride + c]): class t gains step * x, class yhat loses it.
template <typename scalar_t, typename index_t>
inline void move_feature_major(const CsrRow<scalar_t, index_t>& row, scalar_t* wt, int64_t stride,
                               int64_t t, int64_t yhat, scalar_t step) {
  for (int64_t q = 0; q < row.nnz; ++q) {
    scalar_t* col = wt + static_cast<int64_t>(row.cols[q]) * stride;
    const scalar_t v = row.values[q];
    col[t] += step * v;
    col[yhat] += -step * v;
  }
}

// The multiclass rule on a feature-major copy of the K weight rows (as
// csr_online_feature_major): one gather of a column brings its weights for
// every class, so a row is read once for all K decision values; a mistake
// then writes two lanes per non-zero. Writes w and b only at the end, when
// every row was good; returns the first bad row, or -1.
template <int G, typename scalar_t, typename index_t>
int64_t csr_multiclass_feature_major(const CsrRows<scalar_t, index_t>& x, scalar_t* w, scalar_t* b,
                                     int64_t k, const MulticlassStep<scalar_t>& rule) {
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
    ClassArgmax<scalar_t> argmax;
    for (int64_t c = 0; c < k; ++c) argmax.offer(c, z[c]);
    if (!argmax.finite) return i;
    const int64_t yhat = argmax.yhat;
    const int64_t t = rule.target(i);
    if (yhat == t) continue;
    ++wrong;
    const scalar_t step = rule.step(i);
    move_feature_major(row, wt, W, t, yhat, step);
    rule.move_biases([&bias](int64_t c) -> scalar_t& { return bias[c]; }, t, yhat, step);
  }
  from_feature_major(wt, W, k, in, w);
  for (int64_t c = 0; c < k; ++c) b[c] = bias[c];
  *rule.mistakes += wrong;
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
int64_t csr_multiclass_in_place(const CsrRows<scalar_t, index_t>& x, scalar_t* wt, int64_t stride,
                                scalar_t* b, int64_t k, const MulticlassStep<scalar_t>& rule,
                                UndoLog* log) {
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
    ClassArgmax<scalar_t> argmax;
    for (int64_t c = 0; c < k; ++c) argmax.offer(c, (z0[c] + z1[c]) + bias[c]);
    if (!argmax.finite) return i;
    const int64_t yhat = argmax.yhat;
    const int64_t t = rule.target(i);
    if (yhat == t) continue;
    ++wrong;
    const scalar_t step = rule.step(i);
    if (log != nullptr) {
      log->save(wt + t, row.cols, row.nnz, stride, 1);
      log->save(wt + yhat, row.cols, row.nnz, stride, 1);
    }
    move_feature_major(row, wt, stride, t, yhat, step);
    rule.move_biases([&bias](int64_t c) -> scalar_t& { return bias[c]; }, t, yhat, step);
  }
  std::copy(bias.begin(), bias.end(), b);
  *rule.mistakes += wrong;
  return -1;
}

struct CsrMulticlassCall : CsrMulticlassOperands {
  using CsrMulticlassOperands::CsrMulticlassOperands;
  // The plain rule keeps the caller's feature-major weights (choose_layout).
  static constexpr bool kKeepsFeatureMajor = true;
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
    feature_major = dispatch_float(weight.scalar_type(), "the multiclass rule", [&](auto tag) {
      return k <= kMaxVectors * kLanes<decltype(tag)> && 2 * x.nnz >= in;
    });
  }

  template <typename MakePolicy>
  int64_t run(MakePolicy make) {
    int64_t bad_row = -1;
    dispatch_float(weight.scalar_type(), "the multiclass rule", [&](auto tag) {
      using scalar_t = decltype(tag);
      dispatch_index(x, [&](auto itag) {
        using index_t = decltype(itag);
        const auto policy = make(scalar_t{});
        if constexpr (std::is_same_v<std::decay_t<decltype(policy)>, NoMulticlassPolicy>) {
          if (fm_stride > 0) {
            bad_row = csr_multiclass_in_place(
                rows<scalar_t, index_t>(), w.mutable_data_ptr<scalar_t>(), fm_stride,
                b.mutable_data_ptr<scalar_t>(), k, multiclass_step<scalar_t>(*this),
                journal.open(sizeof(scalar_t)));
            return;
          }
          if (feature_major) {
            constexpr int L = kLanes<scalar_t>;
            auto run_fm = [&](auto g) {
              return csr_multiclass_feature_major<decltype(g)::value>(
                  rows<scalar_t, index_t>(), w.mutable_data_ptr<scalar_t>(),
                  b.mutable_data_ptr<scalar_t>(), k, multiclass_step<scalar_t>(*this));
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
            b.mutable_data_ptr<scalar_t>(), k, multiclass_step<scalar_t>(*this), policy,
            journal.open(sizeof(scalar_t)));
      });
    });
    return bad_row;
  }
};

}  // namespace torch_perceptron::cpu
