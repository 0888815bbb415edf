// The GPU kernels of every op with a loop of its own, registered by name, as
// cpu/register.cpp registers the CPU's: each op is its Call (the operands
// and the GPU's rule, online_rule.cuh and multiclass_rule.cuh for dense and
// CSR rows alike) behind one of entries.h's entry points, the variants with
// their block policies. The forward and mini-batch ops of dense x are
// matmul_ops.cpp's.
#include "../entries.h"
#include "averaged_policy.cuh"
#include "kernels.h"
#include "multiclass_rule.cuh"
#include "online_rule.cuh"
#include "pocket_policy.cuh"

namespace torch_perceptron::cuda {
namespace {

using Online = Entries<OnlineCall>;
using Multiclass = Entries<MulticlassCall>;
using CsrOnline = Entries<CsrOnlineCall>;
using CsrMulticlass = Entries<CsrMulticlassCall>;
using Forward = CsrForward<&net_input_csr>;
using Batch = Entries<CsrBatchCall<&net_input_csr, &batch_steps_csr>>;
using Penalized = Entries<PenalizedCall<&penalized_dense, PenalizedArgsDense>>;
using PenalizedCsr = Entries<PenalizedCall<&penalized_csr, PenalizedArgsCsr>>;

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) {
  m.impl("online_update", TORCH_BOX(&Online::plain));
  m.impl("online_update_csr", TORCH_BOX(&CsrOnline::plain));
  m.impl("multiclass_update", TORCH_BOX(&Multiclass::plain));
  m.impl("multiclass_update_csr", TORCH_BOX(&CsrMulticlass::plain));
  m.impl("online_update_averaged",
         TORCH_BOX(&Online::averaged<AveragedBlockPolicy>));
  m.impl("online_update_averaged_csr",
         TORCH_BOX(&CsrOnline::averaged<AveragedBlockPolicy>));
  m.impl("multiclass_update_averaged",
         TORCH_BOX(&Multiclass::averaged<AveragedMulticlassBlockPolicy>));
  m.impl("multiclass_update_averaged_csr",
         TORCH_BOX(&CsrMulticlass::averaged<AveragedMulticlassBlockPolicy>));
  m.impl("online_update_pocket", TORCH_BOX(&Online::pocket<PocketBlockPolicy>));
  m.impl("online_update_pocket_csr",
         TORCH_BOX(&CsrOnline::pocket<PocketBlockPolicy>));
  m.impl("multiclass_update_pocket",
         TORCH_BOX(&Multiclass::pocket<PocketMulticlassBlockPolicy>));
  m.impl("multiclass_update_pocket_csr",
         TORCH_BOX(&CsrMulticlass::pocket<PocketMulticlassBlockPolicy>));
  m.impl("online_update_penalized", TORCH_BOX(&Penalized::plain));
  m.impl("online_update_penalized_csr", TORCH_BOX(&PenalizedCsr::plain));
  m.impl("decision_function_csr", TORCH_BOX(&Forward::scores));
  m.impl("predict_csr", TORCH_BOX(&Forward::labels));
  m.impl("batch_update_csr", TORCH_BOX(&Batch::plain));
}

}  // namespace torch_perceptron::cuda
