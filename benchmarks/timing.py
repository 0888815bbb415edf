"""Medians of repeated wall-clock timings, and a description of the machine.

torch is imported only where it is used: a process timing scikit-learn loads
this module without it (see fresh.py)."""

import os
import platform
import statistics
import subprocess
import time
from typing import Callable, Optional

# Repeat fast calls up to this much timed work (0 disables; --quick sets 0).
MIN_TOTAL_SECONDS = 0.5
MAX_REPEATS = 200


def median_seconds(
    run: Callable[[], object],
    repeats: int,
    setup: Optional[Callable[[], object]] = None,
    warmup: int = 1,
    sync: bool = False,
) -> tuple[float, list[float]]:
    """Times ``run()`` at least ``repeats`` times after ``warmup`` untimed
    calls and returns the median and every timing, in seconds. Fast calls are
    repeated more, until ``MIN_TOTAL_SECONDS`` of timed calls or
    ``MAX_REPEATS`` calls, so that a noisy, shared machine moves their median
    less. ``setup()`` runs untimed before each call (e.g. to zero the weights
    so that every repeat is the same first epoch). ``sync`` waits for the GPU
    before and after each call."""
    if sync:
        import torch
    for _ in range(warmup):
        if setup is not None:
            setup()
        run()
    times: list[float] = []
    while len(times) < repeats or (sum(times) < MIN_TOTAL_SECONDS and len(times) < MAX_REPEATS):
        if setup is not None:
            setup()
        if sync:
            torch.cuda.synchronize()
        start = time.perf_counter()
        run()
        if sync:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def size_row(group: str, n: int, d: int, **fields) -> dict:
    """A result row of a measurement on n x d data: ``size`` ("NxD") is what
    the tables and the chart group rows by."""
    return dict(group=group, size=f"{n}x{d}", n=n, d=d, **fields)


def measured(result: dict) -> dict:
    """A fresh process's timing of a method (median, every repeat) and its
    mistakes, as a row holds them."""
    return {key: result[key] for key in ("seconds", "times", "mistakes")}


def _lscpu() -> dict[str, str]:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    fields = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def machine() -> dict[str, object]:
    """What the numbers were measured on: CPU model and counts, memory, the
    library versions, the thread settings, and the GPU when there is one."""
    import numpy
    import sklearn
    import torch

    cpu = _lscpu()
    info: dict[str, object] = {
        "cpu": cpu.get("Model name", platform.processor() or "unknown"),
        "cpus": os.cpu_count(),
        "cores_per_socket": cpu.get("Core(s) per socket"),
        "threads_per_core": cpu.get("Thread(s) per core"),
        "hypervisor": cpu.get("Hypervisor vendor"),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "torch_threads": torch.get_num_threads(),
        "OMP_PROC_BIND": os.environ.get("OMP_PROC_BIND"),
        "OMP_PLACES": os.environ.get("OMP_PLACES"),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    try:
        from torch_perceptron import _build_info

        info["extension_with_cuda"] = bool(_build_info.WITH_CUDA)
    except ImportError:
        info["extension_with_cuda"] = None
    return info


def _memory_gib() -> Optional[float]:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None
