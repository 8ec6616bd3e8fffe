"""A folder of specs rendered as a gallery: one image per spec, an index, a manifest.

The manifest holds a fingerprint of each schedule's values (a hash of the float64 bytes
of every recorded column), so ``--check`` can tell a changed schedule (a config edit, a
torch upgrade) from a stale or missing image, without writing anything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from lrviz import __version__
from lrviz.compare import SUMMARY_HEADER, Summary, summarize
from lrviz.errors import LrvizError, SpecError
from lrviz.trace import Trace

MANIFEST = "manifest.json"
INDEX = "README.md"


@dataclass
class Entry:
    """One spec of the gallery: its trace and rendered images, or why it failed."""

    source: Path
    name: str
    trace: Trace | None = None
    error: LrvizError | None = None
    images: dict[str, bytes] = field(default_factory=dict)  # file name -> bytes

    @property
    def summary(self) -> Summary | None:
        return summarize(self.trace) if self.trace is not None else None


def fingerprint(trace: Trace) -> str:
    """A hash of every recorded value: equal exactly when the schedule is equal."""
    digest = hashlib.sha256()
    for name, values in trace.columns():
        digest.update(name.encode())
        digest.update(values.astype("<f8").tobytes())
    return digest.hexdigest()[:20]


def spec_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise SpecError("no such folder of specs", str(folder))
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise SpecError("no *.yaml specs in this folder", str(folder))
    return files


def build(folder: Path, svg: bool = False, allow_import: bool = False) -> list[Entry]:
    """Simulate and render every spec of ``folder`` in memory; failures are kept, not raised."""
    from lrviz.engine import simulate
    from lrviz.render.figure import render_bytes
    from lrviz.spec import load_spec

    entries = []
    for path in spec_files(folder):
        entry = Entry(path, path.stem)
        try:
            spec = load_spec(path, allow_import=allow_import)
            entry.name = spec.name
            entry.trace = simulate(spec)
            entry.images[f"{entry.name}.png"] = render_bytes(entry.trace, ".png")
            if svg:
                entry.images[f"{entry.name}.svg"] = render_bytes(entry.trace, ".svg")
        except LrvizError as exc:
            entry.error = exc
        entries.append(entry)
    return entries


def manifest(entries: list[Entry], folder: Path) -> dict[str, object]:
    torch_version = next((e.trace.torch_version for e in entries if e.trace), "")
    specs = {}
    for e in entries:
        if e.trace is None:
            continue
        specs[e.name] = {
            "source": e.source.as_posix(),
            "steps": e.trace.steps,
            "fingerprint": fingerprint(e.trace),
            "images": {n: hashlib.sha256(b).hexdigest()[:20] for n, b in e.images.items()},
        }
    return {"lrviz": __version__, "torch": torch_version, "specs": specs}


def index(entries: list[Entry]) -> str:
    """The gallery's README: each image with its summary row and its YAML."""
    lines = ["# lrviz gallery", "",
             "Rendered by `lrviz gallery`; `lrviz gallery --check` tells whether it is current.",
             "Every curve is torch's own values, stepped as SPEC section 4 describes.", ""]
    head = "| " + " | ".join(SUMMARY_HEADER) + " |"
    rule = "|" + "|".join("---" if i < 2 else "---:" for i in range(len(SUMMARY_HEADER))) + "|"
    for e in entries:
        if e.trace is None or e.summary is None:
            continue
        spec = e.trace.spec
        lines += [f"## {spec.title or e.name}", "", f"![{e.name}]({e.name}.png)", "",
                  head, rule, "| " + " | ".join(e.summary.row()) + " |", "",
                  "```yaml", e.source.read_text(encoding="utf-8").rstrip(), "```", ""]
    return "\n".join(lines)


def write(entries: list[Entry], folder: Path, outdir: Path) -> list[Path]:
    """Write images, index and manifest into ``outdir`` (all or nothing)."""
    from lrviz.render import write_atomically

    if outdir.exists() and not outdir.is_dir():
        raise SpecError("is a file; expected a folder to write the gallery into", str(outdir))
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(f"cannot create the folder ({exc.strerror or exc})", str(outdir)) from None
    files: dict[Path, bytes] = {}
    for e in entries:
        for name, data in e.images.items():
            files[outdir / name] = data
    files[outdir / INDEX] = index(entries).encode()
    text = json.dumps(manifest(entries, folder), indent=2, sort_keys=True) + "\n"
    files[outdir / MANIFEST] = text.encode()

    def put(temp: Path, final: Path) -> None:
        temp.write_bytes(files[final])

    return write_atomically(list(files), put)


def problems(entries: list[Entry], outdir: Path) -> list[str]:
    """Why the gallery in ``outdir`` is not what ``entries`` would write; empty if current."""
    path = outdir / MANIFEST
    if not path.is_file():
        return [f"{path}: missing; run `lrviz gallery` to create the gallery"]
    try:
        old = json.loads(path.read_text(encoding="utf-8")).get("specs", {})
    except (ValueError, AttributeError):
        return [f"{path}: not a gallery manifest"]
    new_manifest = manifest(entries, outdir)
    new = new_manifest["specs"]
    assert isinstance(new, dict)
    out = []
    readme = outdir / INDEX
    if not readme.is_file() or readme.read_text(encoding="utf-8") != index(entries):
        out.append(f"{readme}: the index is missing or stale")
    for name in sorted(set(old) | set(new)):
        if name not in new:
            out.append(f"{name}: in the gallery, but no longer among the specs")
        elif name not in old:
            out.append(f"{name}: new spec, not in the gallery yet")
        elif old[name].get("fingerprint") != new[name]["fingerprint"]:
            out.append(f"{name}: its values changed ({new[name]['source']})")
        else:
            for image, digest in new[name]["images"].items():
                file = outdir / image
                if not file.is_file():
                    out.append(f"{name}: image {image} is missing")
                elif hashlib.sha256(file.read_bytes()).hexdigest()[:20] != digest:
                    out.append(f"{name}: image {image} is stale")
    return out
