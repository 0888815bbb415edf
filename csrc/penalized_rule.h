// The penalized online rule (scikit-learn's `_plain_sgd` for its Perceptron
// with penalty "l2", "l1" or "elasticnet"), one output's walk over the
// samples, host and device code alike: the CPU runs one walk per output on its
// threads (cpu/penalized_kernel.cpp), CUDA one per thread
// (cuda/penalized_kernel.cu), so both round exactly alike.
//
// Why a walk of its own and not a policy over the online loop (policies.h):
// scikit-learn keeps the weights as `wscale * w` (its WeightVector), scales
// wscale at every sample, and rounds every step through that scale, so the
// weights it learns are not the textbook rule's plus a decay: matching its
// model means doing its arithmetic, operation for operation. That is what
// this walk does, with scikit-learn's types: doubles where it keeps doubles
// (wscale, the norms, u, the dot's accumulator, the update), the weights'
// dtype where its float32 variant rounds (the weights, q, the step handed to
// `add`, the `wscale` local of `add`, the dot it returns). Built with
// -ffp-contract=off / --fmad=false, as scikit-learn's C is (no FMA).
//
// Per sample, in scikit-learn's order (_sgd_fast.pyx.tp, _weight_vector.pyx.tp):
//   p = dot(w, x) * wscale + b
//   loss += max(0, -y p); objective += that, then
//     alpha ((1 - l1_ratio) 0.5 norm^2 + l1_ratio l1norm)   (its bookkeeping)
//   update = lr * y * sample_weight on a mistake, else 0
//   scale(decay): wscale *= decay, the norms too; wscale below
//     1e-9 (float64) / 1e-6 (float32): w *= wscale, wscale = 1
//   update != 0: w += x * (update / wscale) over the row's entries, the norms
//     recomputed over those entries; b += update * bias_step
//   l1_ratio > 0: u += l1_ratio lr alpha; the truncated gradient (Tsuruoka et
//     al. 2009) on the row's entries, with the cumulative q.
// A dense row's entries are all in_features; a CSR row's its stored ones.
#pragma once

#include <math.h>  // ::sqrt, ::fabs: host and device alike
#include <cstdint>

#include "rows.h"

