"""Atomic output writing and file hashing.

Outputs are written to a temporary file in the destination folder and moved into place with
``os.replace``, so a reader never sees a half-written file. A folder of outputs that belong together (a
report) is written into a temporary sibling folder and swapped in whole by :func:`atomic_directory`, so a
run killed part-way leaves the previous folder exactly as it was.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

logger = logging.getLogger(__name__)


@contextmanager
def atomic_path(path: str | os.PathLike[str]):
    """Yield a temporary path beside ``path``; on success move it onto ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths with Linux ``renameat2(RENAME_EXCHANGE)``; False if unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _stale(target: Path, tag: str) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.{tag}-*"))


def recover_directory(path: str | os.PathLike[str]) -> None:
    """Tidy what a killed :func:`atomic_directory` run left beside ``path``.

    Unfinished temporary folders are removed. If a run died between the two renames of the fallback swap
    (no ``path`` but a kept previous folder), the previous folder is put back.
    """
    target = Path(path)
    olds = _stale(target, "old")
    if not target.exists() and olds:
        os.replace(olds[-1], target)
        logger.warning("restored %s from an interrupted swap", target)
        olds = olds[:-1]
    for leftover in [*_stale(target, "tmp"), *olds]:
        logger.info("removing leftover %s from an interrupted run", leftover)
        shutil.rmtree(leftover, ignore_errors=True)


@contextmanager
def atomic_directory(path: str | os.PathLike[str]):
    """Yield a new empty folder beside ``path``; on success it replaces ``path`` whole.

    Write every file of the output into the yielded folder. On normal exit the folder is swapped with
    ``path`` in one atomic rename (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two renames, which
    :func:`recover_directory` completes if a run dies between them) and the previous contents are deleted.
    On an exception the new folder is deleted and ``path`` is untouched. If the process is killed, the
    previous ``path`` is untouched and the hidden ``.<name>.tmp-*`` folder is removed by the next run.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_directory(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual permissions
        if not target.exists():
            os.replace(tmp, target)
            return
        if _exchange(tmp, target):
            shutil.rmtree(tmp)  # now holds the previous contents
            return
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old)  # (an empty directory is replaced)
        os.replace(tmp, target)
        shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line endings) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_csv(path: str | os.PathLike[str], frame: pd.DataFrame, **kwargs) -> Path:
    """Write a DataFrame as CSV atomically (no index unless asked, ``\\n`` line endings)."""
    kwargs.setdefault("index", False)
    kwargs.setdefault("lineterminator", "\n")
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)
    return Path(path)


def write_parquet(path: str | os.PathLike[str], frame: pd.DataFrame, **kwargs) -> Path:
    """Write a DataFrame as Parquet atomically (no index unless asked)."""
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, **kwargs)
    return Path(path)


def write_with(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> Path:
    """Atomically write ``path`` with ``writer(tmp_path)`` (e.g. a matplotlib ``savefig``)."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
