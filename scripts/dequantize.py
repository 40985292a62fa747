#!/usr/bin/env python3
"""De-quantize an alpt table exported with `alpt export --format safetensors`: the README's recipe.

Usage: python3 scripts/dequantize.py model.safetensors [row]
Uses the `safetensors` package when installed, else reads the (simple) container with NumPy alone.
"""
import json, struct, sys
import numpy as np


def load(path):
    try:
        from safetensors.numpy import load_file
        return load_file(path)
    except ImportError:  # the container: u64 header length, JSON header, tensors back to back
        raw = open(path, "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        dt = {"U8": np.uint8, "F32": np.float32, "F16": np.float16, "U32": np.uint32, "I32": np.int32, "F64": np.float64}
        return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]], dt[v["dtype"]]).reshape(v["shape"])
                for k, v in header.items() if k != "__metadata__"}


path = sys.argv[1]
t, d = load(path), json.load(open(path.removesuffix(".safetensors") + ".json"))["table"]
# --- the five lines in the README ---
bits = np.unpackbits(t["table.main.codes"], axis=1, bitorder="little")[:, : d["dim"] * d["bits"]]
q = (bits.reshape(d["rows"], d["dim"], d["bits"]).astype(np.int32) << np.arange(d["bits"])).sum(-1) - 2 ** (d["bits"] - 1)
table = (q * t["table.main.steps"][:, None].astype(np.float32)).astype(np.float32)  # [rows, dim]
# ---
row = int(sys.argv[2]) if len(sys.argv) > 2 else 0
print(json.dumps([float(x) for x in table[row]]))
