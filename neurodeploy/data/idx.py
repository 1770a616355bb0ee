"""IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed.

Header: 2 zero bytes, a type byte (0x08 = uint8), the number of dimensions n, then n big-endian
uint32 sizes; the payload is exactly prod(sizes) bytes. Anything else is rejected with a
:class:`BadInputError` naming the file and the problem, never a silently shorter array.
"""
from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from neurodeploy.errors import BadInputError

UINT8 = 0x08


def _raw_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BadInputError(f"{path}: cannot read ({e.strerror})") from None
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as e:
            raise BadInputError(f"{path}: truncated or corrupt gzip stream ({e})") from None
    return data


def parse_idx(data: bytes, name: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """Parse IDX bytes into a uint8 array; ``ndim`` (1 labels, 3 images) is checked if given."""
    if len(data) < 4:
        raise BadInputError(f"{name}: too short for an IDX header ({len(data)} bytes)")
    zero, dtype, n = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != UINT8 or n == 0:
        raise BadInputError(f"{name}: bad IDX magic number 0x{data[:4].hex()} (expected 0x000008{ndim or 1:02x})")
    if ndim is not None and n != ndim:
        raise BadInputError(f"{name}: IDX file has {n} dimensions, expected {ndim}")
    if len(data) < 4 + 4 * n:
        raise BadInputError(f"{name}: truncated IDX header")
    dims = struct.unpack(f">{n}I", data[4 : 4 + 4 * n])
    expected = int(np.prod(dims))
    payload = len(data) - 4 - 4 * n
    if payload != expected:
        what = "truncated" if payload < expected else "has trailing bytes"
        raise BadInputError(f"{name}: {what}: header says {dims} = {expected} bytes, file holds {payload}")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * n).reshape(dims).copy()


def read_idx(path, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a uint8 array."""
    path = Path(path)
    return parse_idx(_raw_bytes(path), str(path), ndim)


def write_idx(array: np.ndarray, path, compress: bool = True) -> Path:
    """Write a uint8 array as IDX (gzip if ``compress``). Used for the shipped sample and tests."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    data = struct.pack(">HBB", 0, UINT8, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path
