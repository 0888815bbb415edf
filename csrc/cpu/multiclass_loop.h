// The loop of the multiclass perceptron on the CPU, shared by the plain,
// averaged and pocket kernels.
//
// One weight row per class, the predicted class is the argmax of the K decision
// values, and a mistake moves two rows. Every sample needs all K rows before it
// can update, so it runs on one thread: splitting the K dots of a sample
// across two threads would need a handshake per sample, which costs more than
// the dots. What it gains instead is one pass over x_i for up to kGroupRows
// classes (dots_group), decision values compared as vectors (a vector max, then
// the first lane equal to it: no branch per class), and the rows in a
// cache-line-aligned, padded copy (PaddedRows), like the online loop.
//
// A variant's extra work is a policy, whose hooks the loop calls as
// policies.h describes; the model they see is MulticlassModel, the loop's
// padded copy of the weights and biases. The plain rule's hooks are empty and
// compile away.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "../checks.h"
#include "../online_step.h"
#include "../operands.h"
#include "../policies.h"
#include "../rows.h"
#include "lanes.h"
#include "vec.h"

namespace torch_perceptron::cpu {

// The loop's working copy of the model, as a policy's hooks see it.
template <typename scalar_t>
struct MulticlassModel {
  const scalar_t* w;  // row c at w + c * stride
  int64_t stride;
  const Lanes<scalar_t>* bias;  // kGroupRows classes a vector
  int64_t k, in;

