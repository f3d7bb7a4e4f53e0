"""`chatforge doctor`: what this machine offers for training and inference, and whether every
stage's dependencies load and work (exit 1 if one does not)."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys

from chatforge.core.deps import FIX, outcome
from chatforge.core.machine import cpu_summary


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser("doctor", parents=parents,
                       help="check Python, torch, device, disk and every stage's dependencies")
    p.add_argument("--path", default=".", help="where free disk is measured (default: .)")
    p.add_argument("--no-bench", action="store_true", help="skip the one-second matmul measurement")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    rows: list[tuple[str, str]] = [
        ("python", sys.version.split()[0]),
        ("platform", f"{platform.system()} {platform.machine()}"),
        ("cpu cores", str(os.cpu_count())),
        ("cpu", cpu_summary()),
    ]
    try:
        import torch  # noqa: PLC0415 - optional: doctor reports it missing
    except ImportError:
        rows.append(("torch", "NOT INSTALLED (pip install torch==2.13.0 for the CPU build)"))
        torch = None
    if torch is not None:
        from chatforge.core.device import bf16_supported, pick_device  # noqa: PLC0415 - needs torch
        from chatforge.train.mfu import auto_dtype, measure_matmul_peak  # noqa: PLC0415 - needs torch

        dev = pick_device("auto")
        rows += [
            ("torch", torch.__version__),
            ("torch threads", str(torch.get_num_threads())),
            ("device", str(dev) + (f" ({torch.cuda.get_device_name(0)})" if dev.type == "cuda" else "")),
            ("bf16", "yes" if bf16_supported(dev) else "no"),
            ("cuda devices", str(torch.cuda.device_count())),
        ]
        if not args.no_bench:
            # Whether bf16 is fast is a property of the chip, not of torch: AVX2-only CPUs
            # emulate it ~50x slower than fp32; shown for the user, who may opt into bf16.

            peaks = {}
            for dt in (torch.float32, torch.bfloat16):
                if dt is torch.bfloat16 and not bf16_supported(dev):
                    continue
                peaks[dt] = measure_matmul_peak(dev, dt, seconds=0.3)
                rows.append((f"matmul {str(dt)[6:]}", f"{peaks[dt] / 1e9:.1f} GFLOP/s"))

            rows.append(("training dtype", f"{auto_dtype(dev)} (dtype=auto: bf16 on CUDA, fp32 on CPU for "
                                           "the same model on every CPU; docs/pretrain.md)"))
    usage = shutil.disk_usage(args.path)
    rows.append(("free disk", f"{usage.free / 2**30:.1f} GiB at {os.path.abspath(args.path)}"))
    broken = _dependency_rows(args.pipeline, rows)
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    if broken:
        print(f"\n{broken} dependency check(s) failed: reinstall the tested versions with `{FIX}`.")
        return 1
    return 0


def _dependency_rows(pipeline, rows: list[tuple[str, str]]) -> int:
    """One row per stage dependency, each imported and exercised once; returns how many failed."""
    seen: set[str] = set()
    broken = 0
    for stage, checks in pipeline.all_checks():
        for c in checks:
            if c.label in seen:
                continue
            seen.add(c.label)
            err = outcome(c)
            if err is not None and c.optional:
                rows.append((f"[{stage}] {c.label}", f"not installed (optional: {c.fix or c.package})"))
                continue
            broken += err is not None
            rows.append((f"[{stage}] {c.label}",
                         "ok" if err is None else f"BROKEN: {err} (pip install {c.package})"))
    return broken
