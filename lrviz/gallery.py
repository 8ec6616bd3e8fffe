"""A folder of specs rendered as a gallery: one image per spec, an index, a manifest.

The manifest holds a fingerprint of each schedule's values (a hash of the float64 bytes
of every recorded column), so ``--check`` can tell a changed schedule (a config edit, a
torch upgrade) from a stale or missing image, without writing anything.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from lrviz import __version__
from lrviz.compare import SUMMARY_HEADER, Summary, summarize
from lrviz.errors import LrvizError, SpecError
from lrviz.render import escape

if TYPE_CHECKING:
    from lrviz.spec import Spec
    from lrviz.trace import Trace

MANIFEST = "manifest.json"
INDEX = "README.md"


@dataclass
class Entry:
    """One spec of the gallery: its trace and rendered images, or why it failed."""

    source: Path
    name: str
    text: str = ""  # the spec file as read, shown in the index
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


def build(folder: Path, svg: bool = False, allow_import: bool = False,
          allow_paths: tuple[Path, ...] = (), from_: str | None = None,
          before_running: Callable[[], object] | None = None,
          jobs: int | None = 1) -> list[Entry]:
    """Simulate and render every spec of ``folder`` in memory; failures are kept, not raised.

    The folder's files are untrusted: each must be a regular file inside the folder
    (a link out of it is refused), and each spec needs a name of its own, as its
    images are named after it. ``from_`` names the format of every file
    (:mod:`lrviz.readers`); by default each file's content tells it.

    Every spec is read and validated first, without torch: if one is invalid, nothing
    runs (the gallery would not be written anyway), so the refusal is quick.
    ``before_running`` is called once, when the specs are valid and torch is needed in
    this process. ``jobs`` workers (None: one per core, at most one per spec) run
    the specs (:mod:`lrviz.workers`); the entries are the same whatever their number.
    """
    from lrviz import inputs, readers
    from lrviz.api import load_spec
    from lrviz.workers import jobs_for, run

    if from_ is not None:
        readers.find(from_)  # refused once, not once per spec

    entries: list[Entry] = []
    specs: dict[int, Spec] = {}
    named: dict[str, Path] = {}
    roots = [folder, *allow_paths]
    for path in spec_files(folder):
        entry = Entry(path, path.stem)
        try:
            entry.text = inputs.read_text(path, what="spec file", where=str(path),
                                          limit=inputs.MAX_SPEC_BYTES, roots=roots)
            spec = load_spec(path, text=entry.text, from_=from_, allow_import=allow_import,
                             allow_paths=allow_paths)
            entry.name = spec.name
            if spec.name in named:
                raise SpecError(f"{spec.name!r} is also the name of {named[spec.name]}; each "
                                "spec of a gallery needs its own name (its images are named "
                                "after it)", spec.where("name"))
            named[spec.name] = path
            specs[len(entries)] = spec
        except LrvizError as exc:
            entry.error = exc
        entries.append(entry)
    if any(e.error is not None for e in entries):
        return entries
    count = jobs_for(jobs, len(entries))
    # Drawing is nearly all of a gallery's work, simulating a few percent. So this process
    # simulates (importing torch while the forkserver imports matplotlib, on the other
    # core) and hands each trace over as it is made; the workers only draw and never
    # import torch, so the first figure starts as soon as the first trace exists.
    done = run(_render, [(specs[i], svg) for i in range(len(entries))], count,
               prepare=_simulate, preload=_DRAW, starting=before_running)
    for entry, (trace, images, error) in zip(entries, done, strict=True):
        entry.trace, entry.images, entry.error = trace, images, error
    return entries


# What a drawing worker needs, imported once by the forkserver (torch is not among them).
_DRAW = ("matplotlib.figure", "matplotlib.backends.backend_agg",
         "matplotlib.backends.backend_svg", "lrviz.api", "lrviz.gallery",
         "lrviz.render.figure", "lrviz.workers")

Simulated = tuple["Trace | None", bool, "LrvizError | None"]


def _simulate(item: tuple[Spec, bool]) -> Simulated:
    """One spec simulated (in this process), for :func:`_render`."""
    from lrviz.api import simulate

    spec, svg = item
    try:
        return simulate(spec), svg, None
    except LrvizError as exc:  # kept, as the loop always kept it: the gallery reports it
        return None, svg, exc


def _render(item: Simulated) -> tuple[Trace | None, dict[str, bytes], LrvizError | None]:
    """One simulated spec's images rendered into bytes (in a worker, or here)."""
    from lrviz.render.figure import render_bytes

    trace, svg, error = item
    images: dict[str, bytes] = {}
    if trace is None:
        return None, images, error
    name = trace.spec.name
    try:
        images[f"{name}.png"] = render_bytes(trace, ".png")
        if svg:
            images[f"{name}.svg"] = render_bytes(trace, ".svg")
    except LrvizError as exc:
        return trace, images, exc
    return trace, images, None


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
    """The gallery's README: each image with its summary row and its YAML.

    Everything that comes from a spec is escaped for Markdown and HTML, and the YAML
    sits in a code fence longer than any run of backticks inside it.
    """
    lines = ["# lrviz gallery", "",
             "Rendered by `lrviz gallery`; `lrviz gallery --check` tells whether it is current.",
             "Every curve is torch's own values: row k is the lr that training step k uses.",
             ""]
    head = "| " + " | ".join(SUMMARY_HEADER) + " |"
    rule = "|" + "|".join("---" if i < 2 else "---:" for i in range(len(SUMMARY_HEADER))) + "|"
    for e in entries:
        if e.trace is None or e.summary is None:
            continue
        spec = e.trace.spec
        fence = escape.code_fence(e.text)
        image = quote(f"{e.name}.png")
        lines += [f"## {escape.markdown(spec.title or e.name)}", "",
                  f"![{escape.markdown(e.name)}]({image})", "",
                  head, rule, "| " + " | ".join(escape.markdown(c) for c in e.summary.row())
                  + " |", "", f"{fence}yaml", e.text.rstrip(), fence, ""]
    return "\n".join(lines)


