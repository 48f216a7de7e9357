"""Reading .tar(.gz) archives so that a damaged one is an error, not a silently shorter data set."""
from __future__ import annotations

import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from resilinet.base.errors import UserError

# What reading a damaged or foreign .tar(.gz) raises (gzip's BadGzipFile is an OSError)
TAR_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


@contextmanager
def reading_tar(archive: Path, kind: str, advice: str = "") -> Iterator[tarfile.TarFile]:
    """`archive` open for the block, its stream then read to the end (tarfile ends its member list silently at
    the first unreadable header, gzip checks its CRC only at the end); any of TAR_ERRORS is a UserError."""
    try:
        with tarfile.open(archive) as tar:
            yield tar
            while tar.fileobj.read(1 << 20):
                pass
    except TAR_ERRORS as error:
        raise UserError(f"{archive} is not a readable {kind} archive ({reason(error)}){advice}") from None


def reason(error: BaseException) -> str:
    """A one-line reason for a TAR_ERRORS error (tarfile lists every method it tried, one a line)."""
    if isinstance(error, tarfile.ReadError) and "\n" in str(error).strip():
        return "not a tar, tar.gz, tar.bz2 or tar.xz file"
    return str(error) or type(error).__name__
