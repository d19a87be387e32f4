"""Writing a .docx zip fast: the untouched members copied as they are, the rendered parts
deflated (:class:`ZipWriter`).

The local headers and already-compressed bytes of the members a letter does not change are
one precomputed blob; per letter only the rendered parts are compressed, then the central
directory is written. Dates and flags are the template's, so the output is deterministic.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

COMPRESS_LEVEL = 6

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")


@dataclass
class _Member:
    name: bytes
    method: int
    dostime: int
    dosdate: int
    crc: int
    csize: int
    usize: int
    offset: int
    flags: int


def _local_header(m: _Member) -> bytes:
    return _LOCAL.pack(b"PK\x03\x04", 20, m.flags, m.method, m.dostime, m.dosdate,
                       m.crc, m.csize, m.usize, len(m.name), 0) + m.name


def _central(m: _Member) -> bytes:
    return _CENTRAL.pack(b"PK\x01\x02", 20, 20, m.flags, m.method, m.dostime, m.dosdate,
                         m.crc, m.csize, m.usize, len(m.name), 0, 0, 0, 0, 0, m.offset) + m.name


def deflate(data: bytes, level: int = COMPRESS_LEVEL) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


class ZipWriter:
    """Writes a zip from precomputed untouched members plus freshly rendered parts."""

    def __init__(self, raw: bytes, zf: zipfile.ZipFile, changed: list[str],
                 added: Sequence[str] = (), stored: Sequence[str] = ()) -> None:
        blob: list[bytes] = []
        members: list[_Member] = []
        offset = 0
        for info in zf.infolist():
            if info.filename in changed:
                continue
            start = info.header_offset
            nlen, elen = struct.unpack("<2H", raw[start + 26 : start + 30])
            data_at = start + 30 + nlen + elen
            data = raw[data_at : data_at + info.compress_size]
            m = self._member(info, offset)
            m.crc, m.csize, m.usize = info.CRC, info.compress_size, info.file_size
            m.method = info.compress_type
            head = _local_header(m)
            blob += [head, data]
            members.append(m)
            offset += len(head) + len(data)
        self.static = b"".join(blob)
        self.static_central = b"".join(_central(m) for m in members)
        self.count = len(members)
        self.changed = [self._member(zf.getinfo(n), 0) for n in changed]
        stamp = zf.infolist()[0].date_time if zf.infolist() else (1980, 1, 1, 0, 0, 0)
        self.changed += [self._member(zipfile.ZipInfo(n, stamp), 0) for n in added]
        for m in self.changed:  # small parts (custom properties): stored, not deflated
            if m.name.decode("utf-8") in stored:
                m.method = zipfile.ZIP_STORED

    @staticmethod
    def _member(info: zipfile.ZipInfo, offset: int) -> _Member:
        y, mo, d, h, mi, s = info.date_time
        name = info.filename.encode("utf-8")
        flags = 0x800 if not info.filename.isascii() else 0
        return _Member(name, zipfile.ZIP_DEFLATED, (h << 11) | (mi << 5) | (s // 2),
                       ((y - 1980) << 9) | (mo << 5) | d, 0, 0, 0, offset, flags)

    def write(self, contents: list[bytes], level: int = COMPRESS_LEVEL) -> bytes:
        out = [self.static]
        central = [self.static_central]
        offset = len(self.static)
        for m0, data in zip(self.changed, contents, strict=True):
            comp = data if m0.method == zipfile.ZIP_STORED else deflate(data, level)
            m = _Member(m0.name, m0.method, m0.dostime, m0.dosdate,
                        zlib.crc32(data), len(comp), len(data), offset, m0.flags)
            head = _local_header(m)
            out += [head, comp]
            central.append(_central(m))
            offset += len(head) + len(comp)
        cd = b"".join(central)
        n = self.count + len(contents)
        out += [cd, _END.pack(b"PK\x05\x06", 0, 0, n, n, len(cd), offset, 0)]
        return b"".join(out)
