"""Static token vectors distilled from MiniLM: a sentence's meaning without torch.

Why: the detector's n-grams only know the words its training requests used, so a
pattern described in other words ("keeps recently fetched results in memory") is
missed. MiniLM knows which words are near which, but running it needs torch. The
build step ``data/patterns/embeddings/distill.py`` ran every WordPiece token through
it once and kept one small vector per token (model2vec's recipe); here a text's
vector is the sum of its tokens' vectors, L2 normalised: a few dict lookups and one
sparse product per batch.

Loading is checked (``EmbeddingError`` naming the fix): the manifest's format, the
SHA-256 of the vectors' file recorded by the build, a NumPy file read with
``allow_pickle=False`` holding exactly an int8 (vocabulary, dims) array and its
float32 per-token scales.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onexgen.learning.patterns.errors import EmbeddingError
from onexgen.learning.patterns.wordpiece import WordPiece

FORMAT = "onexgen-embeddings/1"
_DATA = resources.files("onexgen.learning.patterns") / "data"
VECTORS_PATH = Path(str(_DATA / "embeddings.npz"))
MANIFEST_PATH = Path(str(_DATA / "embeddings.json"))
_REBUILD = "rebuild them with `make embeddings` (or reinstall onexgen)"


@dataclass(frozen=True, slots=True)
class StaticEmbeddings:
    vectors: npt.NDArray[np.float32]
    """One row per vocabulary token (float32: the shipped int8 rows times their scales)."""
    tokenizer: WordPiece

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    def sums(self, words_per_text: list[list[str]]) -> npt.NDArray[np.float64]:
        """Per text, the sum of its words' token vectors (zeros when it has none)."""
        ids: list[int] = []
        lengths: list[int] = []
        for words in words_per_text:
            before = len(ids)
            for word in words:
                ids += self.tokenizer.word_ids(word)
            lengths.append(len(ids) - before)
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        counts = sp.csr_matrix((np.ones(len(ids), dtype=np.float32), np.asarray(ids, np.int64),
                                indptr), shape=(len(lengths), len(self.vectors)))
        return np.asarray(counts @ self.vectors, dtype=np.float64)


def unit_rows(matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each row scaled to length 1 (a zero row stays zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    out: npt.NDArray[np.float64] = np.divide(matrix, norms, out=np.zeros_like(matrix),
                                             where=norms > 0)
    return out


def verify_embeddings(vectors_path: Path | None = None,
                      manifest_path: Path | None = None) -> dict[str, Any]:
    """The manifest, once the vectors' file (the wheel's by default) matches the digest
    it records: the check ``onexgen worker`` makes at start without building the 28 MB
    of vectors in a process that may never detect (the pool processes do)."""
    vectors_path = vectors_path or VECTORS_PATH
    manifest_path = manifest_path or MANIFEST_PATH
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        data = vectors_path.read_bytes()
    except (OSError, ValueError) as exc:
        raise EmbeddingError(f"token vectors unreadable ({exc}); {_REBUILD}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise EmbeddingError(f"{manifest_path} is not an {FORMAT} manifest; {_REBUILD}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != manifest.get("sha256"):
        raise EmbeddingError(f"{vectors_path} has SHA-256 {digest}, its manifest records "
                             f"{manifest.get('sha256')}; {_REBUILD}")
    return manifest


def load_embeddings(vectors_path: Path = VECTORS_PATH,
                    manifest_path: Path = MANIFEST_PATH) -> StaticEmbeddings:
    """The vectors and vocabulary, checked (module docstring)."""
    manifest = verify_embeddings(vectors_path, manifest_path)
    vocabulary = manifest.get("vocabulary")
    try:
        with np.load(vectors_path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        tokenizer = WordPiece(vocabulary if isinstance(vocabulary, list) else [])
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise EmbeddingError(f"token vectors refused ({exc}); {_REBUILD}") from exc
    size = len(tokenizer.vocabulary)
    rows, scales = arrays.get("vectors"), arrays.get("scales")
    if (sorted(arrays) != ["scales", "vectors"] or rows is None or scales is None
            or rows.dtype != np.int8 or rows.shape != (size, manifest.get("dims"))
            or scales.dtype != np.float32 or scales.shape != (size,)):
        found = {name: f"{a.dtype} {a.shape}" for name, a in arrays.items()}
        raise EmbeddingError(f"token vectors hold {found}, expected int8 vectors "
                             f"({size}, {manifest.get('dims')}) and float32 scales ({size},); "
                             f"{_REBUILD}")
    vectors = rows.astype(np.float32)
    vectors *= scales[:, None]  # in place: a second 28 MB array would raise the peak RSS
    return StaticEmbeddings(vectors, tokenizer)


@lru_cache(maxsize=1)
def shipped_embeddings() -> StaticEmbeddings:
    """The wheel's vectors, loaded once per process. ``onexgen worker`` checks them before
    anything else (``verify_embeddings``, from ``cli.worker``): damaged vectors stop the
    start in one line naming the fix, instead of failing each pool process's first
    detection."""
    return load_embeddings(VECTORS_PATH, MANIFEST_PATH)
