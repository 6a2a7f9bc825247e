"""Ray Serve application that `hetserve export --target ray` points at (import path
`hetserve_ray:app`).

One deployment, HetserveModel, serves one plan group: it loads the ONNX model with onnxruntime,
forms batches with @serve.batch (batch size and wait from the plan, first from the environment the
exported serve.yaml sets, then from its user_config on every reconfigure), and answers Open
Inference Protocol (v2) JSON requests of one sample each:

    POST /<group route>  {"inputs": [{"name": "x", "shape": [1, ...], "datatype": "FP32", "data": [...]}]}

Ship this file next to serve.yaml (the exporter writes a copy there) and run `serve run serve.yaml`
from that directory, or put it on the workers' PYTHONPATH. The model is read from
$HETSERVE_MODEL_PATH, default /models/<HETSERVE_MODEL>.onnx.
"""

import json
import os

import numpy as np
from ray import serve

# OIP datatypes this server accepts, as numpy dtypes.
DATATYPES = {
    "FP32": np.float32,
    "FP64": np.float64,
    "FP16": np.float16,
    "INT64": np.int64,
    "INT32": np.int32,
    "INT8": np.int8,
    "UINT8": np.uint8,
    "BOOL": np.bool_,
}
NUMPY_TO_OIP = {np.dtype(v).name: k for k, v in DATATYPES.items()}


def _env_batch_size():
    return max(1, int(os.environ.get("HETSERVE_BATCH_SIZE", "1")))


def _env_batch_wait_s():
    return max(0.0, float(os.environ.get("HETSERVE_BATCH_WAIT_S", "0")))


def model_path():
    explicit = os.environ.get("HETSERVE_MODEL_PATH")
    if explicit:
        return explicit
    return "/models/%s.onnx" % os.environ.get("HETSERVE_MODEL", "model")


class BadRequest(ValueError):
    """A request this server cannot read; answered with HTTP 400."""


def decode_sample(body):
    """One OIP request body -> (input name, one sample as a numpy array without the batch axis)."""
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise BadRequest("inputs: expected a list with one tensor")
    t = inputs[0]
    dtype = DATATYPES.get(t.get("datatype"))
    if dtype is None:
        raise BadRequest("inputs[0].datatype: unsupported %r" % (t.get("datatype"),))
    shape = t.get("shape")
    if not isinstance(shape, list) or not shape or shape[0] != 1:
        raise BadRequest("inputs[0].shape: expected [1, ...] (one sample per request), got %r" % (shape,))
    data = np.asarray(t.get("data"), dtype=dtype)
    if data.size != int(np.prod(shape)):
        raise BadRequest("inputs[0].data: %d values do not fill shape %r" % (data.size, shape))
    return t.get("name"), data.reshape(shape)[0]


@serve.deployment
class HetserveModel:
    def __init__(self, path=None):
        import onnxruntime as ort

        self.session = ort.InferenceSession(path or model_path(), providers=ort.get_available_providers())
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.config = {}

    def reconfigure(self, user_config):
        """Apply the plan group's user_config (serve.yaml): batch size and wait, app timeouts."""
        self.config = dict(user_config or {})
        if "max_batch_size" in self.config:
            self.predict.set_max_batch_size(int(self.config["max_batch_size"]))
        if "batch_wait_timeout_s" in self.config:
            self.predict.set_batch_wait_timeout_s(float(self.config["batch_wait_timeout_s"]))

    @serve.batch(max_batch_size=_env_batch_size(), batch_wait_timeout_s=_env_batch_wait_s())
    async def predict(self, samples):
        batch = np.stack(samples)
        outputs = self.session.run(self.output_names, {self.input_name: batch})
        # One result per request: its slice of every output.
        return [[o[k] for o in outputs] for k in range(len(samples))]

    async def __call__(self, request):
        try:
            body = await request.json()
            _, sample = decode_sample(body)
        except (BadRequest, ValueError, TypeError) as e:
            return _json_response({"error": str(e)}, 400)
        result = await self.predict(sample)
        return _json_response(
            {
                "model_name": os.environ.get("HETSERVE_MODEL", "model"),
                "outputs": [
                    {
                        "name": name,
                        "shape": [1] + list(np.shape(value)),
                        "datatype": NUMPY_TO_OIP.get(np.asarray(value).dtype.name, "FP32"),
                        "data": np.asarray(value).ravel().tolist(),
                    }
                    for name, value in zip(self.output_names, result)
                ],
            },
            200,
        )


def _json_response(doc, status):
    from starlette.responses import Response

    return Response(json.dumps(doc), status_code=status, media_type="application/json")


app = HetserveModel.bind()
