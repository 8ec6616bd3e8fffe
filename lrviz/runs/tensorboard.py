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
    """Every scalar of an event file: tag -> (steps, values, whether each was float32).

    The common records (see :func:`_simple`) are decoded all at once with numpy; the
    others field by field. Each tag keeps the order its records were written in.
    """
    starts, lengths = _frame(data, source)
    _check_crcs(data, starts, lengths, source)
    buffer = np.frombuffer(data, dtype=np.uint8)
    found, tags, steps, values = _simple(buffer, starts, lengths)
    rest: dict[str, tuple[list[int], list[float], list[bool]]] = {}
    order: dict[str, list[int]] = {}
    for index in np.flatnonzero(~found).tolist():
        start = int(starts[index])
        before = {tag: len(v[0]) for tag, v in rest.items()}
        try:
            _event(data, start + 12, start + 12 + int(lengths[index]), rest)
        except (IndexError, ValueError, struct.error):
            raise SpecError(f"record {index} (byte {start}) is not a valid Event; expected "
                            f"{DESCRIPTION}", source) from None
        for tag, v in rest.items():
            order.setdefault(tag, []).extend([index] * (len(v[0]) - before.get(tag, 0)))
    out: dict[str, tuple[list[int], list[float], list[bool]]] = {}
    for tag in sorted(set(tags) | set(rest)):
        index = tags.get(tag, np.zeros(0, dtype=np.int64))
        if tag not in rest:
            out[tag] = (steps[index].tolist(), values[index].tolist(), [True] * index.size)
            continue
        more_steps, more_values, more_single = rest[tag]
        every = np.concatenate([index, np.asarray(order[tag], dtype=np.int64)])
        by = np.argsort(every, kind="stable")
        out[tag] = (np.concatenate([steps[index], np.asarray(more_steps, np.int64)])[by].tolist(),
                    np.concatenate([values[index], np.asarray(more_values)])[by].tolist(),
                    np.concatenate([np.ones(index.size, bool), np.asarray(more_single, bool)]
                                   )[by].tolist())
    return out


