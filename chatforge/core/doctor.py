"""`chatforge doctor`: what this machine offers for training and inference."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser("doctor", parents=parents, help="check Python, torch, device, disk")
    p.add_argument("--path", default=".", help="where free disk is measured (default: .)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    rows: list[tuple[str, str]] = [
        ("python", sys.version.split()[0]),
        ("platform", f"{platform.system()} {platform.machine()}"),
        ("cpu cores", str(os.cpu_count())),
    ]
    try:
        import torch
    except ImportError:
        rows.append(("torch", "NOT INSTALLED (pip install torch==2.13.0 for the CPU build)"))
        torch = None
    if torch is not None:
        from chatforge.core.device import bf16_supported, pick_device

        dev = pick_device("auto")
        rows += [
            ("torch", torch.__version__),
            ("torch threads", str(torch.get_num_threads())),
            ("device", str(dev) + (f" ({torch.cuda.get_device_name(0)})" if dev.type == "cuda" else "")),
            ("bf16", "yes" if bf16_supported(dev) else "no"),
            ("cuda devices", str(torch.cuda.device_count())),
        ]
    usage = shutil.disk_usage(args.path)
    rows.append(("free disk", f"{usage.free / 2**30:.1f} GiB at {os.path.abspath(args.path)}"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0
