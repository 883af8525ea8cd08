"""Hybrid retrieval: character BM25 and dense vectors (Chroma), fused, then grouped per item.

Fusion: a convex combination of the two scores (each min-max scaled over its candidates) plus a
small reciprocal-rank term. On shared/eval/retrieval_eval.json plain RRF(k=60) gave R@1 .865 /
R@5 .981; this gives .889 / .981 (`govbot eval`), because RRF throws away how far apart the
scores are, which matters when one retriever is confident and the other is not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from langchain_core.embeddings import Embeddings

from ingest.index import ChromaLocation, Generation
from ingest.textnorm import char_tokens, normalize

log = logging.getLogger(__name__)

RRF_K = 60
LEXICAL_SHARE = 0.4  # weight of the scaled BM25 score; the dense score gets the rest
RRF_SHARE = 0.1
CANDIDATES = 40  # chunks taken from each retriever before fusion
# The dense leg embeds at most this much of a question (passages are embedded from their first 96
# characters): a 500-character question cost 0.5-2 s behind the embedder's one lock (reliability
# F8). BM25 still reads all of it.
DENSE_QUERY_CHARS = 128


@dataclass
class ItemHit:
    record_id: str
    score: float  # fused (RRF) score, comparable only within one query
    bm25: float = 0.0  # best raw BM25 score of the item's chunks
    dense: float = 0.0  # best cosine similarity of the item's chunks
    sections: dict[str, float] = field(default_factory=dict)  # section key -> best fused chunk score


class Retriever:
    """Built once per index generation; ``search`` is the hot path."""

    def __init__(self, generation: Generation, embeddings: Embeddings | None, location: ChromaLocation,
                 bm25_weight: float = 1.0, dense_weight: float = 1.0) -> None:
        self.generation = generation
        self.embeddings = embeddings
        self.location = location
        self.chunks = generation.chunks
        self.position = {c.id: i for i, c in enumerate(self.chunks)}
        self.bm25_weight = bm25_weight
        self.dense_weight = dense_weight
        self._vocab = generation.bm25.vocab_dict if generation.bm25 is not None else {}

    def _bm25(self, query: str) -> list[tuple[int, float]]:
        bm25 = self.generation.bm25
        tokens = [t for t in char_tokens(query) if t in self._vocab]
        if bm25 is None or not tokens:
            return []
        k = min(CANDIDATES, len(self.chunks))
        # n_threads=0 scores in this thread; 1 would start a thread pool for every question (bench/README.md).
        docs, scores = bm25.retrieve([tokens], k=k, show_progress=False, n_threads=0)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def _dense(self, query: str) -> list[tuple[int, float]]:
        if not self.chunks or self.embeddings is None or self.dense_weight == 0:
            return []
        vector = np.asarray(self.embeddings.embed_query(normalize(query)[:DENSE_QUERY_CHARS]), dtype=np.float32)
        try:
            result = self.generation.collection(self.location).query(
                query_embeddings=[vector], n_results=min(CANDIDATES, len(self.chunks)), include=["distances"]
            )
        except Exception as exc:  # noqa: BLE001 - e.g. a generation swept while a request used it
            # This question is answered from BM25 alone rather than with a 500 (seen in bench/attacks.py
            # during rapid re-ingests: chromadb InternalError "Error purging logs").
            log.warning("dense retrieval failed on generation %s (%s: %s); lexical only for this question",
                        self.generation.name, type(exc).__name__, exc)
            return []
        return [(self.position[i], 1.0 - float(d))
                for i, d in zip(result["ids"][0], result["distances"][0], strict=True) if i in self.position]

    def search(self, query: str, limit: int = 10) -> list[ItemHit]:
        bm25_hits = self._bm25(query)
        dense_hits = self._dense(query)
        lexical = _scaled(bm25_hits, floor_zero=True)
        dense = _scaled(dense_hits, floor_zero=False)
        fused: dict[int, float] = {}
        for index in lexical.keys() | dense.keys():
            fused[index] = (LEXICAL_SHARE * self.bm25_weight * lexical.get(index, 0.0)
                            + (1 - LEXICAL_SHARE) * self.dense_weight * dense.get(index, 0.0))
        for hits in (bm25_hits, dense_hits):
            for rank, (index, _) in enumerate(hits):
                fused[index] += RRF_SHARE * RRF_K / (RRF_K + rank + 1)
        bm25_score = dict(bm25_hits)
        dense_score = dict(dense_hits)

        items: dict[str, ItemHit] = {}
        for index, score in fused.items():
            meta = self.chunks[index].metadata
            hit = items.setdefault(meta["record_id"], ItemHit(meta["record_id"], 0.0))
            hit.score = max(hit.score, score)
            hit.bm25 = max(hit.bm25, bm25_score.get(index, 0.0))
            hit.dense = max(hit.dense, dense_score.get(index, 0.0))
            hit.sections[meta["section"]] = max(hit.sections.get(meta["section"], 0.0), score)
        ranked = sorted(items.values(), key=lambda h: h.score, reverse=True)
        return ranked[:limit]


def _scaled(hits: list[tuple[int, float]], floor_zero: bool) -> dict[int, float]:
    """Scores mapped to 0..1 over this query's candidates (BM25 from 0, cosine from its minimum)."""
    if not hits:
        return {}
    scores = [s for _, s in hits]
    low = 0.0 if floor_zero else min(scores)
    span = (max(scores) - low) or 1.0
    return {index: (score - low) / span for index, score in hits}
