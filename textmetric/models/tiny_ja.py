"""``tiny-ja``: a small Japanese BERT built offline from the training texts.

It has the same tokenizer *kind* as the Tohoku Japanese BERTs (``BertJapaneseTokenizer``: MeCab
word split through fugashi + unidic-lite, then WordPiece), with a vocabulary learned from the
given texts, and a small randomly initialised BERT. It lets the whole pipeline (training,
evaluation, export, tests) run with no download, and is a useful model in its own right when
trained with enough data (see the quality recipe).

Every character of the texts is in the vocabulary, both word-initially and as a ``##``
continuation, so no text of the training corpus maps to ``[UNK]``. The build is deterministic
for a given seed and text list.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from textmetric.errors import ConfigError
from textmetric.io import atomic_path

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORD_INITS = ("random", "ppmi")
# PPMI vectors are counted on at most this many distinct texts and pairs (a seeded sample beyond): enough
# for stable co-occurrence statistics, and it bounds the time and memory of the count.
PPMI_MAX_TEXTS = 200_000


@dataclass(frozen=True)
class TinyJaConfig:
    """Size of the tiny BERT; defaults train on 2 CPU cores in minutes."""

    vocab_size: int = 16000
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 1024
    max_position_embeddings: int = 512
    min_frequency: int = 2
    seed: int = 42
    # "random" (BERT's initialisation) or "ppmi": word embeddings from the co-occurrences of the
    # tokens in the texts the vocabulary is learned from (textmetric.models.word_vectors).
    word_init: str = "random"
    # "ppmi": weight of the positive pairs' contexts against the window's (0: the window only, as
    # models recorded before pair contexts existed were built).
    ppmi_pair_weight: float = 0.0
    # dropout of the hidden states and attention weights while training (BERT's 0.1 by default; a
    # model trained from scratch on a few ten thousand pairs gains from more, see the recipe)
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.word_init not in WORD_INITS:
            raise ConfigError(f"word_init must be one of {', '.join(WORD_INITS)}, not '{self.word_init}'")
        if self.ppmi_pair_weight < 0:
            raise ConfigError(f"ppmi_pair_weight must be >= 0, not {self.ppmi_pair_weight}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), not {self.dropout}")


def mecab_word_tokenizer(normalize_text: bool = True):
    """The MeCab word tokenizer that ``BertJapaneseTokenizer`` uses with unidic-lite."""
    from transformers.models.bert_japanese.tokenization_bert_japanese import MecabTokenizer

    from textmetric.text.words import mecab_guard

    return mecab_guard(
        lambda: MecabTokenizer(do_lower_case=False, normalize_text=normalize_text, mecab_dic="unidic_lite")
    )


def learn_wordpiece_vocab(texts: Iterable[str], *, vocab_size: int, min_frequency: int = 2) -> list[str]:
    """Learn a WordPiece vocabulary over MeCab words, covering every character seen.

    Words come from the same MeCab split that the tokenizer applies at run time. The vocabulary
    is: special tokens, every character (word-initial and as a ``##`` continuation, so nothing in
    the corpus is ``[UNK]``), then whole words by frequency (ties by code point) down to
    ``min_frequency``, then the most frequent word-final pieces (``##ます``) of the words left
    out, until ``vocab_size``. Unlike the ``tokenizers`` WordPiece trainer, whose tie-breaking
    varies from run to run, this is exactly reproducible.
    """
    mecab = mecab_word_tokenizer()
    word_counts: Counter[str] = Counter()
    for text in texts:
        word_counts.update(mecab.tokenize(text))
    chars = sorted({char for word in word_counts for char in word})
    vocab = list(SPECIAL_TOKENS)
    seen = set(vocab)

    def add(token: str) -> bool:
        if token in seen:
            return False
        vocab.append(token)
        seen.add(token)
        return True

    for char in chars:
        add(char)
        add(f"##{char}")
    ranked = sorted(word_counts.items(), key=lambda item: (-item[1], item[0]))
    left_out: Counter[str] = Counter()
    for word, count in ranked:
        if len(vocab) >= vocab_size or count < min_frequency:
            left_out[word] += count
            continue
        add(word)
    # Frequent endings of the words left out (inflections, compounds) as continuation pieces.
    pieces: Counter[str] = Counter()
    for word, count in left_out.items():
        for start in range(1, len(word) - 1):
            pieces[f"##{word[start:]}"] += count
    for piece, count in sorted(pieces.items(), key=lambda item: (-item[1], item[0])):
        if len(vocab) >= vocab_size or count < min_frequency:
            break
        add(piece)
    return vocab


def build_tiny_ja(
    texts: Sequence[str],
    output_dir: str | Path,
    *,
    config: TinyJaConfig | None = None,
    overwrite: bool = False,
    pairs: Sequence[tuple[str, str]] = (),
) -> Path:
    """Build a ``BertJapaneseTokenizer`` + random BERT from ``texts`` into ``output_dir``.

    ``pairs`` (positive pairs of texts) are contexts of the PPMI word vectors as well
    (``word_init="ppmi"`` with ``ppmi_pair_weight > 0``). The folder is a plain Hugging Face model
    folder (``config.json``, ``model.safetensors``, ``vocab.txt``, ``tokenizer_config.json``) that
    ``AutoModel`` / ``AutoTokenizer`` and the sentence-transformers ``Transformer`` module load.
    """
    config = config or TinyJaConfig()
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise ValueError("tiny-ja needs at least one non-empty text to learn its vocabulary from")
    vocab = learn_wordpiece_vocab(texts, vocab_size=config.vocab_size, min_frequency=config.min_frequency)
    logger.info("tiny-ja: vocabulary of %d tokens from %d texts", len(vocab), len(texts))
    return _write_tiny_ja(vocab, output_dir, config, overwrite=overwrite, texts=texts, pairs=pairs)


def rebuild_tiny_ja(
    vocab_file: str | Path,
    output_dir: str | Path,
    *,
    config: TinyJaConfig,
    texts: Sequence[str] | None = None,
    pairs: Sequence[tuple[str, str]] = (),
) -> Path:
    """The untrained tiny-ja base of a trained model, from its ``vocab.txt`` and recorded config.

    The random initialisation depends only on the config (seed included) and the vocabulary size,
    so this gives the very weights training started from: the ``base`` baseline of
    ``textmetric evaluate`` for a model trained from ``tiny-ja``. With ``word_init="ppmi"`` the
    word embeddings also depend on the texts (and pairs) the base was built from: pass the same.
    """
    lines = Path(vocab_file).read_text(encoding="utf-8").split("\n")
    vocab = lines[:-1] if lines and lines[-1] == "" else lines
    return _write_tiny_ja(vocab, output_dir, config, overwrite=True, texts=texts, pairs=pairs)


def _write_tiny_ja(
    vocab: list[str],
    output_dir: str | Path,
    config: TinyJaConfig,
    *,
    overwrite: bool,
    texts: Sequence[str] | None,
    pairs: Sequence[tuple[str, str]] = (),
) -> Path:
    import torch
    from transformers import BertConfig, BertJapaneseTokenizer, BertModel

    with atomic_path(output_dir, overwrite=overwrite, is_dir=True) as tmp:
        tmp.mkdir(parents=True, exist_ok=True)
        vocab_file = tmp / "vocab.txt"
        vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
        tokenizer = BertJapaneseTokenizer(
            vocab_file=str(vocab_file),
            do_lower_case=False,
            word_tokenizer_type="mecab",
            subword_tokenizer_type="wordpiece",
            mecab_kwargs={"mecab_dic": "unidic_lite"},
            model_max_length=config.max_position_embeddings,
        )
        tokenizer.save_pretrained(str(tmp))
        bert_config = BertConfig(
            vocab_size=len(vocab),
            hidden_size=config.hidden_size,
            num_hidden_layers=config.num_layers,
            num_attention_heads=config.num_heads,
            intermediate_size=config.intermediate_size,
            max_position_embeddings=config.max_position_embeddings,
            hidden_dropout_prob=config.dropout,
            attention_probs_dropout_prob=config.dropout,
            pad_token_id=0,
        )
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(config.seed)
        try:
            model = BertModel(bert_config)
        finally:
            torch.random.set_rng_state(generator_state)
        if config.word_init == "ppmi":
            if not texts:
                raise ValueError("word_init='ppmi' needs the texts the tiny-ja base was built from")
            _init_word_embeddings(model, tokenizer, texts, pairs, config)
        model.save_pretrained(str(tmp))
        num_texts = len(texts) if texts is not None else None
        info = {**asdict(config), "num_texts": num_texts, "num_pairs": len(pairs), "vocab_tokens": len(vocab)}
        (tmp / "tiny_ja.json").write_text(
            json.dumps(info, indent=2),
            encoding="utf-8",
        )
    return Path(output_dir)


def _init_word_embeddings(
    model, tokenizer, texts: Sequence[str], pairs: Sequence[tuple[str, str]], config: TinyJaConfig
) -> None:
    """PPMI-SVD vectors of the tokens of ``texts`` (and ``pairs``) in place of the random word embeddings.

    They are scaled to BERT's initialisation scale (``initializer_range``), so that the sum with the
    position and type embeddings, and the layer norm after it, see inputs of the usual size.
    Tokens never seen next to another one ([PAD], [MASK], rare characters) keep their random row.
    """
    import random

    import torch

    from textmetric.models.word_vectors import ppmi_svd_vectors

    def distinct(items: Sequence) -> list:
        """Sorted distinct items, a seeded sample of PPMI_MAX_TEXTS of them beyond that."""
        items = sorted(set(items))
        if len(items) > PPMI_MAX_TEXTS:
            items = sorted(random.Random(config.seed).sample(items, PPMI_MAX_TEXTS))
        return items

    unique = distinct(texts)
    distinct_pairs = distinct(pairs) if config.ppmi_pair_weight > 0 else []
    logger.info(
        "tiny-ja: PPMI word vectors from %d distinct texts and %d pairs", len(unique), len(distinct_pairs)
    )
    ids: dict[str, list[int]] = {}

    def tokens(text: str) -> list[int]:
        if text not in ids:
            ids[text] = tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids[text]

    vectors, has_context = ppmi_svd_vectors(
        [tokens(text) for text in unique],
        len(tokenizer),
        config.hidden_size,
        pairs=[(tokens(a), tokens(b)) for a, b in distinct_pairs],
        pair_weight=config.ppmi_pair_weight,
        seed=config.seed,
    )
    has_context[tokenizer.pad_token_id] = False
    if not has_context.any():
        raise ConfigError(
            "word_init 'ppmi' needs texts with at least two tokens (it counts which tokens occur near "
            "which); these have none: use word_init 'random' (--word-init random)"
        )
    seen = vectors[has_context]
    seen = seen / max(float(seen.std()), 1e-12) * model.config.initializer_range
    weight = model.embeddings.word_embeddings.weight
    with torch.no_grad():
        weight[torch.from_numpy(has_context)] = torch.from_numpy(seen).to(weight.dtype)
    logger.info("tiny-ja: PPMI word vectors for %d of %d tokens", int(has_context.sum()), len(has_context))
