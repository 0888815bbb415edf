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
#include <ATen/ATen.h>
#include <torch/library.h>

#include "../checks.h"
#include "../state_checks.h"
#include "../variant_state.h"
#include "multiclass_loop.h"
#include "online_loop.h"

namespace torch_perceptron {
namespace {

template <typename scalar_t>
struct AveragedPolicy {
  scalar_t* weight_acc;  // [K, in]
  scalar_t* bias_acc;    // [K]
  const int64_t* count;  // [K], samples seen before this call
  int64_t in;
  bool fit_intercept;

  // Writes only on a mistake, to rows of its own output: no per-thread copy.
  AveragedPolicy block(int64_t, int64_t) { return *this; }
  void flush() {}
  static constexpr bool kOnCorrect = false;
  void correct(int64_t) {}
  void mistake(int64_t o, int64_t i, const scalar_t* xi, scalar_t step,
               const scalar_t*, scalar_t) {
    // The sample's 1-based index is count + i + 1; the step is weighed by
    // how many samples came before it.
    const scalar_t cs = static_cast<scalar_t>(count[o] + i) * step;
    cpu::axpy(weight_acc + o * in, xi, cs, in);
    if (fit_intercept) bias_acc[o] += cs;
  }
  void done(int64_t, const scalar_t*, scalar_t) {}
};

template <typename scalar_t>
struct AveragedMulticlassPolicy {
  scalar_t* weight_acc;
  scalar_t* bias_acc;
  int64_t count;
  int64_t in;
  bool fit_intercept;

  void correct() {}
  void mistake(int64_t i, const scalar_t* xi, int64_t t, int64_t yhat,
               scalar_t step, const cpu::MulticlassModel<scalar_t>&) {
    const scalar_t cs = static_cast<scalar_t>(count + i) * step;
    cpu::axpy(weight_acc + t * in, xi, cs, in);
    cpu::axpy(weight_acc + yhat * in, xi, -cs, in);
    if (fit_intercept) {
      bias_acc[t] += cs;
      bias_acc[yhat] -= cs;
    }
  }
  void done(const cpu::MulticlassModel<scalar_t>&) {}
};

at::Tensor online_update_averaged_cpu(
    at::Tensor& weight, at::Tensor& bias, at::Tensor& weight_acc,
    at::Tensor& bias_acc, at::Tensor& count, const at::Tensor& x,
    const at::Tensor& y, double lr,
    const std::optional<at::Tensor>& sample_weight, bool zero_is_mistake,
    bool fit_intercept) {
  cpu::OnlineCall call(weight, bias, x, y, lr, sample_weight, zero_is_mistake);
  call.fit_intercept = fit_intercept;
  check_averaged_state(weight, bias, weight_acc, bias_acc, count, call.k);
  at::Tensor wacc = weight_acc.contiguous(), bacc = bias_acc.contiguous();
  const at::Tensor count0 = count.contiguous();
  return run_averaged(call, weight_acc, bias_acc, count, wacc, bacc,
                      [&](auto tag) {
                        using scalar_t = decltype(tag);
                        return AveragedPolicy<scalar_t>{
                            wacc.data_ptr<scalar_t>(),
                            bacc.data_ptr<scalar_t>(),
                            count0.const_data_ptr<int64_t>(), call.in,
                            fit_intercept};
                      });
}

at::Tensor multiclass_update_averaged_cpu(
    at::Tensor& weight, at::Tensor& bias, at::Tensor& weight_acc,
    at::Tensor& bias_acc, at::Tensor& count, const at::Tensor& x,
    const at::Tensor& y, double lr,
    const std::optional<at::Tensor>& sample_weight, bool fit_intercept) {
  cpu::MulticlassCall call(weight, bias, x, y, lr, sample_weight);
  call.fit_intercept = fit_intercept;
  check_averaged_state(weight, bias, weight_acc, bias_acc, count, 1);
  at::Tensor wacc = weight_acc.contiguous(), bacc = bias_acc.contiguous();
  const int64_t count0 = count.item<int64_t>();
  return run_averaged(call, weight_acc, bias_acc, count, wacc, bacc,
                      [&](auto tag) {
                        using scalar_t = decltype(tag);
                        return AveragedMulticlassPolicy<scalar_t>{
                            wacc.data_ptr<scalar_t>(),
                            bacc.data_ptr<scalar_t>(), count0, call.in,
                            fit_intercept};
                      });
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("online_update_averaged", &online_update_averaged_cpu);
  m.impl("multiclass_update_averaged", &multiclass_update_averaged_cpu);
}

}  // namespace torch_perceptron
