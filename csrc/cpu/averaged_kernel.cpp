// The averaged perceptron (Freund & Schapire 1999) on the CPU, binary /
// one-vs-rest and multiclass, in the running-average form.
//
// The average of the weights after each of c samples, (w_1 + ... + w_c) / c,
// equals w_c - u / c where u sums (s - 1) * d_s over the updates d_s made at
// sample s (1-based). So a kernel keeps u beside w, adds to it only on a
// mistake, and a correct prediction costs nothing extra; the average is taken
// on demand (torch_perceptron.ops.averaged_parameters). `count` holds c per
// output and persists across calls, so epochs and batches average over every
// sample seen since the state was zeroed.
#include "../variants.h"
#include "multiclass_loop.h"
#include "online_loop.h"

namespace torch_perceptron {
namespace {

template <typename scalar_t>
struct AveragedPolicy : AveragedArgs<scalar_t> {
  explicit AveragedPolicy(const AveragedArgs<scalar_t>& a)
      : AveragedArgs<scalar_t>(a) {}

  // Writes only on a mistake, to rows of its own output: no per-thread copy.
  AveragedPolicy block(int64_t, int64_t) { return *this; }
  void flush() {}
  static constexpr bool kOnCorrect = false;
  void correct(int64_t) {}
  void mistake(int64_t o, int64_t i, const scalar_t* xi, scalar_t step,
               const scalar_t*, scalar_t) {
    // The sample's 1-based index is count + i + 1; the step is weighed by
    // how many samples came before it.
    const scalar_t c = static_cast<scalar_t>(this->count[o] + i);
    cpu::axpy(this->weight_acc + o * this->in, xi, c * step, this->in);
    if (this->bias_step != 0) this->bias_acc[o] += c * (step * this->bias_step);
  }
  void done(int64_t, const scalar_t*, scalar_t) {}
};

template <typename scalar_t>
struct AveragedMulticlassPolicy : AveragedArgs<scalar_t> {
  explicit AveragedMulticlassPolicy(const AveragedArgs<scalar_t>& a)
      : AveragedArgs<scalar_t>(a) {}

  void correct() {}
  void mistake(int64_t i, const scalar_t* xi, int64_t t, int64_t yhat,
               scalar_t step, const cpu::MulticlassModel<scalar_t>&) {
    const scalar_t c = static_cast<scalar_t>(*this->count + i);
    const scalar_t cs = c * step;
    const int64_t in = this->in;
    cpu::axpy(this->weight_acc + t * in, xi, cs, in);
    cpu::axpy(this->weight_acc + yhat * in, xi, -cs, in);
    if (this->bias_step != 0) {
      const scalar_t cb = c * (step * this->bias_step);
      this->bias_acc[t] += cb;
      this->bias_acc[yhat] -= cb;
    }
  }
  void done(const cpu::MulticlassModel<scalar_t>&) {}
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("online_update_averaged",
         TORCH_BOX((&online_update_averaged<cpu::OnlineCall, AveragedPolicy>)));
  m.impl("multiclass_update_averaged",
         TORCH_BOX((&multiclass_update_averaged<cpu::MulticlassCall,
                                                AveragedMulticlassPolicy>)));
}

}  // namespace torch_perceptron
