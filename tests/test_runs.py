"""The run readers: each format on the logs the frameworks wrote (tests/runs_data) and on
small hand-made files, and every hostile log refused in one line."""

from __future__ import annotations

import json
import os
import sqlite3
import struct
from pathlib import Path

import numpy as np
import pytest

from lrviz.errors import SpecError
from lrviz.runs import Options, read_run, tensorboard
from lrviz.runs.common import is_lr_name

DATA = Path(__file__).parent / "runs_data"


@pytest.mark.parametrize(("run", "fmt", "tag", "count", "first"), [
    ("hf_follows", "hf", "learning_rate", 16, 2),
    ("hf_follows/trainer_state.json", "hf", "learning_rate", 16, 2),
    ("lightning_follows", "lightning", "lr-SGD", 32, 0),
    ("lightning_follows/metrics.csv", "lightning", "lr-SGD", 32, 0),
    ("tb_follows", "tensorboard", "lr", 40, 0),
    ("mlflow_db", "mlflow", "lr", 40, 0),
    ("mlflow_db/mlflow.db", "mlflow", "lr", 40, 0),
    ("mlruns", "mlflow", "lr", 40, 0),
])
def test_framework_logs_are_read(run: str, fmt: str, tag: str, count: int, first: int) -> None:
    logged = read_run(DATA / run)
    assert (logged.format, logged.tag, len(logged), int(logged.steps[0])) == \
        (fmt, tag, count, first)
    assert logged.steps.dtype == np.int64 and logged.lr.dtype == np.float64
    assert logged.float32 == (fmt == "tensorboard")
    assert logged.lr[0] == (np.float32(0.1).item() if logged.float32 else 0.1) or fmt == "hf"


def test_lightning_keeps_one_row_per_optimizer_step_the_last_micro_batch() -> None:
    run = read_run(DATA / "lightning_micro")
    assert run.steps.tolist() == list(range(32))
    # metrics.csv logs step 0 twice (0.1, then the lr after the first micro-batch's step)
    assert run.lr[0] == 0.0998458666866564


@pytest.mark.parametrize("name", ["learning_rate", "train/learning_rate", "lr", "lr-AdamW",
                                  "lr-AdamW/pg2", "lr-SGD-1", "train/lr", "run-3 - lr"])
def test_lr_names(name: str) -> None:
    assert is_lr_name(name)


@pytest.mark.parametrize("name", ["loss", "lr-AdamW-momentum", "train/learning_rate__MIN",
                                  "grad_norm", "lrx"])
def test_not_lr_names(name: str) -> None:
    assert not is_lr_name(name)


def _write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_a_wandb_export_and_its_columns(tmp_path: Path) -> None:
    table = _write(tmp_path / "export.csv", "Step,run-1 - train/learning_rate,"
                   "run-1 - train/learning_rate__MIN\n1,0.1,0.1\n2,0.05,0.05\n")
    run = read_run(table)
    assert (run.format, run.tag, run.steps.tolist(), run.first_step) == \
        ("table", "run-1 - train/learning_rate", [1, 2], None)
    mine = _write(tmp_path / "mine.jsonl", '{"it": 0, "x": 0.1}\n{"it": 1, "x": 0.2}\n')
    run = read_run(mine, Options(step_column="it", lr_column="x"))
    assert run.lr.tolist() == [0.1, 0.2]


def test_mmengine_scalars(tmp_path: Path) -> None:
    work = tmp_path / "work" / "20240101_000000" / "vis_data"
    work.mkdir(parents=True)
    _write(work / "scalars.json", '{"lr": 0.1, "data_time": 0.0, "loss": 1.0, "time": 0.1, '
           '"iter": 1, "memory": 1, "step": 1}\n{"lr": 0.09, "iter": 2, "step": 2}\n'
           '{"accuracy/top1": 1.0, "step": 1}\n')
    run = read_run(tmp_path / "work")
    assert (run.format, run.first_step, run.lr.tolist()) == ("mmengine", 1, [0.1, 0.09])


