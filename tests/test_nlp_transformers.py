"""The optional transformers engine: a tiny BERT built here, train → save → load → predict.

Skipped (visibly) where the extra is not installed:
    pip install torch==2.13.0 'transformers>=5,<6'
Nothing is downloaded: the model comes from a config, the tokenizer is trained here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = pytest.importorskip("torch", reason="optional extra: pip install torch==2.13.0")
transformers = pytest.importorskip("transformers", reason="optional extra: transformers>=5,<6")
tokenizers = pytest.importorskip("tokenizers")

from nlp.engine import save_model  # noqa: E402
from nlp.engines import load_model, make_classifier  # noqa: E402
from nlp.training import train_model  # noqa: E402

TOPICS = {
    "water": [
        "нет холодной воды в доме третий день",
        "из крана течет ржавая вода",
        "прорвало трубу водопровода во дворе",
        "үйде су жоқ үш күн болды",
        "нет воды на улице абая",
        "слабый напор воды на пятом этаже",
    ],
    "waste": [
        "мусор не вывозят неделю контейнеры переполнены",
        "стихийная свалка мусора за домом",
        "қоқыс шығарылмайды аулада",
        "мусорные баки переполнены во дворе",
        "не вывозят мусор с площадки",
        "мусоровоз не приезжал две недели",
    ],
    "roads": [
        "огромная яма на дороге возле школы",
        "разбитый асфальт на проезжей части",
        "жолда үлкен шұңқыр бар",
        "ямы на дороге после зимы",
        "дорогу раскопали и не заасфальтировали",
        "асфальт провалился на перекрестке",
    ],
}


def _tiny_checkpoint(directory: Path, texts: list[str]) -> Path:
    """A 1-layer BERT and a WordPiece tokenizer trained on ``texts``, saved like a hub model."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    wordpiece.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=5000, special_tokens=special)
    )
    # The trainer numbers tokens in hash order (and may break ties differently run to run):
    # re-number them (specials first, then sorted) so the seeded weights vary as little as
    # possible; 60 epochs make the outcome robust to the remaining one-token differences.
    learned = sorted(set(wordpiece.get_vocab()) - set(special))
    vocabulary = {token: i for i, token in enumerate([*special, *learned])}
    normalizer, pre_tokenizer = wordpiece.normalizer, wordpiece.pre_tokenizer
    wordpiece = Tokenizer(models.WordPiece(vocab=vocabulary, unk_token="[UNK]"))
    wordpiece.normalizer, wordpiece.pre_tokenizer = normalizer, pre_tokenizer
    tokenizer = transformers.BertTokenizerFast(
        tokenizer_object=wordpiece,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    config = transformers.BertConfig(
        vocab_size=wordpiece.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_tiny_bert_trains_saves_loads_and_predicts(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    texts = [text for examples in TOPICS.values() for text in examples]
    labels = [label for label, examples in TOPICS.items() for _ in examples]
    checkpoint = _tiny_checkpoint(tmp_path / "checkpoint", texts)

    classifier, metadata = train_model(
        texts,
        labels,
        engine="transformers",
        source={"source": "tiny test corpus"},
        holdout=0,
        checkpoint=str(checkpoint),
        epochs=60,
        batch_size=6,
        learning_rate=3e-3,
        max_length=32,
        device="cpu",
    )
    assert metadata.engine == "transformers"
    assert metadata.labels == ("roads", "waste", "water") == classifier.labels

    predictions = classifier.predict(texts, top_k=3)
    correct = sum(p.label == label for p, label in zip(predictions, labels, strict=True))
    assert correct >= 14  # of 18; chance is 6
    for prediction in predictions:
        probabilities = [p for _, p in prediction.alternatives]
        assert probabilities == sorted(probabilities, reverse=True)
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-3)
        assert prediction.alternatives[0] == (prediction.label, prediction.confidence)

    save_model(classifier, tmp_path / "topic", metadata)
    loaded, loaded_metadata = load_model(tmp_path / "topic")
    assert loaded_metadata == metadata
    assert loaded.engine_name == "transformers"
    probe = [*texts, "совсем другой текст про погоду"]
    assert loaded.predict(probe) == classifier.predict(probe)


def test_transformers_engine_needs_a_local_checkpoint(tmp_path: Path) -> None:
    from nlp.engine import ModelError

    with pytest.raises(ModelError, match="needs a local checkpoint"):
        make_classifier("transformers").fit(["а", "б"], ["x", "y"])
    with pytest.raises(ModelError, match="is not a directory"):
        make_classifier("transformers", checkpoint=str(tmp_path / "missing")).fit(
            ["а", "б"], ["x", "y"]
        )
