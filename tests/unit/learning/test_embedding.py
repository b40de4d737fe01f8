"""Static token vectors: our WordPiece against BERT's, the checked loader, text vectors."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from onexgen.learning.patterns.embedding import (
    FORMAT,
    MANIFEST_PATH,
    StaticEmbeddings,
    load_embeddings,
    shipped_embeddings,
)
from onexgen.learning.patterns.errors import EmbeddingError
from onexgen.learning.patterns.features import POOLINGS, text_vectors
from onexgen.learning.patterns.text import request_text
from onexgen.learning.patterns.wordpiece import WordPiece, basic_words
from tests.unit.learning.conftest import make_request

# What the reference tokenizer (transformers' BertTokenizer for all-MiniLM-L6-v2, whose
# vocabulary ships here) gives for these texts.
KNOWN = [
    ("unaffable", ["una", "##ffa", "##ble"]),
    ("Memoises recently fetched results", ["memo", "##ises", "recently", "fetch", "##ed",
                                           "results"]),
    ("idempotently re-tries tranche-by-tranche",
     ["id", "##em", "##pot", "##ently", "re", "-", "tries", "tran", "##che", "-", "by", "-",
      "tran", "##che"]),
    ("naïve café", ["naive", "cafe"]),
    ("ReconcileLedgerBatcher", ["reconcile", "##led", "##ger", "##bat", "##cher"]),
    ("retrying", ["re", "##try", "##ing"]),
    ("x" * 101, ["[UNK]"]),
]


@pytest.mark.parametrize(("text", "tokens"), KNOWN)
def test_wordpiece_known_texts_tokenised_as_bert_does(text: str, tokens: list[str]) -> None:
    tokenizer = shipped_embeddings().tokenizer
    assert tokenizer.tokens(text) == tokens
    assert tokenizer.tokens(text) == tokens  # again, from the word cache


def test_wordpiece_uncoverable_word_is_one_unknown() -> None:
    tokenizer = WordPiece(["[UNK]", "ab", "##c"])
    assert tokenizer.tokens("abc abd") == ["ab", "##c", "[UNK]"]


def test_basic_words_splits_punctuation_and_drops_control_characters() -> None:
    assert basic_words("Caches\x00 (hot) keys!") == ["caches", "(", "hot", ")", "keys", "!"]


def _write(directory: Path, arrays: dict[str, np.ndarray], vocabulary: list[str],
           dims: int, *, digest: str | None = None,
           allow_pickle: bool = False) -> tuple[Path, Path]:
    buffer = io.BytesIO()
    if allow_pickle:
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
    else:
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    vectors, manifest = directory / "embeddings.npz", directory / "embeddings.json"
    vectors.write_bytes(buffer.getvalue())
    manifest.write_text(json.dumps({
        "format": FORMAT, "dims": dims, "vocabulary": vocabulary,
        "sha256": digest or hashlib.sha256(buffer.getvalue()).hexdigest()}))
    return vectors, manifest


VOCAB = ["[UNK]", "cache", "##s", "memory"]
ROWS = np.array([[0, 0], [127, -64], [10, 20], [-127, 1]], dtype=np.int8)
SCALES = np.array([1.0, 0.5, 0.25, 2.0], dtype=np.float32)


def test_load_embeddings_valid_files_give_rows_times_scales(tmp_path: Path) -> None:
    loaded = load_embeddings(*_write(tmp_path, {"vectors": ROWS, "scales": SCALES}, VOCAB, 2))
    assert loaded.dims == 2
    assert np.array_equal(loaded.vectors, ROWS.astype(np.float32) * SCALES[:, None])
    assert np.allclose(loaded.sums([["caches", "memory"]])[0],
                       loaded.vectors[1] + loaded.vectors[2] + loaded.vectors[3])


def test_load_embeddings_digest_differs_refused(tmp_path: Path) -> None:
    paths = _write(tmp_path, {"vectors": ROWS, "scales": SCALES}, VOCAB, 2, digest="0" * 64)
    with pytest.raises(EmbeddingError, match=r"SHA-256.*make embeddings"):
        load_embeddings(*paths)


class _Payload:
    """Unpickling this calls ``Path.touch(marker)``: proof that code would have run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.marker),))


