"""Ultralytics, kept offline and inside the project's own cache folder.

Ultralytics reads its config folder from the environment once, at import, writes a settings
file there, probes the network, fetches ``Arial.ttf`` on every train/val and may pip-install
missing packages. :func:`ultralytics` sets the environment first (offline, no installs,
config and matplotlib caches under :func:`cache_dir`), places a bundled TTF where the font
check looks, turns every sync and logger integration off, and only then imports it.

The cache folder is ``$CLEVRLANG_CACHE`` when set, else ``~/.cache/clevrlang``.

>>> ultralytics().__name__
'ultralytics'
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
from pathlib import Path

from clevrlang.atomic import replacing

log = logging.getLogger(__name__)

_INTEGRATIONS = ("sync", "hub", "clearml", "comet", "dvc", "mlflow", "neptune", "raytune",
                 "tensorboard", "wandb", "vscode_msg", "openvino_msg")


def cache_dir() -> Path:
    """The project's cache folder (``$CLEVRLANG_CACHE`` or ``~/.cache/clevrlang``)."""
    root = os.environ.get("CLEVRLANG_CACHE") or Path.home() / ".cache" / "clevrlang"
    return Path(root).expanduser().resolve()


def _environment(config: Path) -> None:
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    os.environ["YOLO_CONFIG_DIR"] = str(config)
    os.environ.setdefault("MPLCONFIGDIR", str(config / "matplotlib"))
    os.environ.setdefault("MPLBACKEND", "Agg")


def _font(config: Path) -> None:
    """A TTF where ultralytics' font check looks first, so it never downloads Arial."""
    target = config / "Ultralytics" / "Arial.ttf"
    if target.exists():
        return
    import matplotlib

    source = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    with replacing(target) as tmp:
        shutil.copyfile(source, tmp)


def ultralytics():
    """Import ultralytics offline with its state under the project cache; returns the module."""
    if "ultralytics" in sys.modules:
        return sys.modules["ultralytics"]
    config = cache_dir() / "ultralytics"
    config.mkdir(parents=True, exist_ok=True)
    _environment(config)
    _font(config)
    import ultralytics as ul
    from ultralytics.utils import SETTINGS, patches

    # Ultralytics patches PIL.Image.open to import pi-heif (not installed) on any file Pillow
    # cannot identify, which would turn "not an image" into a ModuleNotFoundError everywhere.
    patches._pil_plugins_registered = True

    wanted = {k: False for k in _INTEGRATIONS if k in SETTINGS}
    if any(SETTINGS.get(k) for k in wanted):
        SETTINGS.update(wanted)
    # The settings' default folders point at the current directory; keep them in the cache.
    places = {"datasets_dir": config / "datasets", "runs_dir": config / "runs",
              "weights_dir": config / "weights"}
    if any(SETTINGS.get(k) != str(v) for k, v in places.items()):
        SETTINGS.update({k: str(v) for k, v in places.items()})
    logging.getLogger("ultralytics").setLevel(logging.WARNING)
    _plain_when_piped()
    return ul


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _NoColourFilter(logging.Filter):
    """Strips ANSI colour from ultralytics' log lines (its ``colorstr``) written to a pipe."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _is_tty(sys.stdout) and "\x1b" in (text := record.getMessage()):
            record.msg, record.args = _ANSI.sub("", text), None
        return True


def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _plain_when_piped() -> None:
    """No ANSI escapes from ultralytics in a pipe or a log file.

    Its own bars (``Caching images`` when ``cache="ram"``) ignore its verbosity setting and
    write colour and ``\\r\\033[K`` to stdout even when it is not a terminal. The detector
    trainer draws its own bar from callbacks, so ultralytics' bars are switched off.
    """
    from ultralytics.utils.tqdm import TQDM

    if not getattr(TQDM, "_clevrlang_off", False):
        init = TQDM.__init__

        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True
            init(self, *args, **kwargs)

        TQDM.__init__, TQDM._clevrlang_off = __init__, True
    logger = logging.getLogger("ultralytics")
    if not any(isinstance(f, _NoColourFilter) for f in logger.filters):
        logger.addFilter(_NoColourFilter())


def set_threads(threads: int | None) -> int:
    """Set torch's CPU threads (``None``: the cores not busy now, at least one); returns it.

    Ultralytics resets torch to ``min(8, cores - 1)`` threads whenever it selects the CPU; the
    module global it reads is patched too, so the setting survives that.
    """
    import torch

    if threads is None or threads <= 0:
        threads = idle_cores()
    torch.set_num_threads(int(threads))
    tu = sys.modules.get("ultralytics.utils.torch_utils")
    if tu is not None:
        tu.NUM_THREADS = int(threads)
    return int(threads)


def idle_cores() -> int:
    """Cores minus the current one-minute load (rounded), at least one: all cores when idle."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return cores
    return max(1, min(cores, round(cores - load)))


def resolve_device(device: str = "auto") -> str:
    """:func:`clevrlang.devices.pick_device`'s choice spelled as ultralytics and the
    manifest take it (``cpu``, ``cuda:0``)."""
    from clevrlang.devices import pick_device

    return str(pick_device(device))
