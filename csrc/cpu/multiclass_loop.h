// The loop of the multiclass perceptron on the CPU, shared by the plain,
// averaged and pocket kernels.
//
// One weight row per class, the predicted class is the argmax of the K decision
// values, and a mistake moves two rows. Every sample needs all K rows before it
// can update, so it runs on one thread.
//
// A variant's extra work is a Policy with three hooks: correct() after a
// correct prediction, mistake(i, x_i, t, yhat, step) before row t gains
// step * x_i and row yhat loses it, and done() after the last sample. The
// plain rule's hooks are empty and compile away.
#pragma once

#include <cmath>
#include <optional>
#include <vector>

#include "../checks.h"
#include "../operands.h"
#include "vec.h"

namespace torch_perceptron::cpu {

struct NoMulticlassPolicy {
  void correct() {}
  template <typename scalar_t>
  void mistake(int64_t, const scalar_t*, int64_t, int64_t, scalar_t) {}
  void done() {}
};

// Returns the first row whose decision value is not finite, or -1.
template <typename scalar_t, typename Policy>
int64_t multiclass_rows(scalar_t* w, scalar_t* b, const scalar_t* x,
                        const int64_t* y, const scalar_t* sw, int64_t n,
                        int64_t in, int64_t k, scalar_t lr, bool fit_intercept,
                        int64_t* mistakes, Policy& policy) {
  std::vector<scalar_t> z(k);
  for (int64_t i = 0; i < n; ++i) {
    const scalar_t* xi = x + i * in;
    prefetch_row_ahead(x, i, n, in);
    dots(w, in, xi, in, k, z.data());
    int64_t yhat = 0;
    scalar_t best = 0;
    for (int64_t c = 0; c < k; ++c) {
      const scalar_t zc = z[c] + b[c];
      if (!std::isfinite(zc)) return i;
      // Strictly greater: the lowest index wins a tie.
      if (c == 0 || zc > best) {
        best = zc;
        yhat = c;
      }
    }
    const int64_t t = y[i];
    if (yhat != t) {
      *mistakes += 1;
      const scalar_t step = sw != nullptr ? lr * sw[i] : lr;
      policy.mistake(i, xi, t, yhat, step);
      axpy(w + t * in, xi, step, in);
      axpy(w + yhat * in, xi, -step, in);
      if (fit_intercept) {
        b[t] += step;
        b[yhat] -= step;
      }
    } else {
      policy.correct();
    }
  }
  policy.done();
  return -1;
}

// One call of a multiclass op on the CPU: its operands (see operands.h) and how
// to run the rule on them.
struct MulticlassCall : MulticlassOperands {
  using MulticlassOperands::MulticlassOperands;

  // Runs the rule with the policy that make(scalar_t{}) builds; returns the
  // first bad row or -1 (the caller restores what was written).
  template <typename MakePolicy>
  int64_t run(MakePolicy make) {
    if (n == 0) return -1;
    int64_t bad_row = -1;
    dispatch_float(x.scalar_type(), "multiclass_update_cpu", [&](auto tag) {
      using scalar_t = decltype(tag);
      auto policy = make(scalar_t{});
      bad_row = multiclass_rows<scalar_t>(
          w.mutable_data_ptr<scalar_t>(), b.mutable_data_ptr<scalar_t>(),
          x.const_data_ptr<scalar_t>(), y.const_data_ptr<int64_t>(),
          sw ? sw->const_data_ptr<scalar_t>() : nullptr, n, in, k,
          static_cast<scalar_t>(lr), fit_intercept,
          mistakes.mutable_data_ptr<int64_t>(), policy);
    });
    return bad_row;
  }
};

}  // namespace torch_perceptron::cpu
