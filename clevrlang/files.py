"""Reading a user's text files with clear errors (no such file, a folder, not UTF-8)."""

from __future__ import annotations

import os

from clevrlang.language.errors import DataError, MissingFileError


def read_text(path: str | os.PathLike, expected: str = "a text file") -> str:
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise MissingFileError("no such file", where=path) from None
    except IsADirectoryError:
        raise DataError(f"is a directory, expected {expected}", where=path) from None
    except UnicodeDecodeError:
        raise DataError(f"is not UTF-8 text, expected {expected}", where=path) from None
    except OSError as e:
        raise DataError(f"cannot read: {e.strerror}", where=path) from None
