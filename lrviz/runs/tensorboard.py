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
# tag -> (steps, values, whether each value was a float32), in the order written
Scalars = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


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
    scalars: Scalars = {}
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
                    float32=bool(single.all()), first_step=None)


def _merge(into: Scalars, more: Scalars) -> None:
    """A later file of the same run: from its first step on, it replaces what came before
    (a resumed run writes a new file and logs its steps again, as TensorBoard purges)."""
    for tag, (steps, values, single) in more.items():
        if tag not in into or not steps.size:
            into[tag] = (steps, values, single)
            continue
        old_steps, old_values, old_single = into[tag]
        keep = int(np.count_nonzero(old_steps < steps[0]))  # steps were increasing
        into[tag] = (np.concatenate([old_steps[:keep], steps]),
                     np.concatenate([old_values[:keep], values]),
                     np.concatenate([old_single[:keep], single]))


def _framed(data: bytes) -> bool:
    """Whether ``data`` starts with a TFRecord whose length CRC holds."""
    if len(data) < 16:
        return False
    length, crc = _HEADER.unpack_from(data, 0)
    return _masked_crc(data[:8]) == crc and 16 + length <= len(data)


def decode_events(data: bytes, source: str) -> Scalars:
    """Every scalar of an event file: tag -> (steps, values, whether each was float32).

    Records are taken a length at a time, their bytes as one array with a row per byte
    position (:func:`_columns`): their CRCs are checked and the common records (see
    :func:`_simple`) decoded from it with numpy; the others field by field. Each tag keeps
    the order its records were written in.
    """
    starts, lengths = _frame(data, source)
    buffer = np.frombuffer(data, dtype=np.uint8)
    n = starts.size
    found = np.zeros(n, dtype=bool)
    steps = np.zeros(n, dtype=np.int64)
    values = np.zeros(n, dtype=np.float64)
    parts: dict[str, list[np.ndarray]] = {}
    bad_head: list[int] = []
    bad_data: int | None = None
    for length in np.unique(lengths).tolist():
        chosen = np.flatnonzero(lengths == length)
        checked = length <= CHECKED  # longer ones by their framing only: the length's CRC
        cols = _columns(buffer, starts[chosen], 16 + length if checked else 12)
        bad = np.flatnonzero(_u32(cols[8:12]) != _masked_crc(_LENGTH.pack(length)))
        bad_head += chosen[bad[:1]].tolist()
        if not checked:
            continue
        body = cols[12:12 + length]
        if bad_data is None:
            bad = np.flatnonzero(_crc_columns(body) != _u32(cols[12 + length:]))
            bad_data = int(chosen[bad[0]]) if bad.size else None
        _simple(body, chosen, found, steps, values, parts)
    if bad_head:
        first = min(bad_head)
        raise SpecError(f"record {first} (byte {starts[first]}) fails its length checksum; "
                        f"expected {DESCRIPTION}", source)
    if bad_data is not None:
        raise SpecError(f"record {bad_data} (byte {starts[bad_data]}) fails its data "
                        f"checksum; expected {DESCRIPTION}", source)
    tags = {tag: np.sort(np.concatenate(p)) for tag, p in parts.items()}
    rest: dict[str, tuple[list[int], list[float], list[bool]]] = {}
    order: dict[str, list[int]] = {}
    for record in np.flatnonzero(~found).tolist():
        start = int(starts[record])
        before = {tag: len(v[0]) for tag, v in rest.items()}
        try:
            _event(data, start + 12, start + 12 + int(lengths[record]), rest)
        except (IndexError, ValueError, struct.error):
            raise SpecError(f"record {record} (byte {start}) is not a valid Event; expected "
                            f"{DESCRIPTION}", source) from None
        for tag, v in rest.items():
            order.setdefault(tag, []).extend([record] * (len(v[0]) - before.get(tag, 0)))
    out: Scalars = {}
    for tag in sorted(set(tags) | set(rest)):
        index = tags.get(tag, np.zeros(0, dtype=np.int64))
        if tag not in rest:
            out[tag] = (steps[index], values[index], np.ones(index.size, dtype=bool))
            continue
        more_steps, more_values, more_single = rest[tag]
        every = np.concatenate([index, np.asarray(order[tag], dtype=np.int64)])
        by = np.argsort(every, kind="stable")
        out[tag] = (np.concatenate([steps[index], np.asarray(more_steps, np.int64)])[by],
                    np.concatenate([values[index], np.asarray(more_values, np.float64)])[by],
                    np.concatenate([np.ones(index.size, bool), np.asarray(more_single, bool)]
                                   )[by])
    return out


