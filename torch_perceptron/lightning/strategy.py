"""The "perceptron_ddp" strategy: Lightning's DDP without the DDP wrapper."""

from lightning.pytorch.strategies import DDPStrategy, StrategyRegistry


class PerceptronDDPStrategy(DDPStrategy):
    """One process per device, each training on its shard, with the process
    group set up as by ``"ddp"`` but the module left unwrapped.

    PyTorch's DistributedDataParallel refuses a module without a parameter that
    requires a gradient, and there are no gradients to average here: the
    weights are mixed by :class:`PerceptronClassifier` at the end of each epoch
    instead (iterative parameter mixing).
    """

    strategy_name = "perceptron_ddp"

    def configure_ddp(self) -> None:
        pass

    @classmethod
    def register_strategies(cls, strategy_registry: dict) -> None:
        if cls.strategy_name not in strategy_registry:
            strategy_registry.register(
                cls.strategy_name,
                cls,
                description="DDP process groups without the DistributedDataParallel wrapper, "
                "for modules trained by the perceptron rule",
            )


PerceptronDDPStrategy.register_strategies(StrategyRegistry)