def write(entries: list[Entry], folder: Path, outdir: Path) -> list[Path]:
    """Write images, index and manifest into ``outdir`` (all or nothing).

    A file already there is replaced only if this gallery wrote it (the manifest
    there records it, and it is unchanged since): a hand-written README.md or an image
    of the same name from elsewhere is never overwritten.
    """
    from lrviz.render.files import bytes_writer, write_files

    if outdir.exists() and not outdir.is_dir():
        raise SpecError("is a file; expected a folder to write the gallery into", str(outdir))
    files: dict[Path, bytes] = {}
    for e in entries:
        for name, data in e.images.items():
            files[outdir / name] = data
    files[outdir / INDEX] = index(entries).encode()
    listed = {path.name: _digest(data) for path, data in files.items()}
    text = json.dumps({**manifest(entries, folder), "files": listed}, indent=2,
                      sort_keys=True) + "\n"
    files[outdir / MANIFEST] = text.encode()
    _refuse_foreign(outdir, list(files))
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(f"cannot create the folder ({exc.strerror or exc})", str(outdir)) from None
    return write_files([(path, bytes_writer(data)) for path, data in files.items()])


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


def _refuse_foreign(outdir: Path, paths: list[Path]) -> None:
    """Refuse to replace a file in ``outdir`` that an earlier gallery did not write."""
    ours = _written_before(outdir)
    for path in paths:
        if not os.path.lexists(path):
            continue
        if path.is_symlink() or not path.is_file():
            raise SpecError("is in the way and was not written by lrviz gallery (not a "
                            "regular file); move it away or choose another folder", str(path))
        if path.name == MANIFEST and ours:
            continue
        if ours.get(path.name) != _digest(path.read_bytes()):
            raise SpecError("was not written by lrviz gallery (or was edited since); "
                            "move it away or choose another folder", str(path))


def _written_before(outdir: Path) -> dict[str, str]:
    """File name -> digest of what the gallery in ``outdir`` wrote, from its manifest."""
    from lrviz import inputs

    path = outdir / MANIFEST
    if path.is_symlink():
        return {}
    try:  # read by the same rules as any file: regular, size-capped, never a FIFO
        old = json.loads(inputs.read_text(path, what="gallery manifest", where=str(path),
                                          limit=inputs.MAX_SPEC_BYTES))
    except (SpecError, ValueError):
        return {}
    if not isinstance(old, dict) or "lrviz" not in old or not isinstance(old.get("specs"), dict):
        return {}
    files = old.get("files")
    if isinstance(files, dict):
        return {str(k): str(v) for k, v in files.items()}
    # A manifest from before lrviz recorded every file: its images, and an index that
    # reads as one lrviz wrote.
    out = {MANIFEST: ""}
    for item in old["specs"].values():
        if isinstance(item, dict) and isinstance(item.get("images"), dict):
            out.update({str(k): str(v) for k, v in item["images"].items()})
    readme = outdir / INDEX
    text = readme.read_bytes() if readme.is_file() and not readme.is_symlink() else b""
    if text.startswith(b"# lrviz gallery\n"):
        out[INDEX] = _digest(text)
    return out


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
