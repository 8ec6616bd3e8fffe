"""TensorBoard event files (``events.out.tfevents.*``), or the folder holding them.

lrviz reads the format itself rather than importing tensorboard: a file is a sequence of
TFRecords (length: u64, masked CRC-32C of the length, data, masked CRC-32C of the data),
each an ``Event`` protobuf; a scalar is ``Event.summary.value`` with a ``tag`` and either
``simple_value`` (float32) or a one-element ``tensor``. Only those fields are decoded.
Every CRC is checked (records over 64 KB, images and the like, by their framing only), so a
truncated or foreign file is refused in one line.

Values are float32: they are compared with the plan rounded to float32. Which step is the
plan's row 0 depends on the writer (HF's callback logs step N for the N-th step, Lightning's
logger the steps taken, a hand-made loop its own): both 0 and 1 are tried.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np

from lrviz.errors import SpecError
from lrviz.runs.common import Options, make_run, pick_tag, read_inside
from lrviz.runs.model import LoggedRun

NAME = "tensorboard"
DESCRIPTION = "a TensorBoard event file"
PREFIX = "events.out.tfevents."
MAX_FILES = 1000
CHECKED = 1 << 16  # records up to this size have their CRC checked
_HEADER = struct.Struct("<QI")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_DT_FLOAT, _DT_DOUBLE = 1, 2
# The layout nearly every scalar record has (SummaryWriter.add_scalar, one value per Event):
# wall_time, step, summary{value{tag, simple_value}}. Matched first, as it is much faster
# than field-by-field decoding; anything else is decoded field by field.
_SIMPLE = re.compile(rb"\x09.{8}\x10([\x80-\xff]{0,9}[\x00-\x7f])\x2a(.)\x0a(.)\x0a(.)",
                     re.DOTALL)


def _files(folder: Path) -> list[Path]:
    """The event files of a folder, or of its subfolders (two levels) when it has none."""
    found = sorted(p for p in folder.glob(PREFIX + "*") if p.is_file())
    for pattern in ("*/" + PREFIX + "*", "*/*/" + PREFIX + "*"):
        if found:
            break
        found = sorted(p for p in folder.glob(pattern) if p.is_file())
    return found


def detect(path: Path, data: bytes | None) -> int:
    if data is None:
        return 8 if _files(path) else 0
    if path.name.startswith(PREFIX):
        return 10
    return 6 if _framed(data) else 0


def read(path: Path, data: bytes | None, options: Options) -> LoggedRun:
    scalars: dict[str, tuple[list[int], list[float], list[bool]]] = {}
    if data is None:
        files = _files(path)
        folders = sorted({str(f.parent) for f in files})
        if len(folders) > 1:
            raise SpecError(f"holds event files of {len(folders)} runs ({', '.join(folders[:4])}"
                            f"{'...' if len(folders) > 4 else ''}); name one run's folder",
                            str(path))
        if len(files) > MAX_FILES:
            raise SpecError(f"holds {len(files)} event files; expected at most {MAX_FILES}",
                            str(path))
        for file in files:  # in name order, which is the order they were written
            blob = read_inside(path, file, options, binary=True)
            _merge(scalars, decode_events(blob, str(file)))  # type: ignore[arg-type]
    else:
        scalars = decode_events(data, str(path))
    source = str(path)
    tag = pick_tag(sorted(scalars), options.tag, source)
    steps, values, single = scalars[tag]
    return make_run(steps, values, tag=tag, source=source, format=NAME,
                    float32=all(single), first_step=None)


def _merge(into: dict[str, tuple[list[int], list[float], list[bool]]],
           more: dict[str, tuple[list[int], list[float], list[bool]]]) -> None:
    """A later file of the same run: from its first step on, it replaces what came before
    (a resumed run writes a new file and logs its steps again, as TensorBoard purges)."""
    for tag, (steps, values, single) in more.items():
        if tag not in into or not steps:
            into[tag] = (list(steps), list(values), list(single))
            continue
        old_steps, old_values, old_single = into[tag]
        keep = sum(1 for s in old_steps if s < steps[0])  # steps were increasing
        into[tag] = (old_steps[:keep] + steps, old_values[:keep] + values,
                     old_single[:keep] + single)


def _framed(data: bytes) -> bool:
    """Whether ``data`` starts with a TFRecord whose length CRC holds."""
    if len(data) < 16:
        return False
    length, crc = _HEADER.unpack_from(data, 0)
    return _masked_crc(data[:8]) == crc and 16 + length <= len(data)


def decode_events(data: bytes, source: str) -> dict[str, tuple[list[int], list[float], list[bool]]]:
    """Every scalar of an event file: tag -> (steps, values, whether each was float32)."""
    starts, lengths = _frame(data, source)
    _check_crcs(data, starts, lengths, source)
    out: dict[str, tuple[list[int], list[float], list[bool]]] = {}
    simple = _SIMPLE.match
    unpack = _F32.unpack_from
    for index, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist(), strict=True)):
        begin = start + 12
        end = begin + length
        found = simple(data, begin)
        if found is not None:
            tag_end = found.end() + found.group(4)[0]
            if (tag_end + 5 == end and data[tag_end] == 0x15
                    and found.group(2)[0] == end - found.end(2)
                    and found.group(3)[0] == end - found.end(3)):
                step = 0
                for shift, byte in enumerate(found.group(1)):
                    step |= (byte & 0x7F) << (7 * shift)
                if step >= 1 << 63:
                    step -= 1 << 64
                tag = data[found.end():tag_end].decode("utf-8", "replace")
                steps, values, single = out.setdefault(tag, ([], [], []))
                steps.append(step)
                values.append(unpack(data, tag_end + 1)[0])
                single.append(True)
                continue
        try:
            _event(data, begin, end, out)
        except (IndexError, ValueError, struct.error):
            raise SpecError(f"record {index} (byte {start}) is not a valid Event; expected "
                            f"{DESCRIPTION}", source) from None
    return out


def _frame(data: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Where each record starts, and its data length."""
    size = len(data)
    starts: list[int] = []
    lengths: list[int] = []
    pos = 0
    unpack = _HEADER.unpack_from
    while pos < size:
        if pos + 12 > size:
            raise SpecError(f"truncated at byte {pos} (a record header cut short); expected "
                            f"{DESCRIPTION}", source)
        length, _ = unpack(data, pos)
        end = pos + 16 + length
        if end > size:
            raise SpecError(f"truncated at byte {pos} (a record of {length} bytes, "
                            f"{size - pos} left); expected {DESCRIPTION}", source)
        starts.append(pos)
        lengths.append(length)
        pos = end
    if not starts:
        raise SpecError(f"empty; expected {DESCRIPTION}", source)
    return np.array(starts, dtype=np.int64), np.array(lengths, dtype=np.int64)


