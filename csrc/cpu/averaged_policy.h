// The averaged perceptron (Freund & Schapire 1999) on the CPU, binary /
// one-vs-rest and multiclass, in the running-average form.
//
// The average of the weights after each of c samples, (w_1 + ... + w_c) / c,
// equals w_c - u / c where u sums (s - 1) * d_s over the updates d_s made at
// sample s (1-based). So a kernel keeps u beside w, adds to it only on a
// mistake, and a correct prediction costs nothing extra; the average is taken
// on demand (torch_perceptron.ops.averaged_parameters). `count` holds c per
// output and persists across calls, so epochs and batches average over every
// sample seen since the state was zeroed. The policies follow policies.h; a
// mistake adds to the accumulator through the row (rows.h), so a sparse row
// touches only its non-zeros.
#pragma once

#include "../variant_state.h"

namespace torch_perceptron::cpu {

// The hooks (policies.h) write only on a mistake, to rows of their own
// output: the policy is its own hooks, with nothing kept per thread.
template <typename scalar_t>
struct AveragedPolicy : AveragedArgs<scalar_t> {
  explicit AveragedPolicy(const AveragedArgs<scalar_t>& a) : AveragedArgs<scalar_t>(a) {}

  static constexpr bool kCountsCorrect = false;
  AveragedPolicy begin(int64_t, int64_t) const { return *this; }
  void correct(int64_t, int64_t) {}
  template <typename Row>
  void mistake(int64_t o, int64_t i, const Row& row, scalar_t step, const scalar_t*, scalar_t) {
    // The sample's 1-based index is count + i + 1; the step is weighed by
    // how many samples came before it.
    const scalar_t c = static_cast<scalar_t>(this->count[o] + i);
    row.add_to(this->weight_acc + o * this->in, c * step);
    if (this->bias_step != 0) this->bias_acc[o] += c * (step * this->bias_step);
  }
  void done(int64_t, const scalar_t*, scalar_t) {}
  void end() {}
};

template <typename scalar_t>
struct AveragedMulticlassPolicy : AveragedArgs<scalar_t> {
  explicit AveragedMulticlassPolicy(const AveragedArgs<scalar_t>& a) : AveragedArgs<scalar_t>(a) {}

  static constexpr bool kCountsCorrect = false;
  AveragedMulticlassPolicy begin() const { return *this; }
  void correct(int64_t) {}
  template <typename Row, typename Model>
  void mistake(int64_t i, const Row& row, int64_t t, int64_t yhat, scalar_t step, const Model&) {
    const scalar_t c = static_cast<scalar_t>(*this->count + i);
    const scalar_t cs = c * step;
    row.add_to(this->weight_acc + t * this->in, cs);
    row.add_to(this->weight_acc + yhat * this->in, -cs);
    if (this->bias_step != 0) {
      const scalar_t cb = c * (step * this->bias_step);
      this->bias_acc[t] += cb;
      this->bias_acc[yhat] -= cb;
    }
  }
  template <typename Model>
  void done(const Model&) {}
  void end() {}
};

}  // namespace torch_perceptron::cpu
