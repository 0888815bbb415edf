// The CPU's kernels behind every op (register_ops.h): the Calls of its loops
// (online_loop.h, multiclass_loop.h, csr_online_loop.h,
// csr_multiclass_loop.h), its policies and its plain kernels.
#include "../register_ops.h"
#include "averaged_policy.h"
#include "csr_multiclass_loop.h"
#include "csr_online_loop.h"
#include "kernels.h"
#include "multiclass_loop.h"
#include "online_loop.h"
#include "pocket_policy.h"

namespace torch_perceptron::cpu {
namespace {

struct Cpu {
  using OnlineCall = cpu::OnlineCall;
  using MulticlassCall = cpu::MulticlassCall;
  using CsrOnlineCall = cpu::CsrOnlineCall;
  using CsrMulticlassCall = cpu::CsrMulticlassCall;
  template <typename T>
  using Averaged = AveragedPolicy<T>;
  template <typename T>
  using AveragedMulticlass = AveragedMulticlassPolicy<T>;
  template <typename T>
  using Pocket = PocketPolicy<T>;
  template <typename T>
  using PocketMulticlass = PocketMulticlassPolicy<T>;
  static constexpr auto net_input_csr = &cpu::net_input_csr;
  static constexpr auto batch_steps_csr = &cpu::batch_steps_csr;
  static constexpr auto penalized_dense = &cpu::penalized_dense;
  static constexpr auto penalized_csr = &cpu::penalized_csr;
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) { register_ops<Cpu>(m); }

}  // namespace torch_perceptron::cpu