def _table() -> np.ndarray:
    poly = 0x82F63B78  # CRC-32C (Castagnoli), reflected
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(poly), table >> 1).astype(np.uint32)
    return table


_CRC_TABLE = _table()


def _crcs(buffer: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """The masked CRC-32C of ``length`` bytes at each of ``starts``, all at once."""
    crc = np.full(starts.shape, 0xFFFFFFFF, dtype=np.uint32)
    for offset in range(length):
        byte = buffer[starts + offset].astype(np.uint32)
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= np.uint32(0xFFFFFFFF)
    return (((crc >> 15) | (crc << 17)) + np.uint32(0xA282EAD8)).astype(np.uint32)


def _masked_crc(data: bytes) -> int:
    return int(_crcs(np.frombuffer(data, np.uint8), np.array([0]), len(data))[0])


def _check_crcs(data: bytes, starts: np.ndarray, lengths: np.ndarray, source: str) -> None:
    buffer = np.frombuffer(data, dtype=np.uint8)
    u32 = lambda at: (buffer[at].astype(np.uint32) | buffer[at + 1].astype(np.uint32) << 8  # noqa: E731
                      | buffer[at + 2].astype(np.uint32) << 16
                      | buffer[at + 3].astype(np.uint32) << 24)
    bad = np.flatnonzero(_crcs(buffer, starts, 8) != u32(starts + 8))
    if bad.size:
        raise SpecError(f"record {bad[0]} (byte {starts[bad[0]]}) fails its length checksum; "
                        f"expected {DESCRIPTION}", source)
    for length in np.unique(lengths[lengths <= CHECKED]).tolist():
        chosen = np.flatnonzero(lengths == length)
        at = starts[chosen] + 12
        bad = np.flatnonzero(_crcs(buffer, at, length) != u32(at + length))
        if bad.size:
            index = chosen[bad[0]]
            raise SpecError(f"record {index} (byte {starts[index]}) fails its data checksum; "
                            f"expected {DESCRIPTION}", source)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _skip(data: bytes, pos: int, wire: int) -> int:
    if wire == 0:
        return _varint(data, pos)[1]
    if wire == 1:
        return pos + 8
    if wire == 2:
        length, pos = _varint(data, pos)
        return pos + length
    if wire == 5:
        return pos + 4
    raise ValueError("unsupported wire type")


def _event(data: bytes, pos: int, end: int,
           out: dict[str, tuple[list[int], list[float], list[bool]]]) -> None:
    """Event{wall_time=1, step=2, summary=5}: the scalars of its summary into ``out``."""
    step = 0
    summaries: list[tuple[int, int]] = []
    while pos < end:
        key = data[pos]
        if key == 0x10:  # step, varint
            step, pos = _varint(data, pos + 1)
            if step >= 1 << 63:
                step -= 1 << 64
        elif key == 0x2A:  # summary, length-delimited
            length, pos = _varint(data, pos + 1)
            summaries.append((pos, pos + length))
            pos += length
        else:
            key, pos = _varint(data, pos)
            pos = _skip(data, pos, key & 7)
    if pos != end:
        raise ValueError("overrun")
    for begin, stop in summaries:
        _summary(data, begin, stop, step, out)


def _summary(data: bytes, pos: int, end: int, step: int,
             out: dict[str, tuple[list[int], list[float], list[bool]]]) -> None:
    """Summary{value=1 (repeated)} -> Value{tag=1, simple_value=2, tensor=8}."""
    while pos < end:
        key, pos = _varint(data, pos)
        if key != 0x0A:
            pos = _skip(data, pos, key & 7)
            continue
        length, pos = _varint(data, pos)
        stop = pos + length
        tag: str | None = None
        value: tuple[float, bool] | None = None
        while pos < stop:
            key, pos = _varint(data, pos)
            if key == 0x0A:
                size, pos = _varint(data, pos)
                tag = data[pos:pos + size].decode("utf-8", "replace")
                pos += size
            elif key == 0x15:
                value = (_F32.unpack_from(data, pos)[0], True)
                pos += 4
            elif key == 0x42:
                size, pos = _varint(data, pos)
                value = _tensor(data, pos, pos + size)
                pos += size
            else:
                pos = _skip(data, pos, key & 7)
        if pos != stop:
            raise ValueError("overrun")
        if tag is not None and value is not None:
            steps, values, single = out.setdefault(tag, ([], [], []))
            steps.append(step)
            values.append(value[0])
            single.append(value[1])


def _tensor(data: bytes, pos: int, end: int) -> tuple[float, bool] | None:
    """A one-element float or double TensorProto{dtype=1, tensor_content=4, float_val=5,
    double_val=6}; None for any other tensor (text, histograms)."""
    dtype = 0
    content: bytes | None = None
    floats: list[float] = []
    doubles: list[float] = []
    while pos < end:
        key, pos = _varint(data, pos)
        if key == 0x08:
            dtype, pos = _varint(data, pos)
        elif key == 0x22:
            size, pos = _varint(data, pos)
            content = data[pos:pos + size]
            pos += size
        elif key == 0x2A:  # float_val, packed
            size, pos = _varint(data, pos)
            floats += [v for (v,) in struct.iter_unpack("<f", data[pos:pos + size])]
            pos += size
        elif key == 0x2D:  # float_val, one
            floats.append(_F32.unpack_from(data, pos)[0])
            pos += 4
        elif key == 0x32:  # double_val, packed
            size, pos = _varint(data, pos)
            doubles += [v for (v,) in struct.iter_unpack("<d", data[pos:pos + size])]
            pos += size
        elif key == 0x31:
            doubles.append(_F64.unpack_from(data, pos)[0])
            pos += 8
        else:
            pos = _skip(data, pos, key & 7)
    if dtype == _DT_FLOAT:
        if content is not None and len(content) == 4:
            return _F32.unpack(content)[0], True
        return (floats[0], True) if len(floats) == 1 else None
    if dtype == _DT_DOUBLE:
        if content is not None and len(content) == 8:
            return _F64.unpack(content)[0], False
        return (doubles[0], False) if len(doubles) == 1 else None
    return None
