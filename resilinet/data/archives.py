"""Reading .tar(.gz) archives so that a damaged one is an error, not a silently shorter data set."""
from __future__ import annotations

import tarfile
import zlib

# What reading a damaged or foreign .tar(.gz) raises (gzip's BadGzipFile is an OSError)
TAR_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


def read_to_end(tar: tarfile.TarFile) -> None:
    """Read the rest of the archive's stream after its members were read.

    tarfile ends its member list silently at the first unreadable header, and gzip checks its CRC
    only at the end of the stream: reading to the end makes a damaged archive raise.
    """
    while tar.fileobj.read(1 << 20):
        pass


def reason(error: BaseException) -> str:
    """A one-line reason for a TAR_ERRORS error (tarfile lists every method it tried, one a line)."""
    if isinstance(error, tarfile.ReadError) and "\n" in str(error).strip():
        return "not a tar, tar.gz, tar.bz2 or tar.xz file"
    return str(error) or type(error).__name__
