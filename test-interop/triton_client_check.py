"""Triton's own Python HTTP client (tritonclient.http) against a hetserve gateway.

Usage: PYTHONPATH=<folder holding tritonclient/> /usr/bin/python3 triton_client_check.py HOST:PORT

The gateway serves model "echo" (inputs x FP32 [4] and ids INT64 [3], echoed as the outputs of
the same names) with a default application, so the client names none, as any Triton user's code.
Prints one JSON line with the checks passed; exits 1 with the failing check's message otherwise.
"""

import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

URL = sys.argv[1]
passed = []


def check(name, cond, detail=""):
    if not cond:
        raise AssertionError(f"{name}: {detail}")
    passed.append(name)


def inputs(x, ids, binary=True):
    a = httpclient.InferInput("x", list(x.shape), "FP32")
    a.set_data_from_numpy(x, binary_data=binary)
    b = httpclient.InferInput("ids", list(ids.shape), "INT64")
    b.set_data_from_numpy(ids, binary_data=binary)
    return [a, b]


def expect_error(name, fn, status, fragment):
    try:
        fn()
    except InferenceServerException as e:
        msg = e.message()
        check(name, e.status() == status, f"status {e.status()} (wanted {status}): {msg}")
        check(name + " message", fragment in msg, f"{msg!r} lacks {fragment!r}")
        check(name + " decoded", "exception occurred in the client" not in msg, msg)
        return
    raise AssertionError(f"{name}: no error raised")