  const scalar_t* row(int64_t c) const { return w + c * stride; }
  scalar_t bias_of(int64_t c) const { return bias[c / kGroupRows][c % kGroupRows]; }
  // Rows and biases into plain [K, in] and [K] arrays.
  void copy_to(scalar_t* dst_w, scalar_t* dst_b) const {
    for (int64_t c = 0; c < k; ++c) {
      std::memcpy(dst_w + c * in, row(c), in * sizeof(scalar_t));
      dst_b[c] = bias_of(c);
    }
  }
};

// The largest lane of v, in a tree of lane-wise maxima.
template <typename scalar_t>
[[gnu::always_inline]] inline scalar_t max_lane(Lanes<scalar_t> v) {
  Vec4<scalar_t> m4;
  if constexpr (kGroupRows == 8) {
    const Vec4<scalar_t> a = __builtin_shufflevector(v, v, 0, 1, 2, 3);
    const Vec4<scalar_t> b = __builtin_shufflevector(v, v, 4, 5, 6, 7);
    m4 = a > b ? a : b;
  } else {
    m4 = v;
  }
  const scalar_t m0 = m4[0] > m4[2] ? m4[0] : m4[2];
  const scalar_t m1 = m4[1] > m4[3] ? m4[1] : m4[3];
  return m0 > m1 ? m0 : m1;
}

// Returns the first row whose decision value is not finite, or -1.
template <typename scalar_t, typename Policy>
int64_t multiclass_rows(scalar_t* w, scalar_t* b, const scalar_t* x, int64_t n, int64_t in,
                        int64_t k, const MulticlassStep<scalar_t>& rule, Policy& policy,
                        UndoLog* log) {
  using V = Lanes<scalar_t>;
  using M = LaneMask<scalar_t>;
  constexpr int64_t G = kGroupRows;
  const int64_t groups = (k + G - 1) / G;
  const int64_t last = k - (groups - 1) * G;  // classes in the last group
  // Rows that are whole, aligned cache lines are used in place (no working
  // copy, each row logged before its first write: a few rows of a call
  // touch a few rows of a large model); others go through a padded copy,
  // written back once every row was good.
  const bool direct =
      log != nullptr &&
      (in * static_cast<int64_t>(sizeof(scalar_t))) % PaddedRows<scalar_t>::kAlign == 0 &&
      reinterpret_cast<uintptr_t>(w) % PaddedRows<scalar_t>::kAlign == 0;
  PaddedRows<scalar_t> wp(direct ? 0 : k, in);
  if (!direct) wp.load_from(w, in, k, in);
  scalar_t* model_rows = direct ? w : wp.row(0);
  const int64_t stride = direct ? in : wp.stride();
  // Lanes past the last class have a bias of -inf: their decision value
  // (-inf) never wins the argmax against a finite one.
  std::vector<V> bias(groups);
  for (int64_t c = 0; c < groups * G; ++c) {
    bias[c / G][c % G] = c < k ? b[c] : -std::numeric_limits<scalar_t>::infinity();
  }
  const MulticlassModel<scalar_t> model{model_rows, stride, bias.data(), k, in};
  std::vector<char> changed(k, 0);
  auto hooks = policy.begin();
  int64_t wrong = 0;
  for (int64_t i = 0; i < n; ++i) {
    const scalar_t* xi = x + i * in;
    prefetch_row_ahead(x, i, n, in);
    // Group by group: the decision values, whether they are finite, and the
    // group's largest value with its first class, offered to the argmax (so
    // the lowest index wins a tie, as a strictly-greater scan does). Nothing
    // of a sample goes through memory: decision values stored on the heap
    // and read back made the loads of the weight rows wait on them whenever
    // the two shared their address modulo 4 KiB, measurably slower in some
    // processes than in others.
    ClassArgmax<scalar_t> argmax;
    auto group = [&](int64_t g, auto rows) __attribute__((always_inline)) {
      constexpr int R = decltype(rows)::value;
      const V z = dots_group<R>(model_rows + g * G * stride, stride, xi, in) + bias[g];
      // Not finite: inf - inf and NaN - NaN are NaN; finite z - z is 0.
      argmax.finite &= (lane_bits(M((z - z) != 0)) & ((1u << R) - 1)) == 0;
      const scalar_t top = max_lane<scalar_t>(z);
      const unsigned hit = lane_bits(M(z == (V{} + top)));
      // (A NaN top hits no lane; the sample is rejected anyway.)
      argmax.offer_top(g * G + __builtin_ctz(hit | 1u << kGroupRows), top);
    };
    for (int64_t g = 0; g + 1 < groups; ++g) { group(g, std::integral_constant<int, G>{}); }
    with_rows(last, [&](auto r) __attribute__((always_inline)) { group(groups - 1, r); });
    if (!argmax.finite) {
      hooks.end();
      return i;
    }
    const int64_t yhat = argmax.yhat;
    const int64_t t = rule.target(i);
    if (yhat != t) {
      ++wrong;
      const scalar_t step = rule.step(i);
      hooks.mistake(i, DenseRow<scalar_t>{xi, in}, t, yhat, step, model);
      if (direct) {
        if (!changed[t]) log->save(model_rows + t * stride, in);
        if (!changed[yhat]) log->save(model_rows + yhat * stride, in);
      }
      axpy_padded(model_rows + t * stride, xi, step, in);
      axpy_padded(model_rows + yhat * stride, xi, -step, in);
      changed[t] = changed[yhat] = 1;
      rule.move_biases([&](int64_t c) -> scalar_t& { return bias[c / G][c % G]; }, t, yhat, step);
    } else if constexpr (decltype(hooks)::kCountsCorrect) {
      hooks.correct(1);
    }
  }
  hooks.done(model);
  hooks.end();
  // Only the classes a mistake moved changed (the others hold the same
  // bits): a call of a few rows writes back a few rows of a large model.
  for (int64_t c = 0; c < k; ++c) {
    if (!changed[c]) continue;
    if (!direct) std::memcpy(w + c * in, wp.row(c), in * sizeof(scalar_t));
    b[c] = bias[c / G][c % G];
  }
  *rule.mistakes += wrong;
  return -1;
}

// One call of a multiclass op on the CPU: its operands (see operands.h) and how
// to run the rule on them.
struct MulticlassCall : MulticlassOperands {
  using MulticlassOperands::MulticlassOperands;

  // In place, each row logged before its first write; on a padded copy,
  // written back once every row was good (multiclass_rows).
  Restore restore_plan() const { return Restore::kLog; }

  // Runs the rule with the policy that make(scalar_t{}) builds; returns the
  // first bad row or -1 (the caller restores what was written).
  template <typename MakePolicy>
  int64_t run(MakePolicy make) {
    if (n == 0) return -1;
    int64_t bad_row = -1;
    dispatch_float(x.scalar_type(), "the multiclass rule", [&](auto tag) {
      using scalar_t = decltype(tag);
      auto policy = make(scalar_t{});
      bad_row = multiclass_rows<scalar_t>(
          w.mutable_data_ptr<scalar_t>(), b.mutable_data_ptr<scalar_t>(),
          x.const_data_ptr<scalar_t>(), n, in, k, multiclass_step<scalar_t>(*this), policy,
          journal.open(sizeof(scalar_t)));
    });
    return bad_row;
  }
};

}  // namespace torch_perceptron::cpu
