"""Self-test of profile_gpu.py without a GPU or torch: fake measurements through the parent's
fitting, reporting and file writing. Run: python3 -m unittest tools/gpu-profile/test_profile_gpu.py"""
import argparse
import json
import math
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import profile_gpu as pg  # noqa: E402

XI1, XI2 = 0.00168, 0.00211  # the paper's VGG19 whole-GPU line


def load(path):
    with open(path) as f:
        return json.load(f)


def fake_share(args, model, share):
    m = share / 100 * pg.M_MAX
    samples = []
    for b in args.batches:
        l0 = XI1 * b + XI2
        avg = l0 if share == 100 else (pg.M_MAX / m) * l0
        samples.append([avg * (1 + 0.001 * (i % 3)) for i in range(args.runs)] + [avg * 5])
    return {"activeThreadPercentage": share, "samplesS": samples, "peakMemoryMb": [300.0 * b for b in args.batches]}


class ProfileGpuTest(unittest.TestCase):
    def test_fit_report_and_files(self):
        out = os.environ.get("GPU_SELFTEST_OUT") or tempfile.mkdtemp()
        args = argparse.Namespace(batches=[1, 2, 4, 8, 16, 32], shares=[100, 50], runs=20, warmup=1, dtype="fp32",
                                  seq=128, percentile=99, slice_s=0.002, host_mem_mb=0, seed=1, out=out)
        pg.run_share = fake_share
        info = {"gpu": "fake", "driver": None, "torch": "0", "cuda": None}
        pg.profile_model(args, "vgg19", info)
        prof = load(os.path.join(out, "vgg19.profile.json"))
        self.assertAlmostEqual(prof["gpu"]["xi1"], XI1 * 1.001, delta=XI1 * 0.002)
        self.assertAlmostEqual(prof["gpu"]["xi2"], XI2 * 1.001, delta=XI2 * 0.002)
        # 300 MB per sample: 3 samples fit in 1 GB -> largest measured batch that fits is 2.
        self.assertEqual(prof["gpu"]["gpuMemThresholds"][:3], [2, 4, 8])
        meas = load(os.path.join(out, "vgg19.gpu-measurements.json"))
        rep = {r["share"]: r for r in meas["fit"]["report"]}
        self.assertLess(rep[100]["lineMape"], 0.5)
        self.assertLess(rep[50]["avgMape"], 0.5)  # the fake follows the time-slicing average exactly
        self.assertEqual(len(meas["shares"]), 2)

    def test_helpers(self):
        self.assertEqual(pg.int_list("1-3,8"), [1, 2, 3, 8])
        self.assertEqual(pg.drop_largest([3, 1, 2]), [1, 2])
        self.assertEqual(pg.percentile([1, 2, 3, 4], 50), 2)
        s, i = pg.line_fit([1, 2, 3], [5, 7, 9])
        self.assertTrue(math.isclose(s, 2) and math.isclose(i, 3))


if __name__ == "__main__":
    unittest.main()