def _record(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    crc = tensorboard._masked_crc
    return length + struct.pack("<I", crc(length)) + data + struct.pack("<I", crc(data))


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def _scalar(tag: str, step: int, value: float, tensor: bool = False) -> bytes:
    if tensor:  # tf.summary's way: a float tensor, tensor_content
        proto = bytes([0x08, 1]) + _field(4, struct.pack("<f", value))
        content = _field(1, tag.encode()) + _field(8, proto)
    else:
        content = _field(1, tag.encode()) + b"\x15" + struct.pack("<f", value)
    return (b"\x09" + struct.pack("<d", 1.5) + bytes([0x10, step])
            + _field(5, _field(1, content)))


def test_event_files_by_our_own_reader(tmp_path: Path) -> None:
    events = b"".join(_record(r) for r in [
        b"\x09" + struct.pack("<d", 1.0) + _field(3, b"brain.Event:2"),
        _scalar("train/learning_rate", 1, 0.1), _scalar("train/loss", 1, 2.0),
        _scalar("train/learning_rate", 2, 0.05, tensor=True)])
    path = _write(tmp_path / "events.out.tfevents.1.host", events)
    run = read_run(path)
    assert (run.tag, run.steps.tolist(), run.lr.tolist(), run.float32) == \
        ("train/learning_rate", [1, 2], [np.float32(0.1).item(), np.float32(0.05).item()], True)
    assert read_run(path, Options(tag="train/loss")).lr.tolist() == [2.0]


def test_event_files_the_crc_of_a_known_record() -> None:
    # CRC-32C of "123456789" is 0xE3069283 (the check value of the Castagnoli polynomial)
    raw = tensorboard._crcs(np.frombuffer(b"123456789", np.uint8), np.array([0]), 9)[0]
    unmasked = ((int(raw) - 0xA282EAD8) & 0xFFFFFFFF)
    assert ((unmasked << 15) | (unmasked >> 17)) & 0xFFFFFFFF == 0xE3069283


# --- hostile and broken logs: one line, naming the file ------------------------------------

def _refused(path: Path, options: Options | None = None) -> str:
    with pytest.raises(SpecError) as caught:
        read_run(path, options)
    message = str(caught.value)
    assert "\n" not in message and path.name in message
    return message


def test_truncated_and_corrupt_event_files(tmp_path: Path) -> None:
    good = (DATA / "tb_follows" / "events.out.tfevents.1700000000.host.1.0").read_bytes()
    cut = _write(tmp_path / "events.out.tfevents.cut", good[:-7])
    assert "truncated at byte" in _refused(cut)
    flipped = bytearray(good)
    flipped[200] ^= 0x40
    bad = _write(tmp_path / "events.out.tfevents.bad", bytes(flipped))
    assert "checksum" in _refused(bad)
    garbage = _write(tmp_path / "events.out.tfevents.zero", b"\xff" * 64)
    assert "expected a TensorBoard event file" in _refused(garbage)


@pytest.mark.parametrize(("text", "expected"), [
    ('{"log_history": [{"learning_rate": NaN, "step": 1}]}', "expected a finite number"),
    ('{"log_history": [{"learning_rate": 0.1, "step": -3}]}', "is negative"),
    ('{"log_history": [{"learning_rate": 0.1, "step": 2}, {"learning_rate": 0.2, "step": 2}]}',
     "logged twice with different lr"),
    ('{"log_history": [{"learning_rate": 0.1, "step": 2}, {"learning_rate": 0.1, "step": 1}]}',
     "the steps go back from 2 to 1"),
    ('{"log_history": [{"learning_rate": 0.1, "step": "x"}]}', "expected a whole step number"),
    ('{"log_history": [{"loss": 1.0, "step": 1}]}', "no learning-rate key found"),
    ('{"log_history": [{"lr": 1.0, "learning_rate": 1.0, "step": 1}]}',
     "several learning-rate keys"),
    ('{"log_history": [', "not valid JSON"),
])
def test_bad_trainer_states(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _refused(_write(tmp_path / "trainer_state.json", text))


def test_a_missing_tag_lists_at_most_eight_escaped_candidates(tmp_path: Path) -> None:
    keys = {f"m{i}\x1b[31m": 1.0 for i in range(12)}
    path = _write(tmp_path / "trainer_state.json",
                  json.dumps({"log_history": [{**keys, "step": 1}]}))
    message = _refused(path, Options(tag="lr"))
    assert "\x1b" not in message and "and 4 more" in message


def test_not_utf8_and_unknown_files(tmp_path: Path) -> None:
    assert "not UTF-8" in _refused(_write(tmp_path / "metrics.csv", b"step,lr\n0,\xff\n"))
    assert "not a run log lrviz reads" in _refused(_write(tmp_path / "x.bin", b"\x00\x01"))


def test_fifo_and_over_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "trainer_state.json"
    os.mkfifo(fifo)
    assert "not a regular file" in _refused(fifo)
    import lrviz.runs

    monkeypatch.setattr(lrviz.runs, "MAX_RUN_BYTES", 10)
    big = _write(tmp_path / "metrics.csv", "step,lr\n" + "0,0.1\n" * 10)
    assert "expected at most 10 B" in _refused(big)


def test_a_link_out_of_the_run_folder_is_refused(tmp_path: Path) -> None:
    outside = _write(tmp_path / "secret.json", '{"log_history": []}')
    run = tmp_path / "run"
    run.mkdir()
    (run / "trainer_state.json").symlink_to(outside)
    message = _refused(run)
    assert "outside" in message and "--allow-path" in message
    with pytest.raises(SpecError, match="no learning-rate key"):  # allowed: read, and it is empty
        read_run(run, Options(allowed=(tmp_path,)))


def test_mlflow_database_refusals(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE metrics (key TEXT, value FLOAT, timestamp INT, "
                           "run_uuid TEXT, step INT, is_nan BOOLEAN)")
        connection.executemany("INSERT INTO metrics VALUES (?, ?, 0, ?, ?, ?)", [
            ("lr", 0.1, "aaaa1111", 0, 0), ("lr", 0.2, "bbbb2222", 0, 0),
            ("lr", 0.0, "cccc3333", 0, 1)])
    connection.close()
    assert "3 runs log 'lr'" in _refused(db)
    assert read_run(db, Options(tag="bbbb:lr")).lr.tolist() == [0.2]
    assert "expected a finite number" in _refused(db, Options(tag="cccc:lr"))
    not_db = _write(tmp_path / "other.db", b"hello")
    assert "expected an MLflow store" in _refused(not_db)


def test_damaged_mlflow_text_is_refused_or_shown_never_raised(tmp_path: Path) -> None:
    # a key that is not UTF-8 is shown, replaced; a schema byte damaged (found by mutating
    # the framework's own store) makes sqlite quote it in its error: one line, no traceback
    db = tmp_path / "keys" / "mlflow.db"
    db.parent.mkdir()
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE metrics (key TEXT, value REAL, step INT, "
                           "run_uuid TEXT)")
        connection.execute("INSERT INTO metrics VALUES (CAST(x'6c72ff' AS TEXT), 0.1, 0, 'r')")
    connection.close()
    assert "it has 'lr\ufffd'" in _refused(db)
    data = bytearray((DATA / "mlflow_db" / "mlflow.db").read_bytes())
    data[data.index(b"VARCHAR(250) NOT NULL, \n\tvalue FLOAT NOT") + 20] = 0x84
    (tmp_path / "damaged").mkdir()
    damaged = _write(tmp_path / "damaged" / "mlflow.db", bytes(data))
    assert "damaged: text that is not UTF-8" in _refused(damaged)


def test_a_step_too_large_for_any_counter_is_refused(tmp_path: Path) -> None:
    state = {"log_history": [{"step": 10**30, "learning_rate": 0.1, "loss": 1.0}]}
    path = _write(tmp_path / "trainer_state.json", json.dumps(state).encode())
    assert "expected a whole step number, got '1000000000000000000000000000000'" in \
        _refused(path)


def _long_scalar(tag: str, step: int, value: float, wall_time: bool = True) -> bytes:
    """add_scalar's layout with any step (a varint); without wall_time it takes the
    field-by-field path."""
    varint = bytearray()
    rest = step
    while rest >= 0x80:
        varint.append(rest & 0x7F | 0x80)
        rest >>= 7
    varint.append(rest)
    content = _field(1, tag.encode()) + b"\x15" + struct.pack("<f", value)
    head = b"\x09" + struct.pack("<d", 1.5) if wall_time else b""
    return head + b"\x10" + bytes(varint) + _field(5, _field(1, content))


def test_event_files_decoded_at_once_keep_each_tags_order(tmp_path: Path) -> None:
    # thousands of records whose lengths repeat (taken by their period), a step varint
    # growing at 128 and 16384 (the period breaks), and records of the other layout mixed in
    records, expected = [], []
    for step in range(0, 20000, 7):
        lr = 1.0 / (step + 1)
        records.append(_long_scalar("lr", step, lr, wall_time=step % 1001 != 0))
        records.append(_long_scalar("loss", step, 2.0))
        expected.append((step, np.float32(lr).item()))
    path = _write(tmp_path / "events.out.tfevents.2.host", b"".join(_record(r) for r in records))
    run = read_run(path, Options(tag="lr"))
    assert list(zip(run.steps.tolist(), run.lr.tolist(), strict=True)) == expected
    flipped = bytearray(path.read_bytes())
    middle = sum(len(r) + 16 for r in records[:len(records) // 2])
    flipped[middle + 12 + 3] ^= 0x01  # inside a record's data, in a stretch taken whole
    assert "checksum" in _refused(_write(tmp_path / "events.out.tfevents.3.host",
                                         bytes(flipped)))
    assert "truncated" in _refused(_write(tmp_path / "events.out.tfevents.4.host",
                                          bytes(flipped[:-3])))


def _crc32c(data: bytes) -> int:
    """The masked CRC-32C a bit at a time: the definition, to hold the fast one to."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


@pytest.mark.parametrize("length", [1, 8, 27, 64, 1025])
def test_event_file_crcs_column_by_column_match_the_definition(length: int) -> None:
    # many records of one length, some bytes the same in all (one lookup for the column)
    rng = np.random.default_rng(length)
    records = rng.integers(0, 256, (100, length), dtype=np.uint8)
    records[:, ::3] = 7
    columns = np.ascontiguousarray(records.T)
    assert tensorboard._crc_columns(columns).tolist() == [_crc32c(r.tobytes()) for r in records]


def test_event_files_a_corrupt_checksum_itself_is_refused(tmp_path: Path) -> None:
    records = [_long_scalar(tag, step, 0.5) for step in range(3000) for tag in ("lr", "loss")]
    good = b"".join(_record(r) for r in records)
    at = sum(len(r) + 16 for r in records[:2001])  # record 2001, in a stretch taken whole
    for offset, what in ((8, "length checksum"), (12 + len(records[2001]) + 2, "data checksum")):
        flipped = bytearray(good)
        flipped[at + offset] ^= 0x10
        path = _write(tmp_path / "events.out.tfevents.5.host", bytes(flipped))
        assert f"record 2001 (byte {at}) fails its {what}" in _refused(path)
