"""The board file: read under an exclusive lock, written the way a careful editor writes.

- The lock is `flock` on the board file itself, held from a run's read to its write. A run that waited
  checks that the file it locked is still the board (the previous run replaced it) and locks the new one.
- The write goes to a temporary file in the board's own directory (a symlinked board is followed to its
  target), keeps the board's permission bits (and owner, when run as root), is synced, and replaces the board
  in one rename. A run killed before the rename leaves the board as it was; the temporary file it left is
  removed by the next run that holds the lock.
- A board that cannot be written (read-only file or directory, disk full) is a clear error, and the board is
  left untouched.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from steward.core.errors import TrackerError

TEMP_SUFFIX = ".steward-tmp"
_POLL = 0.05  # seconds between tries for a board another run holds


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def read_board(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TrackerError(f"board {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise TrackerError(f"cannot read board {path}: {getattr(error, 'strerror', None) or error}") from None


class BoardLock:
    """An exclusive lock on the board for one run; `acquire` returns the board's text, read under it."""

    def __init__(self, path: Path, wait: float):
        self.path = path
        self.wait = wait
        self.fd: int | None = None

    def acquire(self, read: bool = True) -> str:
        """Lock the board (waiting for another run) and return its text; with `read=False`, "" (read it with
        `open` or `text`)."""
        deadline = time.monotonic() + self.wait
        while True:
            target = _real(self.path)
            try:
                fd = os.open(target, os.O_RDONLY)
            except FileNotFoundError:
                raise TrackerError(f"board {self.path} does not exist") from None
            except OSError as error:
                raise TrackerError(f"cannot read board {self.path}: {error.strerror}") from None
            if not self._lock(fd, deadline):
                continue
            try:
                same = os.fstat(fd).st_ino == os.stat(target).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the run we waited for replaced the board: lock the new file
                os.close(fd)
                continue
            self.fd = fd
            _remove_stale_temporaries(target)
            return self.text() if read else ""

    def open(self) -> IO[bytes]:
        """The locked board from its start (the caller closes it)."""
        assert self.fd is not None
        handle = os.fdopen(os.dup(self.fd), "rb")
        handle.seek(0)
        return handle

    def text(self) -> str:
        with self.open() as handle:
            data = handle.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise TrackerError(f"cannot read board {self.path}: not UTF-8 text ({error.reason} at byte "
                               f"{error.start})") from None

    def _lock(self, fd: int, deadline: float) -> bool:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise TrackerError(f"board {self.path} is in use by another steward run; waited "
                                       f"{self.wait:.0f} s. Run again when it has finished.") from None
                time.sleep(_POLL)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd = None


def _remove_stale_temporaries(target: Path) -> None:
    """Temporary files a killed run left beside the board: only the lock holder can be writing one."""
    for stale in target.parent.glob(f".{target.name}.*{TEMP_SUFFIX}"):
        try:
            stale.unlink()
        except OSError:
            pass  # a directory Steward cannot write: the write itself will say so


def check_writable(path: Path) -> None:
    target = _real(path)
    # No write bit at all means the owner marked it read-only: refuse even where root could write it.
    if not os.access(target, os.W_OK) or not os.stat(target).st_mode & 0o222:
        raise TrackerError(f"board {path} is read-only: nothing was written. Make it writable for this user, "
                           "or run `steward plan` to see what would change.")
    if not os.access(target.parent, os.W_OK):
        raise TrackerError(f"the directory of board {path} is read-only: Steward replaces the board "
                           "atomically and needs to create a file beside it. Nothing was written.")


def _encode(board: dict[str, Any]) -> bytes:
    text = json.dumps(board, indent=2, ensure_ascii=False) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (a board holding "\ud800" escapes) cannot be UTF-8: keep them as JSON escapes,
        # which read back as exactly the same text.
        return (json.dumps(board, indent=2, ensure_ascii=True) + "\n").encode("ascii")


def write_board(path: Path, board: dict[str, Any]) -> None:
    target = _real(path)
    check_writable(path)
    data = _encode(board)
    mode = stat.S_IMODE(os.stat(target).st_mode)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        if os.geteuid() == 0:
            owner = os.stat(target)
            os.chown(temporary, owner.st_uid, owner.st_gid)
        os.replace(temporary, target)
        _sync_directory(target.parent)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        if error.errno == errno.ENOSPC:
            raise TrackerError(f"no space left to write board {path}: nothing was written and the board is "
                               "unchanged") from None
        raise TrackerError(f"cannot write board {path}: {error.strerror or error}; the board is unchanged") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
