"""The engineered back end's artefact folder: what is in it, and loading it safely.

::

    manifest.json          format, version, settings, metrics, and the SHA-256 of each file
    detector.safetensors   YOLO weights (rebuilt from the yaml in their metadata)
    color.skops  material.skops  size.skops  shape.skops  position.skops

Nothing is unpickled. The scikit-learn models are skops files, loaded with an explicit list
of trusted types and then checked to be exactly the pipeline kinds training writes; the
detector is safetensors. Every file's checksum must match the manifest, so a truncated,
corrupted or swapped file is refused with a :class:`~clevrlang.language.errors.CheckpointError`
naming it. ``manifest.json`` is written last: a folder without one is an unfinished run.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

from clevrlang.atomic import replacing, write_text
from clevrlang.language.errors import CheckpointError, Source, Span
from clevrlang.language.vocabulary import ATTRIBUTES

FORMAT = "clevrlang-engineered"
VERSION = 1
MANIFEST = "manifest.json"
DETECTOR = "detector.safetensors"
MODELS = (*ATTRIBUTES, "position")  # <name>.skops: each attribute's classifier, positions

#: Every type a skops file of ours may hold; anything else is refused before loading.
TRUSTED_TYPES = (
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._polynomial.PolynomialFeatures",
    "sklearn.svm._classes.SVC",
    "sklearn.linear_model._ridge.RidgeCV",
    "sklearn.linear_model._ridge.Ridge",
    "sklearn.dummy.DummyClassifier",
    "numpy.ndarray", "numpy.dtype", "numpy.float64", "numpy.int64", "numpy.str_",
    "builtins.slice",
)
#: The step kinds each model's pipeline must consist of (by class name).
_SHAPES_OF = {
    "classifier": (("StandardScaler", "SVC"), ("DummyClassifier",)),
    "position": (("StandardScaler", "PolynomialFeatures", "RidgeCV"),),
}


def default_dir() -> Path:
    """The artefacts installed with the package (``modules/engineered/defaults``)."""
    return Path(str(resources.files("clevrlang.modules.engineered").joinpath("defaults")))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json_atomic(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


def save_model(path: Path, model) -> None:
    """A scikit-learn model as a skops file, atomically."""
    import skops.io as sio

    with replacing(path) as tmp:
        sio.dump(model, tmp)


def _steps(model) -> tuple[str, ...]:
    steps = getattr(model, "steps", None)
    return tuple(type(s).__name__ for _, s in steps) if steps else (type(model).__name__,)


def load_model(path: Path, kind: str):
    """A skops model, refusing unknown types and unexpected pipeline shapes."""
    import zipfile

    import skops.io as sio

    path = Path(path)
    try:
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
        if untrusted:
            raise CheckpointError(f"holds types that are not trusted: {', '.join(untrusted)}",
                                  where=str(path))
        model = sio.load(path, trusted=list(TRUSTED_TYPES))
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, TypeError, AttributeError,
            json.JSONDecodeError) as e:
        raise CheckpointError(f"not a readable skops model: {e}", where=str(path)) from None
    if _steps(model) not in _SHAPES_OF[kind]:
        raise CheckpointError(f"expected a {kind} pipeline, found {' -> '.join(_steps(model))}",
                              where=str(path))
    return model


def write_manifest(folder: Path, files: list[str], config: dict, metrics: dict) -> None:
    folder = Path(folder)
    manifest = {"format": FORMAT, "version": VERSION, "config": config, "metrics": metrics,
                "files": {name: sha256(folder / name) for name in files}}
    write_json_atomic(folder / MANIFEST, manifest)


def read_manifest(folder: Path) -> dict:
    """The checked manifest of an artefact folder (every listed file present and intact)."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise CheckpointError("no such artefact folder", where=str(folder),
                              hint="train one with `clevr train engineered --world DIR`")
    if not path.is_file():
        raise CheckpointError("not an engineered-model folder (no manifest.json; an "
                              "unfinished training run?)", where=str(folder),
                              hint="run `clevr train engineered` again to finish it")
    try:
        text = path.read_text()
        manifest = json.loads(text)
    except json.JSONDecodeError as e:  # located, with a window of the (maybe one-line) file
        raise CheckpointError(f"unreadable manifest: {e}",
                              Span(Source(text, str(path)), e.pos, e.pos + 1)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise CheckpointError(f"unreadable manifest: {e}", where=str(path)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"not a {FORMAT} manifest", where=str(path))
    if manifest.get("version") != VERSION:
        raise CheckpointError(f"artefact version {manifest.get('version')!r}; this clevrlang "
                              f"reads version {VERSION}", where=str(path))
    for name, digest in (manifest.get("files") or {}).items():
        f = folder / name
        if Path(name).name != name:
            raise CheckpointError(f"lists a file outside the folder: {name!r}", where=str(path))
        if not f.is_file():
            raise CheckpointError("missing file listed in manifest.json", where=str(f))
        if sha256(f) != digest:
            raise CheckpointError("file is corrupt or was replaced (its checksum does not "
                                  "match manifest.json)", where=str(f))
    return manifest