def test_load_embeddings_pickled_array_refused_unrun(tmp_path: Path) -> None:
    """The digest matches (whoever wrote the file wrote its manifest too): still refused."""
    marker = tmp_path / "pickle-ran"
    payload = np.array([_Payload(marker)], dtype=object)
    paths = _write(tmp_path, {"vectors": payload, "scales": SCALES}, VOCAB, 2,
                   allow_pickle=True)
    with pytest.raises(EmbeddingError, match="refused"):
        load_embeddings(*paths)
    assert not marker.exists()


@pytest.mark.parametrize("arrays", [
    {"vectors": ROWS[:3], "scales": SCALES},  # a row short of the vocabulary
    {"vectors": ROWS.astype(np.float16), "scales": SCALES},  # not int8
    {"vectors": ROWS, "scales": SCALES, "extra": SCALES},  # an array too many
    {"vectors": ROWS},  # no scales
])
def test_load_embeddings_wrong_arrays_refused(tmp_path: Path,
                                              arrays: dict[str, np.ndarray]) -> None:
    with pytest.raises(EmbeddingError, match="expected int8 vectors"):
        load_embeddings(*_write(tmp_path, arrays, VOCAB, 2))


def test_load_embeddings_missing_file_refused(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="unreadable"):
        load_embeddings(tmp_path / "none.npz", MANIFEST_PATH)


def test_shipped_embeddings_match_their_manifest() -> None:
    manifest = json.loads(MANIFEST_PATH.read_text())
    shipped = shipped_embeddings()
    assert shipped.vectors.shape == (len(manifest["vocabulary"]), manifest["dims"])
    assert "sentence-transformers/all-MiniLM-L6-v2" in manifest["source"]


def _mean_vector(description: str, embeddings: StaticEmbeddings) -> np.ndarray:
    vectors = text_vectors([request_text(make_request(description))], embeddings)
    assert vectors.shape == (1, POOLINGS * embeddings.dims)
    return vectors[0, :embeddings.dims]


def test_text_vectors_paraphrase_nearer_than_another_pattern() -> None:
    """What the n-grams cannot know: "keeps recently fetched results in memory" is caching."""
    shipped = shipped_embeddings()
    paraphrase = _mean_vector("Keeps recently fetched results in memory.", shipped)
    caching = _mean_vector("Caches the responses.", shipped)
    notifying = _mean_vector("Sends an email to the customer.", shipped)
    assert paraphrase @ caching > paraphrase @ notifying + 0.1


def test_text_vectors_negated_clause_left_out() -> None:
    """A clause whose words are all negated adds nothing, not even a zero to max/min."""
    shipped = shipped_embeddings()
    plain, negated = text_vectors([request_text(make_request(d)) for d in (
        "Totals the invoices.", "Totals the invoices. Never caches anything.")], shipped)
    with_cue = text_vectors([request_text(make_request("Totals the invoices. Cache it."))],
                            shipped)[0]
    assert np.allclose(plain, negated)
    assert not np.allclose(plain, with_cue)


@pytest.fixture
def damaged_shipped_vectors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The shipped vectors with one byte flipped, in place of the wheel's, for this test."""
    from onexgen.learning.patterns import embedding

    damaged = tmp_path / "embeddings.npz"
    data = bytearray(embedding.VECTORS_PATH.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    monkeypatch.setattr(embedding, "VECTORS_PATH", damaged)
    shipped_embeddings.cache_clear()
    yield damaged
    shipped_embeddings.cache_clear()  # the next caller loads the wheel's again


def test_worker_command_with_damaged_vectors_fails_at_start_in_one_line(
        damaged_shipped_vectors: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Before topics, migrations and Faust: one line naming the fix, exit code 1."""
    import onexgen.worker
    from onexgen.cli.main import main

    started: list[object] = []
    monkeypatch.setattr(onexgen.worker, "run_worker", started.append)
    assert main(["worker"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("onexgen: EmbeddingError: "), lines
    assert str(damaged_shipped_vectors) in lines[0] and "make embeddings" in lines[0]
    assert "reinstall onexgen" in lines[0]
    assert started == []


def test_worker_command_with_shipped_vectors_runs_the_worker(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import onexgen.worker
    from onexgen.cli.main import main

    started: list[object] = []
    monkeypatch.setattr(onexgen.worker, "run_worker", started.append)
    shipped_embeddings.cache_clear()
    assert main(["worker"]) == 0
    assert len(started) == 1
    # Checked by digest only: the worker process does not hold the 28 MB of vectors.
    assert shipped_embeddings.cache_info().currsize == 0