namespace torch_perceptron {

// The columns of `state` [K, kPenaltyState], float64, per output: what
// scikit-learn's WeightVector and `_plain_sgd` keep across samples and epochs.
enum PenaltyState : int {
  kWscale = 0,  // the true weights are wscale * weight
  kU = 1,       // the cumulative L1 penalty, sum of l1_ratio * lr * alpha
  kSqNorm = 2,  // WeightVector.sq_norm (stale between steps, as there)
  kL1Norm = 3,  // WeightVector.l1_norm
  kPenaltyState = 4,
};

// The reset threshold of wscale: WeightVector64's and WeightVector32's.
template <typename scalar_t>
TP_HOST_DEVICE constexpr double wscale_floor() {
  return sizeof(scalar_t) == 4 ? 1e-6 : 1e-9;
}

template <typename scalar_t>
struct PenalizedArgs {
  scalar_t* w;         // [K, in] (the weights before wscale)
  scalar_t* b;         // [K]
  double* state;       // [K, kPenaltyState]
  scalar_t* q;         // [K, in], or nullptr without L1 (l1_ratio == 0)
  const scalar_t* y;   // [N, K] of 0/1
  const scalar_t* sw;  // [N] or nullptr
  // The sample order, or nullptr: visit i of output o reads row
  // order[o * order_stride + i] of x, y and sw (operands.h's convention:
  // stride 0 for one order [M] for all, M for one per output). n counts the
  // visits.
  const int64_t* order;
  int64_t order_stride;
  int64_t n, in, k;
  double lr, alpha, l1_ratio, bias_step;
  bool zero_is_mistake;
  int64_t* mistakes;  // [K]
  double* loss;       // [K] or nullptr
  double* objective;  // [K] or nullptr
};

// The sample's entries as (column, value) pairs: a dense row's are every
// column, a CSR row's its stored ones (as scikit-learn's ArrayDataset and
// CSRDataset hand them to its loop).
template <typename scalar_t>
struct DenseEntries {
  const scalar_t* values;
  int64_t length;
  TP_HOST_DEVICE int64_t size() const { return length; }
  TP_HOST_DEVICE int64_t col(int64_t j) const { return j; }
  TP_HOST_DEVICE scalar_t value(int64_t j) const { return values[j]; }
};

template <typename scalar_t, typename index_t>
struct CsrEntries {
  const scalar_t* values;
  const index_t* cols;
  int64_t nnz;
  TP_HOST_DEVICE int64_t size() const { return nnz; }
  TP_HOST_DEVICE int64_t col(int64_t j) const { return cols[j]; }
  TP_HOST_DEVICE scalar_t value(int64_t j) const { return values[j]; }
};

// Output o's walk over its n visits (the rows in order, or through
// a.order). `row(r)` gives row r's entries; `row_ok(r)` says whether they may
// be read (the CPU's CSR column check). Returns the first row (of x) met
// whose columns are bad or whose decision value is not finite, or -1. Reads
// and writes only output o's weights, q and state.
template <typename scalar_t, typename RowAt, typename RowOk>
TP_HOST_DEVICE int64_t penalized_walk(const PenalizedArgs<scalar_t>& a, int64_t o, RowAt row,
                                      RowOk row_ok) {
  scalar_t* w = a.w + o * a.in;
  scalar_t* q = a.q != nullptr ? a.q + o * a.in : nullptr;
  double* st = a.state + o * kPenaltyState;
  double wscale = st[kWscale], u = st[kU], sq_norm = st[kSqNorm], l1_norm = st[kL1Norm];
  scalar_t bias = a.b[o];
  double loss = a.loss != nullptr ? a.loss[o] : 0.0;
  double objective = a.objective != nullptr ? a.objective[o] : 0.0;
  int64_t mistakes = 0;
  // As scikit-learn computes them at every sample (the same each time).
  const double shrink = 1.0 - ((1.0 - a.l1_ratio) * a.lr * a.alpha);
  const scalar_t decay = static_cast<scalar_t>(shrink > 0 ? shrink : 0.0);
  const double l1_step = a.l1_ratio * a.lr * a.alpha;
  const bool l1 = q != nullptr && a.l1_ratio > 0;
  int64_t bad = -1;
  const int64_t* order = a.order != nullptr ? a.order + o * a.order_stride : nullptr;
  for (int64_t visit = 0; visit < a.n; ++visit) {
    const int64_t i = order != nullptr ? order[visit] : visit;
    if (!row_ok(i)) {
      bad = i;
      break;
    }
    const auto x = row(i);
    // WeightVector.dot: a double sum of the dtype's products, times wscale,
    // returned in the dtype; the intercept added in double.
    double dot = 0.0;
    for (int64_t j = 0; j < x.size(); ++j) { dot += static_cast<double>(w[x.col(j)] * x.value(j)); }
    const double p =
        static_cast<double>(static_cast<scalar_t>(dot * wscale)) + static_cast<double>(bias);
    if (!(p - p == 0.0)) {  // NaN or Inf
      bad = i;
      break;
    }
    const bool positive = a.y[i * a.k + o] != 0;
    const double ys = positive ? 1.0 : -1.0;
    const double z = p * ys;
    if (a.loss != nullptr || a.objective != nullptr) {
      // Hinge(0).cy_loss: threshold - z at z <= threshold.
      const double cur = z <= 0.0 ? 0.0 - z : 0.0;
      loss += cur;
      objective += cur;
      // norm() and l1norm() return the dtype; norm() ** 2 squares in it.
      const scalar_t norm = static_cast<scalar_t>(::sqrt(sq_norm));
      const double sq = static_cast<double>(static_cast<scalar_t>(norm * norm));
      const double l1n = static_cast<double>(static_cast<scalar_t>(l1_norm));
      objective += a.alpha * ((1 - a.l1_ratio) * 0.5 * sq + a.l1_ratio * l1n);
    }
    const bool mistake = a.zero_is_mistake ? z <= 0.0 : ((p > 0.0) != positive);
    double update = 0.0;
    if (mistake) {
      ++mistakes;
      update = a.lr * ys;
      if (a.sw != nullptr) update *= static_cast<double>(a.sw[i]);
    }
    // WeightVector.scale(decay).
    wscale *= static_cast<double>(decay);
    sq_norm *= static_cast<double>(static_cast<scalar_t>(decay * decay));
    l1_norm *= ::fabs(static_cast<double>(decay));
    if (wscale < wscale_floor<scalar_t>()) {
      // reset_wscale: BLAS scal by wscale in the dtype.
      const scalar_t s = static_cast<scalar_t>(wscale);
      for (int64_t j = 0; j < a.in; ++j) w[j] *= s;
      wscale = 1.0;
    }
    if (update != 0.0) {
      // WeightVector.add(x, c): c and its local wscale in the dtype.
      const scalar_t ws = static_cast<scalar_t>(wscale);
      const scalar_t c = static_cast<scalar_t>(update) / ws;
      double l2acc = 0.0, l1acc = 0.0;
      for (int64_t j = 0; j < x.size(); ++j) {
        scalar_t& wj = w[x.col(j)];
        wj = static_cast<scalar_t>(static_cast<double>(wj) +
                                   static_cast<double>(x.value(j)) * static_cast<double>(c));
        l2acc += static_cast<double>(wj * wj);
        l1acc += ::fabs(static_cast<double>(wj));
      }
      sq_norm = l2acc * static_cast<double>(static_cast<scalar_t>(ws * ws));
      l1_norm = l1acc * static_cast<double>(ws);
      // The intercept's step, in double as scikit-learn's intercept is, then
      // rounded to the bias's dtype (exact for float64).
      if (a.bias_step != 0.0) {
        bias = static_cast<scalar_t>(static_cast<double>(bias) + update * a.bias_step);
      }
    }
    if (l1) {
      // l1penalty: each entry pulled towards 0 by what it has not yet paid of
      // u, never across it; q[j] is what it has paid.
      u += l1_step;
      for (int64_t j = 0; j < x.size(); ++j) {
        const int64_t c = x.col(j);
        const double before = static_cast<double>(w[c]);
        if (wscale * before > 0.0) {
          const double v = static_cast<double>(w[c]) - ((u + static_cast<double>(q[c])) / wscale);
          w[c] = static_cast<scalar_t>(v > 0.0 ? v : 0.0);
        } else if (wscale * before < 0.0) {
          const double v = static_cast<double>(w[c]) + ((u - static_cast<double>(q[c])) / wscale);
          w[c] = static_cast<scalar_t>(v < 0.0 ? v : 0.0);
        }
        q[c] = static_cast<scalar_t>(static_cast<double>(q[c]) +
                                     wscale * (static_cast<double>(w[c]) - before));
      }
    }
  }
  st[kWscale] = wscale;
  st[kU] = u;
  st[kSqNorm] = sq_norm;
  st[kL1Norm] = l1_norm;
  a.b[o] = bias;
  a.mistakes[o] += mistakes;
  if (a.loss != nullptr) a.loss[o] = loss;
  if (a.objective != nullptr) a.objective[o] = objective;
  return bad;
}

}  // namespace torch_perceptron
