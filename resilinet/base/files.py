"""Files written whole or not at all: a partial file is renamed into place only once complete, and
a full disk is a clear error that leaves the earlier version of the file as it was."""
from __future__ import annotations

import errno
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from resilinet.base.errors import NoRoom, UserError


def full_disk_error(path: Path) -> NoRoom:
    return NoRoom(f"{Path(path).parent} is full (no space left on the device): {Path(path).name} was not written; "
                     "the files complete before are kept: make room, then continue with --resume=latest")


def unwritable_error(path: Path, error: OSError) -> UserError:
    """A file that cannot be written or replaced (permissions, an immutable file, a folder in its place)."""
    path = Path(path)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return full_disk_error(path)
    why = "a folder is in its place" if path.is_dir() else error.strerror or str(error)
    return UserError(f"{path} cannot be written or removed ({why}); the files complete before are kept as they were: "
                     "make it writable, then run again (a run continues with --resume=latest)")


def write_with(path: Path, partial: Path, write: Callable[[Path], None]) -> None:
    """Call `write(partial)`, then rename `partial` to `path`; on any failure remove `partial` (an OSError
    becomes a UserError naming `path`)."""
    path = Path(path)
    try:
        write(partial)
        os.replace(partial, path)
    except OSError as error:
        if not partial.is_dir():
            partial.unlink(missing_ok=True)
        raise unwritable_error(path, error) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_bytes_atomically(path: Path, data: bytes) -> None:
    path = Path(path)
    write_with(path, path.with_name(path.name + ".partial"), lambda partial: partial.write_bytes(data))


def write_text_atomically(path: Path, text: str) -> None:
    write_bytes_atomically(path, text.encode())


def check_room(path: Path, size: int) -> None:
    """Raise the full-disk error unless the folder of `path` has `size` bytes free (and a margin), for
    writers that cannot fail cleanly when the disk fills (h5py)."""
    if shutil.disk_usage(Path(path).parent).free < size * 1.1 + (1 << 20):
        raise full_disk_error(path)


def publish_new(path: Path, data: bytes) -> bool:
    """Write `data` as the new file `path` if no file has that name yet, and return whether this call wrote it.
    Exclusive (of two processes trying the same name, one gets it) and whole: the name appears with all of
    `data` in it, so a reader, or a kill at any moment, never meets the file empty or cut short."""
    path = Path(path)
    partial = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
    try:
        partial.write_bytes(data)
        try:
            os.link(partial, path)  # fails, leaving `path` as it is, where the name is taken
        except FileExistsError:
            return False
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            return _publish_new_without_links(path, data)  # a file system without hard links
        return True
    except OSError as error:
        raise unwritable_error(path, error) from None
    finally:
        partial.unlink(missing_ok=True)


def _publish_new_without_links(path: Path, data: bytes) -> bool:
    """`publish_new` on a file system without hard links: the name is taken empty, then filled atomically (a reader
    may meet it empty for that moment)."""
    try:
        with open(path, "x"):
            pass
    except FileExistsError:
        return False
    except OSError as error:
        raise unwritable_error(path, error) from None
    try:
        write_bytes_atomically(path, data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return True