def _simple(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray
            ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The records with the layout nearly every scalar has (``add_scalar``, one value per
    Event): wall_time, step, summary{value{tag, simple_value}}, every length one byte.

    For one record length and one step varint length every field sits at a fixed offset,
    so a group of such records is checked and decoded by numpy views. Returns which records
    matched, tag -> the matched records with that tag, and each record's step and value.
    """
    n = starts.size
    found = np.zeros(n, dtype=bool)
    steps = np.zeros(n, dtype=np.int64)
    values = np.zeros(n, dtype=np.float64)
    tags: dict[str, list[np.ndarray]] = {}
    size = buffer.size
    begin = starts + 12
    # wall_time (double) then step (varint, <= 10 bytes): records long enough to hold them
    usable = (lengths >= 24) & (lengths <= 10 + 10 + 6 + 127 + 5)
    usable &= begin + 20 <= size
    candidates = np.flatnonzero(usable)
    if candidates.size:
        head = begin[candidates]
        ok = (buffer[head] == 0x09) & (buffer[head + 9] == 0x10)
        candidates, head = candidates[ok], head[ok]
    if candidates.size == 0:
        return found, {}, steps, values
    window = buffer[head[:, None] + 10 + np.arange(10)]
    ends = window < 0x80
    has_end = ends.any(axis=1)
    varint = np.argmax(ends, axis=1) + 1
    candidates, window, varint = candidates[has_end], window[has_end], varint[has_end]
    keys = lengths[candidates] * 16 + varint
    for key in np.unique(keys).tolist():
        length, v = divmod(int(key), 16)
        chosen = candidates[keys == key]
        at = begin[chosen] + 10 + v  # the summary's key
        tag_size = length - v - 21
        if tag_size < 0:
            continue
        expected = ((0, 0x2A), (1, length - 12 - v), (2, 0x0A), (3, length - 14 - v),
                    (4, 0x0A), (5, tag_size), (6 + tag_size, 0x15))
        if any(value > 0x7F for _, value in expected):
            continue
        ok = np.ones(chosen.size, dtype=bool)
        for offset, value in expected:
            ok &= buffer[at + offset] == value
        chosen, at = chosen[ok], at[ok]
        if chosen.size == 0:
            continue
        digits = window[keys == key][ok][:, :v].astype(np.uint64) & np.uint64(0x7F)
        step = np.zeros(chosen.size, dtype=np.uint64)
        for i in range(v):
            step |= digits[:, i] << np.uint64(7 * i)
        steps[chosen] = step.view(np.int64)
        raw = buffer[(at + 7 + tag_size)[:, None] + np.arange(4)]
        values[chosen] = np.ascontiguousarray(raw).view("<f4")[:, 0]
        found[chosen] = True
        names = buffer[(at + 6)[:, None] + np.arange(tag_size)]
        for tag, members in _groups(names):
            tags.setdefault(tag, []).append(chosen[members])
    merged = {tag: np.sort(np.concatenate(parts)) for tag, parts in tags.items()}
    return found, merged, steps, values


def _groups(names: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The distinct rows of ``names`` (tags of one size) and where each occurs: a few tags
    are picked out one by one (cheap); many fall back to sorting the rows."""
    left = np.arange(names.shape[0])
    out: list[tuple[str, np.ndarray]] = []
    while left.size and len(out) < _FEW_TAGS:
        first = names[left[0]]
        same = (names[left] == first).all(axis=1)
        out.append((bytes(first).decode("utf-8", "replace"), left[same]))
        left = left[~same]
    if left.size:
        unique, inverse = np.unique(names[left], axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        out.extend((bytes(name).decode("utf-8", "replace"), left[inverse == j])
                   for j, name in enumerate(unique))
    return out


_FEW_TAGS = 32


def _frame(data: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Where each record starts, and its data length.

    A few records are walked one by one; when their lengths repeat with a period (an lr
    and a loss per step), the rest of the file is checked against that period at once and
    the matching stretch taken whole; then the walk goes on from where it broke.
    """
    size = len(data)
    buffer = np.frombuffer(data, dtype=np.uint8)
    starts: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    pos = 0
    unpack = _HEADER.unpack_from
    while pos < size:
        walked: list[int] = []
        at: list[int] = []
        while pos < size and len(walked) < _WALK:
            if pos + 12 > size:
                raise SpecError(f"truncated at byte {pos} (a record header cut short); "
                                f"expected {DESCRIPTION}", source)
            length, _ = unpack(data, pos)
            end = pos + 16 + length
            if end > size:
                raise SpecError(f"truncated at byte {pos} (a record of {length} bytes, "
                                f"{size - pos} left); expected {DESCRIPTION}", source)
            at.append(pos)
            walked.append(length)
            pos = end
        starts.append(np.array(at, dtype=np.int64))
        lengths.append(np.array(walked, dtype=np.int64))
        if pos < size:
            pos = _repeat(buffer, pos, walked, starts, lengths)
    if not starts or pos == 0:
        raise SpecError(f"empty; expected {DESCRIPTION}", source)
    return np.concatenate(starts), np.concatenate(lengths)


_WALK = 16  # records walked one by one before looking for a period


def _repeat(buffer: np.ndarray, pos: int, walked: list[int], starts: list[np.ndarray],
            lengths: list[np.ndarray]) -> int:
    """Take the records from ``pos`` on that repeat the last period of ``walked``."""
    for period in range(1, len(walked) // 2 + 1):
        pattern = walked[-period:]
        if walked[-2 * period:-period] != pattern:
            continue
        sizes = np.asarray(pattern, dtype=np.int64) + 16
        span = int(sizes.sum())
        count = (buffer.size - pos) // span
        if count == 0:
            return pos
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        at = pos + np.arange(count, dtype=np.int64)[:, None] * span + offsets[None, :]
        raw = np.ascontiguousarray(buffer[at[..., None] + np.arange(8)])
        same = (raw.view("<u8")[..., 0] == np.asarray(pattern, dtype=np.uint64)).all(axis=1)
        taken = count if same.all() else int(np.argmin(same))
        if taken:
            starts.append(at[:taken].reshape(-1))
            lengths.append(np.tile(np.asarray(pattern, dtype=np.int64), taken))
        return pos + taken * span
    return pos


def _table() -> np.ndarray:
    poly = 0x82F63B78  # CRC-32C (Castagnoli), reflected
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(poly), table >> 1).astype(np.uint32)
    return table


_CRC_TABLE = _table()


_CRC_BLOCK = 16


def _crcs(buffer: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """The masked CRC-32C of ``length`` bytes at each of ``starts``, all at once."""
    crc = np.full(starts.shape, 0xFFFFFFFF, dtype=np.uint32)
    index = np.empty(starts.shape, dtype=np.uint32)
    for first in range(0, length, _CRC_BLOCK):  # bytes gathered a block at a time
        block = buffer[starts[:, None] + np.arange(first, min(first + _CRC_BLOCK, length))]
        for column in block.T:
            np.bitwise_xor(crc, column, out=index)
            index &= 0xFF
            crc >>= 8
            crc ^= _CRC_TABLE[index]
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
