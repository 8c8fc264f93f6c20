"""Ultralytics as the engineered back end loads it: nothing but plain text in a pipe."""

import io
import logging


def test_ultralytics_writes_no_ansi_escapes_when_piped(capsys):  # capsys: stdout is a pipe
    from clevrlang.modules.engineered.offline import ultralytics

    ultralytics()
    from ultralytics.utils import LOGGER, colorstr
    from ultralytics.utils.tqdm import TQDM

    out = io.StringIO()  # not a terminal, like `clevr train engineered ... | cat`
    # Its dataset cache bar passes disable=False explicitly, whatever the verbosity.
    for _ in TQDM(range(3), desc=colorstr("train: ") + "Caching images", disable=False, file=out):
        pass
    handler = logging.StreamHandler(out)
    LOGGER.addHandler(handler)
    try:
        LOGGER.warning(colorstr("red", "bold", "a coloured %s"), "warning")
    finally:
        LOGGER.removeHandler(handler)
    assert "a coloured warning" in out.getvalue() and "\x1b" not in out.getvalue()
