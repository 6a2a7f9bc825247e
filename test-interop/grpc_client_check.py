"""Google's gRPC runtime for Python (grpcio) with message classes protoc generated from the Open
Inference Protocol's own .proto, against a hetserve gateway's gRPC port.

Usage: PYTHONPATH=<folder holding grpc_predict_v2_pb2.py> /usr/bin/python3 grpc_client_check.py HOST:PORT

The gateway serves model "echo" (inputs x FP32 [4] and ids INT64 [3], echoed as the outputs of
the same names) with a default application. Prints one JSON line with the checks passed; exits 1
with the failing check's message otherwise.
"""

import json
import struct
import sys

import grpc
import grpc_predict_v2_pb2 as pb

TARGET = sys.argv[1]
SERVICE = "/inference.GRPCInferenceService/"
passed = []


def check(name, cond, detail=""):
    if not cond:
        raise AssertionError(f"{name}: {detail}")
    passed.append(name)


def method(channel, name, response):
    return channel.unary_unary(
        SERVICE + name,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response.FromString,
    )


def output_values(resp, name, fmt):
    """An output's values, from its typed contents or from raw_output_contents (same position)."""
    for i, out in enumerate(resp.outputs):
        if out.name != name:
            continue
        if len(resp.raw_output_contents) > i and resp.raw_output_contents[i]:
            raw = resp.raw_output_contents[i]
            return list(struct.unpack("<%d%s" % (len(raw) // struct.calcsize(fmt), fmt), raw)), list(out.shape)
        c = out.contents
        return list(c.fp32_contents if fmt == "f" else c.int64_contents), list(out.shape)
    raise AssertionError(f"no output {name!r} in {[o.name for o in resp.outputs]}")


def infer_request(xs, ids, raw=False, app=None):
    req = pb.ModelInferRequest(model_name="echo", id="py-1")
    if app is not None:
        req.parameters["app"].string_param = app
    x = req.inputs.add(name="x", datatype="FP32", shape=[len(xs), 4])
    i = req.inputs.add(name="ids", datatype="INT64", shape=[len(ids), 3])
    flat_x = [v for row in xs for v in row]
    flat_i = [v for row in ids for v in row]
    if raw:
        req.raw_input_contents.append(struct.pack("<%df" % len(flat_x), *flat_x))
        req.raw_input_contents.append(struct.pack("<%dq" % len(flat_i), *flat_i))
    else:
        x.contents.fp32_contents.extend(flat_x)
        i.contents.int64_contents.extend(flat_i)
    return req


def main():
    channel = grpc.insecure_channel(TARGET)
    grpc.channel_ready_future(channel).result(timeout=20)

    live = method(channel, "ServerLive", pb.ServerLiveResponse)(pb.ServerLiveRequest(), timeout=10)
    check("server live", live.live)
    ready = method(channel, "ServerReady", pb.ServerReadyResponse)(pb.ServerReadyRequest(), timeout=10)
    check("server ready", ready.ready)
    mready = method(channel, "ModelReady", pb.ModelReadyResponse)(pb.ModelReadyRequest(name="echo"), timeout=10)
    check("model ready", mready.ready)
    smeta = method(channel, "ServerMetadata", pb.ServerMetadataResponse)(pb.ServerMetadataRequest(), timeout=10)
    check("server metadata", smeta.name != "", repr(smeta))
    meta = method(channel, "ModelMetadata", pb.ModelMetadataResponse)(
        pb.ModelMetadataRequest(name="echo"), timeout=10
    )
    names = {t.name: (t.datatype, list(t.shape)) for t in meta.inputs}
    check("model metadata", names.get("x", ("",))[0] == "FP32" and names.get("ids", ("",))[0] == "INT64", repr(names))

    infer = method(channel, "ModelInfer", pb.ModelInferResponse)
    xs = [[1.5, -2.0, 3.25, 4.0]]
    ids = [[7, -8, 9]]
    resp = infer(infer_request(xs, ids), timeout=30)
    check("typed infer id", resp.id == "py-1", repr(resp.id))
    vals, shape = output_values(resp, "x", "f")
    check("typed infer x", vals == xs[0] and shape == [1, 4], f"{vals} {shape}")
    vals, shape = output_values(resp, "ids", "q")
    check("typed infer ids", vals == ids[0] and shape == [1, 3], f"{vals} {shape}")

    xs3 = [[float(r * 4 + c) for c in range(4)] for r in range(3)]
    ids3 = [[r * 3 + c for c in range(3)] for r in range(3)]
    resp = infer(infer_request(xs3, ids3, raw=True, app="a0"), timeout=30)
    vals, shape = output_values(resp, "x", "f")
    check("raw infer batch 3", vals == [v for row in xs3 for v in row] and shape == [3, 4], f"{vals} {shape}")

    futures = [infer.future(infer_request([[float(k), 0.0, 0.0, 0.0]], [[k, k, k]]), timeout=60) for k in range(64)]
    got = [output_values(f.result(), "x", "f")[0][0] for f in futures]
    check("64 in flight", got == [float(k) for k in range(64)], str(got[:8]))

    try:
        infer(pb.ModelInferRequest(model_name="nope"), timeout=10)
        raise AssertionError("unknown model: no error raised")
    except grpc.RpcError as e:
        check("unknown model status", e.code() == grpc.StatusCode.NOT_FOUND, str(e.code()))
        check("unknown model message", "nope" in (e.details() or ""), repr(e.details()))

    bad = infer_request(xs, ids)
    bad.inputs[0].shape[:] = [1, 5]
    try:
        infer(bad, timeout=10)
        raise AssertionError("bad shape: no error raised")
    except grpc.RpcError as e:
        check("bad shape status", e.code() == grpc.StatusCode.INVALID_ARGUMENT, str(e.code()))

    channel.close()
    print(json.dumps({"passed": passed}))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - the driver reads stderr
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