def main():
    c = httpclient.InferenceServerClient(url=URL)

    # Server and model metadata.
    check("live", c.is_server_live())
    check("ready", c.is_server_ready())
    check("model ready", c.is_model_ready("echo"))
    meta = c.get_server_metadata()
    check("server metadata", "binary_tensor_data" in meta["extensions"], meta)
    mm = c.get_model_metadata("echo")
    check("model metadata", [t["name"] for t in mm["inputs"]] == ["x", "ids"], mm)
    check("model metadata shape", mm["inputs"][0]["shape"] == [-1, 4], mm)

    # Model config, repository index, statistics.
    cfg = c.get_model_config("echo")
    check("config max_batch_size", cfg["max_batch_size"] > 1, cfg)
    check("config input", cfg["input"][0]["data_type"] == "TYPE_FP32", cfg)
    check("config dynamic batching", cfg["dynamic_batching"]["preferred_batch_size"] == [8], cfg)
    idx = c.get_model_repository_index()
    check("repository index", idx == [{"name": "echo", "version": "1", "state": "READY"}], idx)
    all_stats = c.get_inference_statistics()
    check("statistics (all)", [m["name"] for m in all_stats["model_stats"]] == ["echo"], all_stats)

    x = np.array([[1.5, -2, 3, 4]], dtype=np.float32)
    ids = np.array([[7, 8, 9]], dtype=np.int64)

    # The client's defaults: binary inputs, all outputs in binary.
    r = c.infer("echo", inputs(x, ids))
    check("binary infer x", np.array_equal(r.as_numpy("x"), x), r.as_numpy("x"))
    check("binary infer ids", np.array_equal(r.as_numpy("ids"), ids), r.as_numpy("ids"))
    check("binary infer dtype", r.as_numpy("x").dtype == np.float32)

    # JSON both ways.
    r = c.infer(
        "echo",
        inputs(x, ids, binary=False),
        outputs=[
            httpclient.InferRequestedOutput("x", binary_data=False),
            httpclient.InferRequestedOutput("ids", binary_data=False),
        ],
    )
    check("json infer", np.array_equal(r.as_numpy("x"), x) and np.array_equal(r.as_numpy("ids"), ids))
    check("json response", "data" in r.get_output("x"), r.get_response())

    # A subset of outputs (one binary), and a model version named.
    r = c.infer("echo", inputs(x, ids), outputs=[httpclient.InferRequestedOutput("ids")], model_version="1")
    check("subset", r.as_numpy("x") is None and np.array_equal(r.as_numpy("ids"), ids))

    # A batch of N = 8 samples in one request.
    xb = np.arange(32, dtype=np.float32).reshape(8, 4)
    ib = np.arange(24, dtype=np.int64).reshape(8, 3) - 5
    r = c.infer("echo", inputs(xb, ib))
    check("batch 8", np.array_equal(r.as_numpy("x"), xb) and np.array_equal(r.as_numpy("ids"), ib))

    # Classification (class_count): top 2 per row as BYTES "value:index".
    r = c.infer("echo", inputs(x, ids), outputs=[httpclient.InferRequestedOutput("x", class_count=2)])
    top = r.as_numpy("x")
    check("classification", [v.decode() for v in top[0]] == ["4.000000:3", "3.000000:2"], top)

    # Compression both ways (64 samples: answers under 1 KiB go out uncompressed), and Triton's
    # timeout parameter (µs).
    x64 = np.linspace(-1, 1, 256, dtype=np.float32).reshape(64, 4)
    i64 = np.arange(192, dtype=np.int64).reshape(64, 3)
    r = c.infer(
        "echo",
        inputs(x64, i64),
        request_compression_algorithm="gzip",
        response_compression_algorithm="deflate",
        timeout=5_000_000,
    )
    check("compressed", np.array_equal(r.as_numpy("x"), x64) and np.array_equal(r.as_numpy("ids"), i64))

    # async_infer with 200 requests in flight, zero errors.
    ca = httpclient.InferenceServerClient(url=URL, concurrency=200)
    xs = [np.full((1, 4), i, dtype=np.float32) for i in range(200)]
    handles = [ca.async_infer("echo", inputs(xi, ids)) for xi in xs]
    results = [h.get_result() for h in handles]
    wrong = [i for i, r in enumerate(results) if not np.array_equal(r.as_numpy("x"), xs[i])]
    check("async 200 in flight", not wrong, f"wrong answers at {wrong[:5]}")
    ca.close()

    stats = c.get_inference_statistics("echo")["model_stats"][0]
    ok = stats["inference_stats"]["success"]["count"]
    # one per sample: 4 single-sample requests, one of 8, one of 64, the 200 async ones
    check("statistics (model)", ok == 4 + 8 + 64 + 200, stats["inference_stats"])
    check("statistics batch sizes", len(stats["batch_stats"]) >= 1, stats)

    # Every error decoded with its message.
    expect_error("unknown model", lambda: c.infer("nope", inputs(x, ids)), "404", '"nope" is not served')
    expect_error("unknown version", lambda: c.infer("echo", inputs(x, ids), model_version="2"), "404", 'no version "2"')
    bad = np.zeros((1, 5), dtype=np.float32)
    expect_error("bad shape", lambda: c.infer("echo", inputs(bad, ids)), "400", "inputs[0].shape")
    wrong_type = httpclient.InferInput("x", [1, 4], "FP64")
    wrong_type.set_data_from_numpy(x.astype(np.float64))
    expect_error("bad datatype", lambda: c.infer("echo", [wrong_type, inputs(x, ids)[1]]), "400", "expected FP32")
    expect_error(
        "unknown output",
        lambda: c.infer("echo", inputs(x, ids), outputs=[httpclient.InferRequestedOutput("zz")]),
        "400",
        "unknown output",
    )
    expect_error("config of unknown model", lambda: c.get_model_config("nope"), "404", "not served")
    expect_error(
        "unknown application",
        lambda: c.infer("echo", inputs(x, ids), headers={"x-hetserve-app": "zz"}),
        "404",
        '"zz" is not an application',
    )
    c.close()
    print(json.dumps({"passed": passed, "async": len(results)}))


try:
    main()
except AssertionError as e:
    print(f"FAILED {e}", file=sys.stderr)
    sys.exit(1)
