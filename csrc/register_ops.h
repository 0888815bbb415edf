// Every op with a kernel of its own, registered by name for one device: the
// one list of the ops beside the schemas (ops.cpp). A device's register file
// (cpu/register.cpp, cuda/register.cu) calls register_ops<Device>(m) with
// what it brings, a type D of
//   OnlineCall, MulticlassCall, CsrOnlineCall, CsrMulticlassCall  the Calls
//       (operands + the device's run(make), entries.h);
//   Averaged, AveragedMulticlass, Pocket, PocketMulticlass  its policies
//       (policies.h), templates over scalar_t;
//   net_input_csr, batch_steps_csr, penalized_dense, penalized_csr  its
//       plain kernels (kernels.inc), as constexpr function pointers.
// The forward and mini-batch ops of dense x are matmul_ops.cpp's.
#pragma once

#include "entries.h"
#include "penalized_operands.h"

namespace torch_perceptron {

template <typename D, typename Library>
void register_ops(Library& m) {
  using Online = Entries<typename D::OnlineCall>;
  using Multiclass = Entries<typename D::MulticlassCall>;
  using CsrOnline = Entries<typename D::CsrOnlineCall>;
  using CsrMulticlass = Entries<typename D::CsrMulticlassCall>;
  using Forward = CsrForward<D::net_input_csr>;
  using Batch = Entries<CsrBatchCall<D::net_input_csr, D::batch_steps_csr>>;
  using Penalized = Entries<PenalizedCall<D::penalized_dense, PenalizedArgsDense>>;
  using PenalizedCsr = Entries<PenalizedCall<D::penalized_csr, PenalizedArgsCsr>>;

  m.impl("online_update", TORCH_BOX(&Online::plain));
  m.impl("online_update_csr", TORCH_BOX(&CsrOnline::plain));
  m.impl("multiclass_update", TORCH_BOX(&Multiclass::plain));
  m.impl("multiclass_update_csr", TORCH_BOX(&CsrMulticlass::plain));
  m.impl("online_update_averaged", TORCH_BOX(&Online::template averaged<D::template Averaged>));
  m.impl("online_update_averaged_csr",
         TORCH_BOX(&CsrOnline::template averaged<D::template Averaged>));
  m.impl("multiclass_update_averaged",
         TORCH_BOX(&Multiclass::template averaged<D::template AveragedMulticlass>));
  m.impl("multiclass_update_averaged_csr",
         TORCH_BOX(&CsrMulticlass::template averaged<D::template AveragedMulticlass>));
  m.impl("online_update_pocket", TORCH_BOX(&Online::template pocket<D::template Pocket>));
  m.impl("online_update_pocket_csr", TORCH_BOX(&CsrOnline::template pocket<D::template Pocket>));
  m.impl("multiclass_update_pocket",
         TORCH_BOX(&Multiclass::template pocket<D::template PocketMulticlass>));
  m.impl("multiclass_update_pocket_csr",
         TORCH_BOX(&CsrMulticlass::template pocket<D::template PocketMulticlass>));
  m.impl("online_update_penalized", TORCH_BOX(&Penalized::plain));
  m.impl("online_update_penalized_csr", TORCH_BOX(&PenalizedCsr::plain));
  m.impl("decision_function_csr", TORCH_BOX(&Forward::scores));
  m.impl("predict_csr", TORCH_BOX(&Forward::labels));
  m.impl("batch_update_csr", TORCH_BOX(&Batch::plain));
}

}  // namespace torch_perceptron
