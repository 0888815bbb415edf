// The CPU kernels of every op with a loop of its own, registered by name:
// each op is its Call (the operands and the CPU's loop, online_loop.h,
// multiclass_loop.h, csr_online_loop.h, csr_multiclass_loop.h) behind one
// of entries.h's entry points, the variants with their policies. The
// forward and mini-batch ops of dense x are matmul_ops.cpp's.
#include "../entries.h"
#include "averaged_policy.h"
#include "csr_multiclass_loop.h"
#include "csr_online_loop.h"
#include "kernels.h"
#include "multiclass_loop.h"
#include "online_loop.h"
#include "pocket_policy.h"

namespace torch_perceptron::cpu {
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

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("online_update", TORCH_BOX(&Online::plain));
  m.impl("online_update_csr", TORCH_BOX(&CsrOnline::plain));
  m.impl("multiclass_update", TORCH_BOX(&Multiclass::plain));
  m.impl("multiclass_update_csr", TORCH_BOX(&CsrMulticlass::plain));
  m.impl("online_update_averaged",
         TORCH_BOX(&Online::averaged<AveragedPolicy>));
  m.impl("online_update_averaged_csr",
         TORCH_BOX(&CsrOnline::averaged<AveragedPolicy>));
  m.impl("multiclass_update_averaged",
         TORCH_BOX(&Multiclass::averaged<AveragedMulticlassPolicy>));
  m.impl("multiclass_update_averaged_csr",
         TORCH_BOX(&CsrMulticlass::averaged<AveragedMulticlassPolicy>));
  m.impl("online_update_pocket", TORCH_BOX(&Online::pocket<PocketPolicy>));
  m.impl("online_update_pocket_csr",
         TORCH_BOX(&CsrOnline::pocket<PocketPolicy>));
  m.impl("multiclass_update_pocket",
         TORCH_BOX(&Multiclass::pocket<PocketMulticlassPolicy>));
  m.impl("multiclass_update_pocket_csr",
         TORCH_BOX(&CsrMulticlass::pocket<PocketMulticlassPolicy>));
  m.impl("online_update_penalized", TORCH_BOX(&Penalized::plain));
  m.impl("online_update_penalized_csr", TORCH_BOX(&PenalizedCsr::plain));
  m.impl("decision_function_csr", TORCH_BOX(&Forward::scores));
  m.impl("predict_csr", TORCH_BOX(&Forward::labels));
  m.impl("batch_update_csr", TORCH_BOX(&Batch::plain));
}

}  // namespace torch_perceptron::cpu
