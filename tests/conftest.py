"""pytest configuration: hypothesis profiles and a guard that the thread count
a test changes is restored."""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

# Property tests: no deadline (the reference loops are slow and this machine is
# shared); in CI the examples are derandomized so a run is reproducible.
settings.register_profile(
    "default",
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    parent=settings.get_profile("default"),
    derandomize=True,
    print_blob=True,
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def num_threads():
    """Yields a setter for torch's intra-op thread count and restores it after."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)
