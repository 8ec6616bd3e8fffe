"""How long ``lrviz verify`` takes on a long TensorBoard log: ``python benchmarks/bench_verify.py
[STEPS]`` writes an event file of STEPS scalars (an lr and a loss per step, as a training loop
logs them) into a temporary folder, then times reading it and holding it against the plan.

A benchmark, not a test: the machine decides the numbers. The file is written by a small
encoder here, so tensorboard need not be installed.
"""

from __future__ import annotations

import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lrviz.api import simulate
from lrviz.runs import read_run
from lrviz.runs.tensorboard import _crcs
from lrviz.verify import compare


def _records(events: list[bytes]) -> bytes:
    """TFRecords of ``events``, their CRCs computed all at once."""
    lengths = np.array([len(e) for e in events], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths + 16)[:-1]]).astype(np.int64)
    blob = bytearray(b"".join(struct.pack("<Q", len(e)) + b"\0" * 4 + e + b"\0" * 4
                              for e in events))
    buffer = np.frombuffer(bytes(blob), dtype=np.uint8)
    heads = _crcs(buffer, starts, 8)
    bodies = np.zeros(len(events), dtype=np.uint32)
    for length in np.unique(lengths).tolist():
        chosen = np.flatnonzero(lengths == length)
        bodies[chosen] = _crcs(buffer, starts[chosen] + 12, length)
    for start, length, head, body in zip(starts.tolist(), lengths.tolist(), heads.tolist(),
                                         bodies.tolist(), strict=True):
        blob[start + 8:start + 12] = struct.pack("<I", head)
        blob[start + 12 + length:start + 16 + length] = struct.pack("<I", body)
    return bytes(blob)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


def _scalar(tag: bytes, step: int, value: float) -> bytes:
    content = b"\x0a" + bytes([len(tag)]) + tag + b"\x15" + struct.pack("<f", value)
    value_msg = b"\x0a" + bytes([len(content)]) + content
    return (b"\x09" + struct.pack("<d", 1.7e9 + step) + b"\x10" + _varint(step)
            + b"\x2a" + bytes([len(value_msg)]) + value_msg)


def main(steps: int) -> None:
    spec = {"steps": steps, "optimizer": {"type": "AdamW", "lr": 3e-4},
            "scheduler": {"type": "CosineAnnealingLR", "T_max": steps}}
    plan = np.asarray(simulate(spec).lrs[0])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.out.tfevents.1.bench"
        started = time.perf_counter()
        events = []
        for step in range(steps):
            events.append(_scalar(b"lr", step, float(plan[step])))
            events.append(_scalar(b"loss", step, 1.0 / (step + 1)))
        path.write_bytes(_records(events))
        size = path.stat().st_size
        written = time.perf_counter() - started
        started = time.perf_counter()
        run = read_run(path)
        read = time.perf_counter() - started
        started = time.perf_counter()
        result = compare(plan, run)
        compared = time.perf_counter() - started
    print(f"{steps} steps ({size} bytes): written in "
          f"{written:.1f} s; read {read:.2f} s, compared {compared:.3f} s: "
          f"{result.verdict.kind}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
