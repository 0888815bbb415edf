#include "state_checks.h"

namespace torch_perceptron {

void check_like(const at::Tensor& t, const char* name, const at::Tensor& ref,
                const char* ref_name) {
  TORCH_CHECK(t.sizes() == ref.sizes(), name, ": expected shape ", ref.sizes(),
              " (the ", ref_name, "'s), got ", t.sizes());
  TORCH_CHECK(t.scalar_type() == ref.scalar_type(), name, ": expected dtype ",
              ref.scalar_type(), " (the ", ref_name, "'s), got ",
              t.scalar_type());
  TORCH_CHECK(t.device() == ref.device(), name, ": expected device ",
              ref.device(), " (the ", ref_name, "'s), got ", t.device());
  TORCH_CHECK_VALUE(t.numel() == 0 || at::isfinite(t).all().item<bool>(), name,
                    ": expected finite values, found NaN or Inf");
}

void check_counters(const at::Tensor& t, const char* name, int64_t k,
                    const at::Device& device) {
  TORCH_CHECK(t.dim() == 1 && t.size(0) == k, name, ": expected shape [", k,
              "], got ", t.sizes());
  TORCH_CHECK(t.scalar_type() == at::kLong, name, ": expected dtype int64, got ",
              t.scalar_type());
  TORCH_CHECK(t.device() == device, name, ": expected device ", device,
              ", got ", t.device());
  TORCH_CHECK_VALUE((t >= 0).all().item<bool>(), name,
                    ": expected values >= 0, found a negative one");
}

void check_averaged_state(const at::Tensor& weight, const at::Tensor& bias,
                          const at::Tensor& weight_acc,
                          const at::Tensor& bias_acc, const at::Tensor& count,
                          int64_t counters) {
  check_like(weight_acc, "weight_acc", weight, "weight");
  check_like(bias_acc, "bias_acc", bias, "bias");
  check_counters(count, "count", counters, weight.device());
}

}  // namespace torch_perceptron