def _rows(buffer: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` bytes at each of ``starts`` (every one inside ``buffer``), as rows.

    Records of one length mostly sit at even intervals (the same few records logged step
    after step), so the rows are read as strided views of the file, one per stretch of
    even spacing, rather than gathered byte by byte through an index array.
    """
    n = starts.size
    if n <= 1:
        return np.stack([buffer[s:s + width] for s in starts.tolist()]) if n else \
            np.zeros((0, width), dtype=np.uint8)
    gaps = np.diff(starts)
    cuts = np.flatnonzero(gaps[1:] != gaps[:-1]) + 1  # a new spacing begins here
    if cuts.size > n // 16:  # no even spacing to speak of
        if width > _GATHERED:  # an index per byte would take 8 times the records' size
            return np.stack([buffer[s:s + width] for s in starts.tolist()])
        return buffer[starts[:, None] + np.arange(width)]
    views = []
    for first, stop in zip([0, *cuts.tolist()], [*cuts.tolist(), n], strict=True):
        step = int(gaps[first]) if stop - first > 1 else width
        views.append(np.lib.stride_tricks.as_strided(
            buffer[int(starts[first]):], shape=(stop - first, width),
            strides=(step, 1), writeable=False))
    return views[0] if len(views) == 1 else np.concatenate(views)


def _columns(buffer: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` bytes at each of ``starts`` a byte position at a time: row i holds
    byte i of every record, so that each check and field is one contiguous array.

    Transposed a block of records at a time: a block fits in the cache, where one
    transposition of the whole would read the file once per byte position.
    """
    rows = _rows(buffer, starts, width)
    out = np.empty((width, rows.shape[0]), dtype=np.uint8)
    block = max(1, _BLOCK_BYTES // width)
    for first in range(0, rows.shape[0], block):
        out[:, first:first + block] = np.ascontiguousarray(rows[first:first + block]).T
    return out


_BLOCK_BYTES = 1 << 17


_GATHERED = 64  # wider records, unevenly spaced, are copied one by one


def _u32(columns: np.ndarray) -> np.ndarray:
    """Four byte columns (rows of ``columns``) as little-endian uint32s."""
    out = columns[0].astype(np.uint32)
    for i in range(1, 4):
        out |= columns[i].astype(np.uint32) << np.uint32(8 * i)
    return out


def _simple(body: np.ndarray, chosen: np.ndarray, found: np.ndarray, steps: np.ndarray,
            values: np.ndarray, tags: dict[str, list[np.ndarray]]) -> None:
    """Decode the records of one length, ``body`` (a column per byte, a record per
    column; their indices ``chosen``), that have the layout nearly every scalar has
    (``add_scalar``, one value per Event): wall_time, step, summary{value{tag,
    simple_value}}, every length one byte.

    For one step varint length every field sits at a fixed offset, so the records are
    checked and decoded a byte column at a time. Marks them in ``found``, fills their
    ``steps`` and ``values`` and adds their indices to ``tags`` under their tag.
    """
    length = body.shape[0]
    # wall_time (double) then step (varint, <= 10 bytes), then a summary of one value
    if not 24 <= length <= 10 + 10 + 6 + 127 + 5 or body.shape[1] == 0:
        return
    ok = (body[0] == 0x09) & (body[9] == 0x10)
    varints = np.ones(body.shape[1], dtype=np.int64)  # the step's length in bytes
    going = body[10] >= 0x80
    for i in range(11, 20):
        if not going.any():
            break
        varints += going
        going &= body[i] >= 0x80
    ok &= ~going  # longer than 10 bytes
    for v in np.unique(varints[ok]).tolist():
        tag_size = length - v - 21
        if tag_size < 0:
            continue
        at = 10 + v  # the summary's key
        expected = ((0, 0x2A), (1, length - 12 - v), (2, 0x0A), (3, length - 14 - v),
                    (4, 0x0A), (5, tag_size), (6 + tag_size, 0x15))
        if any(value > 0x7F for _, value in expected):
            continue
        match = ok & (varints == v)
        for offset, value in expected:
            match &= body[at + offset] == value
        members = np.flatnonzero(match)
        if members.size == 0:
            continue
        cols = body[:, members] if members.size < body.shape[1] else body
        index = chosen[members]
        step = np.zeros(members.size, dtype=np.uint64)
        for i in range(v):
            step |= (cols[10 + i] & 0x7F).astype(np.uint64) << np.uint64(7 * i)
        steps[index] = step.view(np.int64)
        values[index] = _u32(cols[at + 7 + tag_size:]).view("<f4")
        found[index] = True
        for tag, where in _groups(cols[at + 6:at + 6 + tag_size]):
            tags.setdefault(tag, []).append(index[where])


def _groups(names: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The distinct columns of ``names`` (tags of one size, a column each) and where each
    occurs: a few tags are picked out one by one (cheap); many fall back to sorting."""
    left = np.arange(names.shape[1])
    out: list[tuple[str, np.ndarray]] = []
    while left.size and len(out) < _FEW_TAGS:
        first = names[:, left[0]]
        rest = names if left.size == names.shape[1] else names[:, left]
        same = (rest == first[:, None]).all(axis=0)
        out.append((bytes(first).decode("utf-8", "replace"), left[same]))
        left = left[~same]
    if left.size:
        unique, inverse = np.unique(names[:, left].T, axis=0, return_inverse=True)
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
        spans = np.lib.stride_tricks.as_strided(buffer[pos:], shape=(count, span),
                                                strides=(span, 1), writeable=False)
        same = np.ones(count, dtype=bool)
        for offset, length in zip(offsets.tolist(), pattern, strict=True):
            same &= np.ascontiguousarray(spans[:, offset:offset + 8]).view("<u8")[:, 0] == length
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
_LENGTH = struct.Struct("<Q")


def _zero_byte(crc: np.ndarray) -> np.ndarray:
    """The CRC register after one more byte of zeros."""
    return ((crc >> 8) ^ _CRC_TABLE[crc & 0xFF]).astype(np.uint32)


# The CRC is linear: the byte-at-a-time step crc' = (crc >> 8) ^ T[(crc ^ b) & 0xFF] is
# zero_byte(crc) ^ T[b]. So a message of n bytes has the CRC
#     zero_byte^n(init) ^ XOR over i of zero_byte^(n-1-i)(T[b_i]),
# one table lookup per byte, each byte's table chosen by its distance from the end
# (_AFTER[k]: zero_byte^k applied to T), with no chain from one byte to the next. Records
# of one length are so checked a column of bytes at a time, and a column whose byte is
# the same in every record (the tag, the field keys) costs one lookup in all.
_AFTER: list[np.ndarray] = [_CRC_TABLE]
_POSITIONAL = 1024  # longer records (rare: not scalars) take the byte-at-a-time loop


def _after(k: int) -> np.ndarray:
    while len(_AFTER) <= k:
        _AFTER.append(_zero_byte(_AFTER[-1]))
    return _AFTER[k]


def _init(length: int) -> int:
    """zero_byte^length of the initial register."""
    crc = np.array([0xFFFFFFFF], dtype=np.uint32)
    for _ in range(length):
        crc = _zero_byte(crc)
    return int(crc[0])


def _mask(crc: np.ndarray) -> np.ndarray:
    crc = crc ^ np.uint32(0xFFFFFFFF)
    return (((crc >> 15) | (crc << 17)) + np.uint32(0xA282EAD8)).astype(np.uint32)


def _crc_columns(columns: np.ndarray) -> np.ndarray:
    """The masked CRC-32C of each record of ``columns`` (uint8, a row per byte position,
    a column per record)."""
    length, n = columns.shape
    if length > _POSITIONAL or n < 64:
        return _crcs_of_rows(columns.T)
    crc = np.full(n, _init(length), dtype=np.uint32)
    constant = 0
    varies = (columns != columns[:, :1]).any(axis=1).tolist()
    for i, column in enumerate(columns):
        table = _after(length - 1 - i)
        if varies[i]:
            crc ^= table[column]
        else:
            constant ^= int(table[column[0]])
    crc ^= np.uint32(constant)
    return _mask(crc)


_CRC_BLOCK = 16


def _crcs_of_rows(rows: np.ndarray) -> np.ndarray:
    """The masked CRC-32C of each row, a byte at a time (every record length)."""
    crc = np.full(rows.shape[0], 0xFFFFFFFF, dtype=np.uint32)
    index = np.empty(rows.shape[0], dtype=np.uint32)
    for first in range(0, rows.shape[1], _CRC_BLOCK):  # a block of columns at a time
        block = np.ascontiguousarray(rows[:, first:first + _CRC_BLOCK])
        for column in block.T:
            np.bitwise_xor(crc, column, out=index)
            index &= 0xFF
            crc >>= 8
            crc ^= _CRC_TABLE[index]
    return _mask(crc)


def _crcs(buffer: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """The masked CRC-32C of ``length`` bytes at each of ``starts``, all at once."""
    return _crcs_of_rows(_rows(buffer, np.asarray(starts, dtype=np.int64), length))


def _masked_crc(data: bytes) -> int:
    return int(_crcs_of_rows(np.frombuffer(data, np.uint8)[None, :])[0])


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
