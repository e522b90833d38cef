"""GPU rows of the benchmarks: the similarity engine's products on CuPy against the card's peak.

On a machine without a usable GPU every row says "no GPU" and why. Peaks are the vendor's
datasheet figures (dense, boost clock) of the cards named here; another card prints its achieved
rate with the peak unknown.
"""

from __future__ import annotations

import time

# name fragment -> (FP32 TFLOP/s, FP64 TFLOP/s for DGEMM: the FP64 tensor cores where the card
# has them). Order matters: the first fragment found in the device name wins.
PEAKS = {
    "H200": (66.9, 66.9),
    "H100 PCIe": (51.2, 51.2),
    "H100": (66.9, 66.9),  # SXM5
    "A100": (19.5, 19.5),
    "L40S": (91.6, 1.4),
    "L4": (30.3, 0.5),
    "V100": (15.7, 7.8),
    "T4": (8.1, 0.25),
}


def peak(name: str) -> tuple[float, float] | None:
    for fragment, tflops in PEAKS.items():
        if fragment in name:
            return tflops
    return None


def gpu_rows(n: int, q: int, channels: int, groups: int, cpu_rate: float) -> list[tuple]:
    """The Gram products (float32, ``channels`` channels of (n, q)) and the all-pairs HSIC
    product (float64, ``groups`` packed Grams of n(n+1)/2) on the GPU; ``cpu_rate`` is the
    CPU's Gram rate (n^2 q per second) measured in the same run."""
    from ckaflow.device import gpu_namespace

    xp, name = gpu_namespace()
    if xp is None:
        return [("GPU", f"no GPU: {name}", "")]
    import cupy

    m = n * (n + 1) // 2
    rng = cupy.random.default_rng(0)
    x = rng.standard_normal((channels, n, q), dtype=cupy.float32)
    a = rng.standard_normal((groups, m), dtype=cupy.float64)
    gram_s = _best(lambda: x @ cupy.swapaxes(x, 1, 2))
    hsic_s = _best(lambda: a @ a.T)
    gram_flops = 2.0 * channels * n * n * q / gram_s
    hsic_flops = 2.0 * groups * groups * m / hsic_s
    peaks = peak(name)

    def share(flops, which):
        return "peak unknown" if peaks is None else f"{flops / 1e12 / peaks[which]:.0%} of peak"

    return [
        ("GPU", name, ""),
        (f"Gram products, float32, {channels} x ({n} x {q})",
         f"{gram_flops / 1e12:.1f} TFLOP/s ({share(gram_flops, 0)}); "
         f"{gram_flops / 2 / cpu_rate:.0f}x this run's CPU rate", ""),
        (f"all-pairs HSIC product, float64, {groups} x {m}",
         f"{hsic_flops / 1e12:.1f} TFLOP/s ({share(hsic_flops, 1)})", ">= 50% of peak"),
    ]  # fmt: skip


def _best(fn, repeats: int = 5) -> float:
    """Best wall time of ``fn`` on the GPU (synchronised), after a warm-up."""
    import cupy

    fn()
    cupy.cuda.Device().synchronize()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        cupy.cuda.Device().synchronize()
        best = min(best, time.perf_counter() - t0)
    return best
