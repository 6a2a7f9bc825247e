#!/usr/bin/env python3
"""Measure GPU inference latency of VGG19- and BERT-like models for hetserve profiles.

What it does (see README.md next to this file):
  * builds the model in torch with random weights (no download), in eval mode, on one CUDA GPU;
  * for every CUDA MPS active-thread percentage in --shares (100 = whole GPU) it starts a child
    process with CUDA_MPS_ACTIVE_THREAD_PERCENTAGE set (MPS reads it when CUDA initialises), and the
    child times --runs inferences per batch size after --warmup discarded runs (CUDA events);
  * writes, per model:
      <out>/<model>.profile.json       hetserve ServerlessProfile (gpu section: xi1, xi2 fitted by
                                       least squares on the whole-GPU means; gpuMemThresholds from
                                       the peak memory per batch), valid for `hetserve plan --model`;
      <out>/<model>.gpu-measurements.json  every sample, per share and batch, plus how it was made
                                       (GPU, driver, torch, CUDA, dtype, command line, date);
  * prints how well hetserve's GPU model fits: the whole-GPU line (MAPE), and under each share the
    time-slicing average (M/m)·L0 and stepwise maximum ceil(L0/(m·tau))·(M−m)·tau + L0 with
    m = share·M/100 (M = 24 slice units, tau = --slice-s), against the measured mean and p99.

MPS shares are an analogue of a cGPU memory slice, not the same mechanism: MPS limits the SMs a
client may use (spatial), cGPU time-slices the whole GPU (temporal). The report says how far apart
they are; it does not pretend they are equal.

Requires: Python 3.9+, torch with CUDA. No other packages.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import shlex
import subprocess
import sys
from typing import Any

M_MAX = 24  # slice units = GB of GPU memory in the HarmonyBatch model


# ── models ────────────────────────────────────────────────────────────────────────────────────────

def build_model(name: str, seq: int):
    import torch
    from torch import nn

    if name == "vgg19":
        # VGG19 configuration "E": 16 conv layers in 5 blocks, then the 3 fully connected layers.
        cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
               512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
        layers: list[nn.Module] = []
        ch = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(ch, int(v), 3, padding=1), nn.ReLU(inplace=True)]
                ch = int(v)
        model = nn.Sequential(
            *layers, nn.Flatten(),
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 1000),
        )
        make_input = lambda b: torch.randn(b, 3, 224, 224)  # noqa: E731
        return model, make_input

    if name == "bert":
        # BERT-base shape: 12 layers, hidden 768, 12 heads, FFN 3072, WordPiece vocabulary 30522.
        class BertLike(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.tok = nn.Embedding(30522, 768)
                self.pos = nn.Embedding(512, 768)
                layer = nn.TransformerEncoderLayer(768, 12, 3072, activation="gelu", batch_first=True)
                self.enc = nn.TransformerEncoder(layer, 12, enable_nested_tensor=False)
                self.cls = nn.Linear(768, 2)

            def forward(self, ids):
                pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
                h = self.enc(self.tok(ids) + self.pos(pos))
                return self.cls(h[:, 0])

        make_input = lambda b: torch.randint(0, 30522, (b, seq))  # noqa: E731
        return BertLike(), make_input

    raise SystemExit(f"unknown model {name!r}: expected vgg19 or bert")


# ── child: measure one share ──────────────────────────────────────────────────────────────────────

def measure(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("error: torch sees no CUDA GPU (this tool measures GPU latency only)")
    torch.manual_seed(args.seed)
    dev = torch.device("cuda")
    dtype = {"fp32": torch.float32, "fp16": torch.float16}[args.dtype]
    model, make_input = build_model(args.model, args.seq)
    model = model.to(dev).eval()
    if args.dtype == "fp16":
        model = model.half()
    samples: list[list[float]] = []
    peak_mb: list[float] = []
    with torch.inference_mode():
        for b in args.batches:
            x = make_input(b).to(dev)
            if x.is_floating_point():
                x = x.to(dtype)
            torch.cuda.reset_peak_memory_stats()
            for _ in range(args.warmup):
                model(x)
            torch.cuda.synchronize()
            times = []
            for _ in range(args.runs):
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                model(x)
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end) / 1000.0)  # ms -> s
            samples.append(times)
            peak_mb.append(torch.cuda.max_memory_allocated() / 2**20)
    return {
        "activeThreadPercentage": args.share,
        "samplesS": samples,
        "peakMemoryMb": peak_mb,
    }


# ── statistics and the hetserve GPU model ─────────────────────────────────────────────────────────

def drop_largest(xs: list[float]) -> list[float]:
    s = sorted(xs)
    return s[:-1] if len(s) > 1 else s


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def line_fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise SystemExit("error: the GPU line needs two or more distinct batch sizes")
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return slope, my - slope * mx


def mape(pred: list[float], meas: list[float]) -> tuple[float, float]:
    errs = [abs(p / m - 1) * 100 for p, m in zip(pred, meas)]
    return sum(errs) / len(errs), max(errs)


def thresholds(batches: list[int], peak_mb: list[float], max_gb: int) -> list[int]:
    """Entry i = largest measured batch whose peak memory fits in i+1 GB (hetserve design §4.3)."""
    out: list[int] = []
    for gb in range(1, max_gb + 1):
        fit = [b for b, mb in zip(batches, peak_mb) if mb <= gb * 1024]
        out.append(max(fit) if fit else 0)
        if fit and max(fit) == max(batches):
            break
    return out


def device_info() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "host": platform.node(),
    }
    try:
        info["driver"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        info["driver"] = None
    return info


# ── parent: run children per share, write files, report ──────────────────────────────────────────

def run_share(args: argparse.Namespace, model: str, share: int) -> dict[str, Any]:
    env = dict(os.environ)
    if share < 100:
        env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = str(share)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--model", model, "--share", str(share),
           "--batches", ",".join(map(str, args.batches)), "--runs", str(args.runs), "--warmup", str(args.warmup),
           "--dtype", args.dtype, "--seq", str(args.seq), "--seed", str(args.seed)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"error: measuring {model} at share {share}% failed:\n{r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def profile_model(args: argparse.Namespace, model: str, info: dict[str, Any]) -> None:
    shares = sorted(set(args.shares), reverse=True)
    if 100 not in shares:
        shares.insert(0, 100)
    results = []
    for share in shares:
        print(f"{model}: measuring at {share}% of the GPU ...", file=sys.stderr)
        results.append(run_share(args, model, share))
    whole = results[0]
    means = [mean(drop_largest(s)) for s in whole["samplesS"]]
    xi1, xi2 = line_fit([float(b) for b in args.batches], means)
    lm, lw = mape([xi1 * b + xi2 for b in args.batches], means)
    print(f"\n{model}: whole GPU L0(b) = {xi1:.6g}·b + {xi2:.6g} s; line MAPE {lm:.2f}%, worst {lw:.2f}%")
    report = [{"share": 100, "lineMape": lm, "lineWorst": lw}]
    for res in results[1:]:
        m = res["activeThreadPercentage"] / 100 * M_MAX
        avg_meas = [mean(drop_largest(s)) for s in res["samplesS"]]
        p99_meas = [percentile(drop_largest(s), args.percentile) for s in res["samplesS"]]
        l0 = [xi1 * b + xi2 for b in args.batches]
        avg_pred = [(M_MAX / m) * x for x in l0]
        max_pred = [math.ceil(x / (m * args.slice_s)) * (M_MAX - m) * args.slice_s + x for x in l0]
        am, aw = mape(avg_pred, avg_meas)
        mm, mw = mape(max_pred, p99_meas)
        print(f"  share {res['activeThreadPercentage']}% (m = {m:g} of {M_MAX}): avg model MAPE {am:.1f}% (worst {aw:.1f}%), "
              f"stepwise max vs p{args.percentile:g} MAPE {mm:.1f}% (worst {mw:.1f}%)")
        report.append({"share": res["activeThreadPercentage"], "m": m, "avgMape": am, "avgWorst": aw,
                       "maxMape": mm, "maxWorst": mw})
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    how = (f"tools/gpu-profile/profile_gpu.py on {info['gpu']} (driver {info['driver']}, torch {info['torch']}, "
           f"CUDA {info['cuda']}), {args.dtype}, random weights, {args.runs} runs + {args.warmup} warm-up per batch, "
           f"CUDA-event timing, mean after dropping the largest sample, {created}")
    thr = thresholds(args.batches, whole["peakMemoryMb"], M_MAX)
    profile = {
        "name": f"{model}-like",
        "source": how,
        "gpu": {
            "hostMemMb": args.host_mem_mb,
            "gpuMemThresholds": thr,
            "xi1": xi1,
            "xi2": xi2,
            "sliceS": args.slice_s,
            "sliceUnits": M_MAX,
            "gpuShare": 1,
            "cpuShare": 0,
        },
    }
    measurements = {
        "kind": "gpu-measurements",
        "model": f"{model}-like",
        "created": created,
        "command": " ".join(shlex.quote(a) for a in sys.argv),
        "device": info,
        "dtype": args.dtype,
        "seq": args.seq if model == "bert" else None,
        "runs": args.runs,
        "warmup": args.warmup,
        "unit": "s",
        "batches": args.batches,
        "shares": results,
        "fit": {"xi1": xi1, "xi2": xi2, "percentile": args.percentile, "report": report},
        "note": "shares other than 100 ran under CUDA MPS with CUDA_MPS_ACTIVE_THREAD_PERCENTAGE; "
                "they are valid only if the MPS control daemon was running (see README.md)",
    }
    os.makedirs(args.out, exist_ok=True)
    for suffix, doc in (("profile", profile), ("gpu-measurements", measurements)):
        path = os.path.join(args.out, f"{model}.{suffix}.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print(f"wrote {path}")


def int_list(s: str) -> list[int]:
    out = []
    for part in s.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out += list(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="vgg19,bert", help="comma-separated: vgg19, bert (default both)")
    ap.add_argument("--batches", type=int_list, default=int_list("1-32"), help="batch sizes, e.g. 1-32 or 1,2,4 (default 1-32)")
    ap.add_argument("--shares", type=int_list, default=[100, 50, 25, 12],
                    help="MPS active-thread percentages; 100 = whole GPU, always measured (default 100,50,25,12)")
    ap.add_argument("--runs", type=int, default=50, help="timed runs per batch size (default 50)")
    ap.add_argument("--warmup", type=int, default=10, help="discarded warm-up runs per batch size (default 10)")
    ap.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32", help="weights and inputs (default fp32)")
    ap.add_argument("--seq", type=int, default=128, help="BERT sequence length (default 128)")
    ap.add_argument("--percentile", type=float, default=99, help="percentile compared with the stepwise max (default 99)")
    ap.add_argument("--slice-s", type=float, default=0.002, help="tau, the unit time slice of the model, s (default 0.002)")
    ap.add_argument("--host-mem-mb", type=float, default=0, help="host RAM written to the profile, MB (default 0)")
    ap.add_argument("--seed", type=int, default=1, help="torch seed of the random weights (default 1)")
    ap.add_argument("--out", default="data/gpu-profiles", help="output directory (default data/gpu-profiles)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--share", type=int, default=100, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args)))
        return
    if any(b < 1 for b in args.batches) or any(not 1 <= s <= 100 for s in args.shares):
        raise SystemExit("error: batch sizes must be >= 1 and shares in 1..100")
    try:
        import torch
    except ImportError:
        raise SystemExit("error: torch is not installed (pip install torch, with CUDA; see README.md)") from None
    if not torch.cuda.is_available():
        raise SystemExit("error: torch sees no CUDA GPU (this tool measures GPU latency only)")
    info = device_info()
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        profile_model(args, model, info)


if __name__ == "__main__":
    main()
