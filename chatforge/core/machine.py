"""What CPU this is, in the words every measured figure is quoted with (no torch needed)."""

from __future__ import annotations

import platform


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key.strip() == "flags":
                    return set(val.split())
    except OSError:
        pass
    return set()


def native_bf16_cpu() -> bool:
    """bf16 matmuls in hardware (AVX512-BF16 or AMX); elsewhere PyTorch emulates them, ~50x slower."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def cpu_summary() -> str:
    """The CPU model and the flags that decide fast dtypes ("AMD EPYC; avx2 avx512_bf16"): every
    measured figure is quoted with it, since bf16 is fast on AVX512-BF16/AMX chips and emulated,
    far slower than fp32, on AVX2-only ones."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key.strip() == "model name":
                    model = val.strip()
                elif key.strip() == "flags":
                    flags = set(val.split())
                    break
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    return f"{model}; {' '.join(f for f in wanted if f in flags) or 'no avx2'}"
