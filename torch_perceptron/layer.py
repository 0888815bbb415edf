"""PerceptronLayer: the perceptron as an nn.Module that feels like nn.Linear.

Sparse input (a ``torch.sparse_csr`` or ``torch.sparse_coo`` tensor, a
``scipy.sparse`` matrix, or a :class:`~torch_perceptron.sparse.CSRRows`) goes to
the ops' CSR forms: taken apart once by :func:`~torch_perceptron.sparse.as_csr`
(COO converted to CSR once, duplicates summed), never densified, so a call
costs what the non-zeros cost. Dense input takes the dense ops as before.
"""

from typing import Any, Literal, Optional

import torch
from torch import Tensor, nn

from . import ops, trace
from .layer_inputs import changes_weights, reads_weights
from .sparse import CSRRows, as_csr, is_sparse
from .trace import MistakeTrace

Rule = Literal["online", "batch"]


class PerceptronLayer(nn.Module):
    """A layer of perceptrons trained by the perceptron rule, not by autograd.

    ``weight [out_features, in_features]`` and ``bias [out_features]`` are buffers
    (zeros at the start, as in the textbook), so they are saved in ``state_dict``
    and moved by ``.to()``, but no optimizer sees them.

    Binary / one-vs-rest (``multiclass=False``): each of the ``out_features``
    outputs is a perceptron of its own; ``forward`` returns 0/1 predictions
    ``[*, out_features]`` in x's dtype and ``update`` takes 0/1 labels.
    Multiclass (``multiclass=True``): ``out_features`` is the number of classes;
    ``forward`` returns class indices ``[*]`` (int64) and ``update`` takes class
    indices.

    Averaged (``average=True``, Freund & Schapire 1999): ``update`` also keeps the
    running average of the weights after every sample seen since the last
    ``reset_parameters()`` (buffers ``weight_acc``, ``bias_acc``,
    ``average_count``), and ``forward`` / ``decision_function`` use the averaged
    weights. Pocket (``pocket=True``, Gallant 1990): ``update`` also keeps the
    weights with the longest run of consecutive correct predictions (per output,
    or for the whole model when multiclass; buffers ``pocket_weight``,
    ``pocket_bias``, ``pocket_run``, ``pocket_best_run``), and ``forward`` /
    ``decision_function`` use them. Both work with ``rule="online"`` only, and
    not together. ``weight`` and ``bias`` are always the rule's current weights;
    :meth:`inference_parameters` gives the ones predictions use.

    Without a bias (``bias=False``, as in ``nn.Linear``) the ``bias`` buffer is
    None and the decision value is ``x @ weight.T``: the lecture's notation
    that folds the bias into ``weight[:, 0]`` as ``w0`` and prepends a 1 to
    every input. The ops then run with ``bias_step=0`` on a bias of zeros that
    nothing keeps.

    Sparse input: ``forward``, ``decision_function`` and ``update`` also take
    ``x [N, in_features]`` as a torch sparse CSR / COO tensor, a scipy.sparse
    matrix or a ``CSRRows`` (2-D only; results as for dense ``x [N, in]``).

    numpy arrays are taken wherever tensors are (``x``, ``y``,
    ``sample_weight``; ``torch.as_tensor``, on the weights' device). One dtype
    rule for dense and sparse ``x``: its values must already be in the
    weights' dtype (float32 unless ``dtype`` says otherwise); any other dtype is
    refused (TypeError) with the conversion to make once, ``x.to(layer.weight.dtype)``
    or, for numpy and scipy, ``x.astype(numpy.float32)``, since a cast on
    every call would copy ``x`` each time. ``update`` takes a 1-D ``x
    [in_features]`` as one sample, as ``forward`` does.

    Args:
        in_features: size of each input sample.
        out_features: outputs (binary / one-vs-rest) or classes (multiclass).
        multiclass: use the multiclass perceptron rule (argmax over classes).
        lr: learning rate of the rule (> 0).
        average: predict with the averaged weights.
        pocket: predict with the pocket weights.
        bias: learn a bias (else there is none: the decision value is ``x @ weight.T``).
    """

    weight: Tensor
    bias: Optional[Tensor]

    def __init__(
        self,
        in_features: int,
        out_features: int = 1,
        *,
        multiclass: bool = False,
        lr: float = 1.0,
        device: Optional[torch.device | str] = None,
        dtype: Optional[torch.dtype] = None,
        average: bool = False,
        pocket: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if in_features < 0:
            raise ValueError(f"in_features: expected >= 0, got {in_features}")
        if out_features < 1:
            raise ValueError(f"out_features: expected >= 1, got {out_features}")
        if multiclass and out_features < 2:
            raise ValueError(f"out_features: multiclass needs >= 2 classes, got {out_features}")
        if not lr > 0 or lr == float("inf"):
            raise ValueError(f"lr: expected a finite value > 0, got {lr}")
        if average and pocket:
            raise ValueError("average and pocket: expected at most one of them, got both")
        dtype = dtype or torch.get_default_dtype()
        if dtype not in (torch.float32, torch.float64):
            # The ops take these two only; refusing here beats failing at first use.
            raise ValueError(f"dtype: expected torch.float32 or torch.float64, got {dtype}")
        self.in_features = in_features
        self.out_features = out_features
        self.multiclass = multiclass
        self.lr = float(lr)
        self.average = bool(average)
        self.pocket = bool(pocket)
        factory = {"device": device, "dtype": dtype}

        def bias_buffer(name: str) -> None:
            self.register_buffer(name, torch.zeros(out_features, **factory) if bias else None)

        self.register_buffer("weight", torch.zeros(out_features, in_features, **factory))
        bias_buffer("bias")
        counters = 1 if multiclass else out_features
        counter = {"device": device, "dtype": torch.int64}
        if self.average:
            self.register_buffer("weight_acc", torch.zeros(out_features, in_features, **factory))
            bias_buffer("bias_acc")
            self.register_buffer("average_count", torch.zeros(counters, **counter))
        if self.pocket:
            self.register_buffer("pocket_weight", torch.zeros(out_features, in_features, **factory))
            bias_buffer("pocket_bias")
            self.register_buffer("pocket_run", torch.zeros(counters, **counter))
            self.register_buffer("pocket_best_run", torch.zeros(counters, **counter))

    def reset_parameters(self) -> None:
        """Sets the weights and bias back to zeros."""
        with torch.no_grad():
            for t in self.buffers():
                t.zero_()

    def inference_parameters(self) -> tuple[Tensor, Tensor]:
        """The weights ``[out_features, in_features]`` and bias ``[out_features]``
        that predictions use: the averaged ones with ``average=True`` (new
        tensors), the pocket with ``pocket=True``, else ``weight`` and ``bias``
        (zeros without a bias)."""
        if self.average:
            return ops.averaged_parameters(
                self.weight,
                self._bias_or_zeros(self.bias),
                self.weight_acc,
                self._bias_or_zeros(self.bias_acc),
                self.average_count,
            )
        if self.pocket:
            return self.pocket_weight, self._bias_or_zeros(self.pocket_bias)
        return self.weight, self._bias_or_zeros(self.bias)

    def _keep_layout(self, feature_major: bool) -> None:
        """Keeps ``weight`` in the layout the coming updates want, changing it
        (one copy) only when the kind of update changes. Sparse rows into the
        plain one-vs-rest or multiclass rule on the CPU want it feature-major: the transpose
        of a ``[in_features, K']`` tensor whose rows are whole cache lines
        (K' >= K), which the op updates in place, a row's non-zeros reading
        every output's weights at once, so that a call costs its non-zeros
        and not the model's size (the CPU's feature-major CSR strategy). Everything else wants
        it row-major. ``weight`` keeps its shape and meaning either way (a
        view of the padded tensor); ``state_dict`` saves it as it is and loads
        into whichever layout the layer has."""
        w = self.weight
        if not feature_major:
            if not w.is_contiguous():
                self.weight = w.contiguous()
            return
        k, n = w.shape
        feature_major = k >= 2 and n >= 1 and w.device.type == "cpu" and not _distributed()
        is_fm = k >= 2 and not w.is_contiguous() and w.stride(0) == 1
        if feature_major and not is_fm:
            per_line = 64 // w.element_size()
            padded = w.new_zeros(n, -(-k // per_line) * per_line)
            padded[:, :k] = w.t()
            self.weight = padded[:, :k].t()
        elif not feature_major and not w.is_contiguous():
            self.weight = w.contiguous()

    def _bias_or_zeros(self, t: Optional[Tensor]) -> Tensor:
        # Without a bias the ops still take one: zeros that nothing keeps.
        return self.weight.new_zeros(self.out_features) if t is None else t

    def _bias_step(self) -> float:
        # A layer without a bias runs the ops on zeros that take no step.
        return 0.0 if self.bias is None else 1.0

    def _flat(self, x: Tensor) -> Tensor:
        """x ``[*, in_features]`` as ``[N, in_features]``, checked first: a
        reshape of the wrong size would fail with a message about sizes only."""
        if x.dim() == 0 or x.shape[-1] != self.in_features:
            raise RuntimeError(
                f"x: expected {self.in_features} features in the last dimension "
                f"(shape [*, {self.in_features}]), got shape {list(x.shape)}"
            )
        return x.reshape(x.shape[:-1].numel(), self.in_features)

    def _csr(self, x: Any) -> CSRRows:
        """Sparse x as canonical CSR in the weights' dtype, on their device.

        CSRRows of the right dtype and width go to the op as they are: the op
        validates its input itself (columns in range and strictly increasing,
        row offsets, values finite) in the pass that reads it, where as_csr's
        own checks would read the indices twice more on every call."""
        if not (isinstance(x, CSRRows) and x.dtype == self.weight.dtype and x.n_features == self.in_features):
            x = as_csr(x, self.weight.dtype, n_features=self.in_features, name="x")
        return x.to(device=self.weight.device)

    @reads_weights
    def decision_function(self, x: Tensor) -> Tensor:
        """Net input ``x @ weight.T + bias``, ``[*, out_features]`` (with the
        averaged or pocket weights when those are on).

        No autograd graph, by design: the result has no ``grad_fn`` even when
        ``x`` requires grad, since the weights are learned by the perceptron
        rule, not by gradients (the threshold has none to give).
        Sparse ``x``: ``[N, out_features]``."""
        return self._forward(x, threshold=False)

    @reads_weights
    def forward(self, x: Tensor) -> Tensor:
        """0/1 predictions ``[*, out_features]`` in x's dtype, or class indices
        ``[*]`` (int64) when multiclass."""
        if self.multiclass:
            # argmax returns the first maximum: the lowest index wins a tie, as
            # in the update rule.
            return self.decision_function(x).argmax(-1)
        return self._forward(x, threshold=True)

    def _forward(self, x: Tensor, threshold: bool) -> Tensor:
        if is_sparse(x):
            return ops.forward(self._csr(x), *self.inference_parameters(), threshold=threshold)
        out = ops.forward(self._flat(x), *self.inference_parameters(), threshold=threshold)
        return out.reshape(*x.shape[:-1], self.out_features)

    @changes_weights
    def update(
        self,
        x: Tensor,
        y: Tensor,
        *,
        rule: Rule = "online",
        sample_weight: Optional[Tensor] = None,
        zero_is_mistake: bool = False,
    ) -> Tensor:
        """Applies the perceptron rule to the batch ``x [N, in_features]`` (or
        to one sample, ``x [in_features]``, with its label), in place.

        ``y``: 0/1 labels ``[N]`` or ``[N, 1]`` (one output), ``[N, out_features]``
        (one-vs-rest), or class indices ``[N]`` (multiclass). ``rule="online"`` is
        the textbook rule, one sample after the other; ``rule="batch"`` is the
        mini-batch rule (binary / one-vs-rest only, and neither averaged nor
        pocket).

        ``x`` may be sparse (see the class docstring): the ops' CSR forms then
        run the same rule, touching only each sample's non-zeros.

        Returns the mistakes per output, int64 ``[out_features]`` (multiclass:
        ``[1]``).
        """
        if rule not in ("online", "batch"):
            raise ValueError(f"rule: expected 'online' or 'batch', got {rule!r}")
        if rule == "batch" and (self.average or self.pocket):
            raise ValueError("rule: the averaged and pocket perceptrons have only the 'online' rule")
        kw = {"sample_weight": sample_weight, "bias_step": self._bias_step()}
        if self.multiclass:
            if rule != "online":
                raise ValueError("rule: the multiclass perceptron has only the 'online' rule")
            if zero_is_mistake:
                raise ValueError("zero_is_mistake: not defined for the multiclass rule")
            rule = "multiclass"
        else:
            kw["zero_is_mistake"] = zero_is_mistake
        sparse = is_sparse(x)
        if sparse:
            x = self._csr(x)
        # The CPU's plain CSR rules update feature-major weights in place.
        self._keep_layout(
            feature_major=(
                sparse
                and rule != "batch"
                and not (self.average or self.pocket)
                and (not self.multiclass or self.out_features <= _MAX_IN_PLACE_CLASSES)
            )
        )
        return ops.update(
            self.weight, self._bias_or_zeros(self.bias), x, y, self.lr, rule=rule, state=self._variant_state(), **kw
        )

    def _variant_state(self) -> Optional[ops.Averaged | ops.Pocket]:
        """The averaged or pocket state the update op carries (None: plain)."""
        if self.average:
            return ops.Averaged(self.weight_acc, self._bias_or_zeros(self.bias_acc), self.average_count)
        if self.pocket:
            return ops.Pocket(
                self.pocket_weight, self._bias_or_zeros(self.pocket_bias), self.pocket_run, self.pocket_best_run
            )
        return None

    @changes_weights
    def update_traced(
        self,
        x: Tensor,
        y: Tensor,
        *,
        sample_weight: Optional[Tensor] = None,
        zero_is_mistake: bool = False,
    ) -> MistakeTrace:
        """:meth:`update` with the online rule, which also returns the weights
        and bias after every mistake (:class:`~torch_perceptron.trace.MistakeTrace`;
        the bias is zeros without one). The layer ends exactly where
        :meth:`update` leaves it. Plain perceptrons only (not averaged or
        pocket). The trace keeps ``M`` copies of the weights: meant for
        watching the rule, not for training on large data.
        """
        if self.average or self.pocket:
            raise ValueError("update_traced: the averaged and pocket perceptrons have no trace")
        if is_sparse(x):
            raise TypeError(
                "x: update_traced takes dense x only (a trace is for watching the "
                "rule on small data); call update for sparse x"
            )
        return trace.update_traced(
            self.weight,
            self._bias_or_zeros(self.bias),
            x,
            y,
            self.lr,
            rule="multiclass" if self.multiclass else "online",
            sample_weight=sample_weight,
            zero_is_mistake=zero_is_mistake,
            bias_step=self._bias_step(),
        )

    def extra_repr(self) -> str:
        text = (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"multiclass={self.multiclass}, lr={self.lr}"
        )
        if self.average:
            text += ", average=True"
        if self.pocket:
            text += ", pocket=True"
        if self.bias is None:
            text += ", bias=False"
        return text


# The widest multiclass model the CPU's sparse op updates in place (the
# multiclass CSR loop's kMaxInPlaceClasses: keep the two equal).
_MAX_IN_PLACE_CLASSES = 256


def _distributed() -> bool:
    # DDP broadcasts and all-reduces buffers flat: keep them plain there.
    return torch.distributed.is_available() and torch.distributed.is_initialized()
