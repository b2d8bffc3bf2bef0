"""A fast path for the MeCab + WordPiece Japanese BERT tokenizers, with identical ids.

``transformers.BertJapaneseTokenizer`` (the tokenizer of ``tohoku-nlp/bert-base-japanese-v3`` and
of tiny-ja) is pure Python: MeCab itself is fast, but the Python WordPiece loop, the per-token
id look-ups and the per-text padding cost about ten times what MeCab does. This module keeps
every step that decides *which* tokens come out and moves the rest to compiled code:

1. Added / special tokens (``[SEP]`` inside a JSQuAD context) are split off with the slow
   tokenizer's own trie, with its lstrip / rstrip / single-word rules.
2. Each remaining chunk is NFKC-normalised and cut by MeCab (fugashi, same dictionary and options
   as ``MecabTokenizer``) in *wakati* output mode: one C call returns the surfaces joined by
   spaces, instead of one Python object per word. Lower-casing (``do_lower_case``) is applied
   per surface except for special tokens, as ``MecabTokenizer`` does.
3. The words are split on Python white space, as the slow WordPiece does with each surface,
   and ``tokenizers``' ``WordPiece`` (greedy longest match, ``##`` continuation, ``[UNK]`` for a
   word with an unknown piece or over ``max_input_chars_per_word`` characters) maps each
   *distinct* word to ids once; the ids are memoised, since words repeat far more than texts.
   (``tokenize`` hands the whole word string to ``tokenizers`` instead, whose
   ``WhitespaceSplit`` knows Rust white space: a strict subset of Python's that lacks
   U+001C..U+001F, so a string holding one of those four is re-joined in Python first.)
4. Truncation, ``[CLS]`` / ``[SEP]``, token type ids, padding and the attention mask follow the
   slow tokenizer's rules (``prepare_for_model`` / ``pad``), written for whole batches.

The word split of each text is also cached (LRU), which helps training: the same texts are
tokenized again every epoch.

:class:`FastBertJapaneseTokenizer` *is* a ``BertJapaneseTokenizer`` (a subclass), so
sentence-transformers, ``pad``, ``decode``, ``convert_ids_to_tokens`` and every option the fast
path does not cover (offsets, overflowing tokens, pre-split words...) work unchanged, through
the slow code. ``save_pretrained`` writes the plain ``BertJapaneseTokenizer`` files, so a saved
model loads with nothing but transformers. Configurations it cannot reproduce exactly
(SentencePiece, Juman++, Sudachi, character subwords, added tokens outside the vocabulary)
raise :class:`~textmetric.errors.ConfigError`; :func:`use_fast_tokenizer` then keeps the slow
tokenizer.
"""

from __future__ import annotations

import copy
import functools
import itertools
import logging
import multiprocessing
import os
import re
import threading
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from transformers import BatchEncoding, BertJapaneseTokenizer
from transformers.tokenization_utils_base import PaddingStrategy, TruncationStrategy

from textmetric.errors import ConfigError, ModelLoadError

logger = logging.getLogger("textmetric")

DEFAULT_CACHE_SIZE = 1 << 16
"""Texts whose word split is kept (LRU); a training set of this many texts is split once."""

WORD_CACHE_SIZE = 1 << 18
"""Distinct words whose WordPiece ids are memoised (cleared when full); words repeat a lot."""

PARALLEL_MIN_TEXTS = 2048
"""Below this many texts a call stays in-process even with ``num_workers`` (pool start-up costs)."""

# Python's str.split() white space that Rust's char::is_whitespace (the WhitespaceSplit
# pre-tokenizer) does not treat as white space.
_PY_ONLY_WHITESPACE = re.compile("[\x1c\x1d\x1e\x1f]")
_OUTPUT_FORMAT_OPTION = re.compile(r"(^|\s)(-O|--output-format-type)")
_SUPPORTED_TRUNCATION = {
    TruncationStrategy.DO_NOT_TRUNCATE,
    TruncationStrategy.LONGEST_FIRST,
    TruncationStrategy.ONLY_FIRST,
    TruncationStrategy.ONLY_SECOND,
}
_KNOWN_CALL_KWARGS = {"split_special_tokens", "verbose"}
_FAST_STATE = (
    "_fast_rust",
    "_fast_local",
    "_fast_split_cached",
    "_fast_first_chars",
    "_fast_never_split",
    "_fast_never_split_re",
    "_fast_reason",
    "_fast_word_ids",
)


def _mecab_option(mecab_kwargs: dict[str, Any] | None) -> str:
    """The MeCab option string ``MecabTokenizer`` builds from ``mecab_kwargs``, in wakati mode."""
    kwargs = dict(mecab_kwargs or {})
    unknown = set(kwargs) - {"mecab_dic", "mecab_option", "normalize_text"}
    if unknown:
        raise ConfigError(f"unsupported mecab_kwargs {sorted(unknown)} for the fast tokenizer")
    mecab_dic = kwargs.get("mecab_dic", "unidic_lite")
    option = kwargs.get("mecab_option") or ""
    if _OUTPUT_FORMAT_OPTION.search(option):
        raise ConfigError(f"mecab_option {option!r} sets an output format; the fast tokenizer needs its own")
    if mecab_dic is not None:
        if mecab_dic == "unidic_lite":
            import unidic_lite

            dic_dir = unidic_lite.DICDIR
        elif mecab_dic == "unidic":
            import unidic

            dic_dir = unidic.DICDIR
        elif mecab_dic == "ipadic":
            import ipadic

            dic_dir = ipadic.DICDIR
        else:
            raise ConfigError(f"unsupported mecab_dic {mecab_dic!r}")
        mecabrc = os.path.join(dic_dir, "mecabrc")
        option = f'-d "{dic_dir}" -r "{mecabrc}" ' + option
    return option + " -Owakati"


class FastBertJapaneseTokenizer(BertJapaneseTokenizer):
    """``BertJapaneseTokenizer`` (MeCab + WordPiece) with a compiled hot loop and identical ids.

    Build it with :func:`build_fast_tokenizer`. ``__call__`` / ``encode`` / ``tokenize`` take the fast
    path for strings, lists of strings and text pairs with the usual padding and truncation
    options; anything else (``return_offsets_mapping``, ``stride``, ``is_split_into_words``...)
    runs the inherited slow code, so results never differ.
    """

    # ------------------------------------------------------------------ construction
    def __init__(self, *args, cache_size: int = DEFAULT_CACHE_SIZE, num_workers: int = 0, **kwargs) -> None:
        """Same arguments as ``BertJapaneseTokenizer`` (so ``from_pretrained`` works), plus the cache
        size and worker count of :func:`build_fast_tokenizer`. Raises ConfigError when unsupported."""
        super().__init__(*args, **kwargs)
        self._fast_cache_size = int(cache_size)
        self.num_workers = int(num_workers)
        self._init_fast()
        if self._fast_reason is not None:
            raise ConfigError(self._fast_reason)

    @classmethod
    def from_slow(
        cls,
        slow: BertJapaneseTokenizer,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        num_workers: int = 0,
    ) -> FastBertJapaneseTokenizer:
        """A fast copy of ``slow`` (its own state: later changes to ``slow`` do not leak in)."""
        if not isinstance(slow, BertJapaneseTokenizer):
            raise ConfigError(f"the fast tokenizer needs a BertJapaneseTokenizer, got {type(slow).__name__}")
        _check_supported(slow)
        fast = copy.deepcopy(slow.to_slow() if isinstance(slow, FastBertJapaneseTokenizer) else slow)
        fast.__class__ = cls
        fast._fast_cache_size = int(cache_size)
        fast.num_workers = int(num_workers)
        fast._init_fast()
        if fast._fast_reason is not None:
            raise ConfigError(fast._fast_reason)
        return fast

    def _init_fast(self) -> None:
        """(Re)build the compiled WordPiece and the word-split settings from the current state."""
        from tokenizers import Tokenizer, models, pre_tokenizers

        self._fast_reason = None
        try:
            _check_supported(self)
            self._fast_mecab_option = _mecab_option(self.mecab_kwargs)
            vocab = dict(self.vocab)
            unk = str(self.unk_token)
            if unk not in vocab:
                raise ConfigError(f"the unknown token {unk!r} is not in the vocabulary")
            for index, token in self._added_tokens_decoder.items():
                content = token.content
                if vocab.get(content) != index:
                    raise ConfigError(f"added token {content!r} (id {index}) is not in the vocabulary")
                if not content or any(char.isspace() for char in content):
                    raise ConfigError(f"added token {content!r} contains white space")
            if self.special_tokens_pattern != "cls_sep" or self.token_type_ids_pattern != "bert_style":
                raise ConfigError("only [CLS] a [SEP] (b [SEP]) inputs with BERT token types are supported")
            if not self.token_type_ids_include_special_tokens:
                raise ConfigError("token_type_ids_include_special_tokens=False is not supported")
        except (ConfigError, ImportError) as err:
            self._fast_reason = str(err)
            return
        wordpiece = models.WordPiece(
            vocab=vocab,
            unk_token=unk,
            max_input_chars_per_word=self.subword_tokenizer.max_input_chars_per_word,
            continuing_subword_prefix="##",
        )
        rust = Tokenizer(wordpiece)
        rust.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        self._fast_rust = rust
        self._fast_word_ids: dict[str, list[int]] = {}
        self._fast_local = threading.local()
        word_tokenizer = self.word_tokenizer
        self._fast_normalize = bool(word_tokenizer.normalize_text)
        self._fast_lower = bool(word_tokenizer.do_lower_case)
        self._fast_never_split = frozenset(list(word_tokenizer.never_split) + list(self.all_special_tokens))
        longest_first = sorted(self._fast_never_split, key=len, reverse=True)
        self._fast_never_split_re = (
            re.compile("|".join(re.escape(token) for token in longest_first)) if longest_first else None
        )
        self._fast_first_chars = frozenset(self.tokens_trie.data)
        split = self._split_text_uncached
        if self._fast_cache_size > 0:
            split = functools.lru_cache(maxsize=self._fast_cache_size)(split)
        self._fast_split_cached = split

    def _add_tokens(self, new_tokens, special_tokens: bool = False) -> int:
        added = super()._add_tokens(new_tokens, special_tokens=special_tokens)
        if "_fast_reason" in self.__dict__:  # not during the parent __init__
            self._init_fast()
            if self._fast_reason is not None:
                logger.warning("fast tokenizer disabled, using the slow path: %s", self._fast_reason)
        return added

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        for key in _FAST_STATE:
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._init_fast()

    def to_slow(self) -> BertJapaneseTokenizer:
        """A plain ``BertJapaneseTokenizer`` view of this tokenizer (shares its state)."""
        slow = BertJapaneseTokenizer.__new__(BertJapaneseTokenizer)
        slow.__dict__.update(
            {
                key: value
                for key, value in self.__dict__.items()
                if not key.startswith("_fast") and key != "num_workers"
            }
        )
        return slow

    def save_pretrained(self, save_directory, *args, **kwargs):
        """Save the original ``BertJapaneseTokenizer`` files (loadable without textmetric)."""
        return self.to_slow().save_pretrained(save_directory, *args, **kwargs)

    @property
    def is_fast_path(self) -> bool:
        """Whether calls take the fast path (false after e.g. adding tokens outside the vocabulary)."""
        return self._fast_reason is None

    # ------------------------------------------------------------------ word split
    def _tagger(self):
        tagger = getattr(self._fast_local, "tagger", None)
        if tagger is None:
            from textmetric.text.words import mecab_guard

            def build():
                import fugashi

                return fugashi.GenericTagger(self._fast_mecab_option)

            tagger = mecab_guard(build)
            self._fast_local.tagger = tagger
        return tagger

    def _split_chunk(self, text: str, tagger) -> str:
        """MeCab words of one chunk (no added tokens in it), space-joined, as MecabTokenizer + split()."""
        if self._fast_normalize:
            text = unicodedata.normalize("NFKC", text)
        words = tagger.parse(text)
        if self._fast_lower:
            never_split = self._fast_never_split
            if self._fast_never_split_re is not None and self._fast_never_split_re.search(words):
                words = " ".join(word if word in never_split else word.lower() for word in words.split())
            else:
                words = words.lower()
        if _PY_ONLY_WHITESPACE.search(words):
            words = " ".join(words.split())
        return words

    def _split_text_uncached(self, text: str, split_special_tokens: bool = False) -> str:
        """The words ``tokenize`` would pass to WordPiece, space-joined (added tokens kept whole)."""
        tagger = self._tagger()
        if split_special_tokens or not any(char in text for char in self._fast_first_chars):
            return self._split_chunk(text, tagger)
        # Same rules as PreTrainedTokenizer.tokenize.
        chunks = self.tokens_trie.split(text)
        no_split = self._added_tokens_encoder
        for i, chunk in enumerate(chunks):
            if chunk in no_split:
                added = self._added_tokens_decoder.get(no_split[chunk])
                left = chunks[i - 1] if i > 0 else None
                right = chunks[i + 1] if i < len(chunks) - 1 else None
                if added is not None and not isinstance(added, str):
                    if added.rstrip and right:
                        chunks[i + 1] = right.lstrip()
                    if added.lstrip and left:
                        chunks[i - 1] = left.rstrip()
                    if added.single_word:
                        if left and left[-1] != " ":
                            chunks[i - 1] += chunk
                            chunks[i] = ""
                        elif right and right[0] != " ":
                            chunks[i + 1] = chunk + chunks[i + 1]
                            chunks[i] = ""
        special = set(self.all_special_tokens)
        parts = []
        for chunk in chunks:
            if not chunk:
                continue
            if chunk in no_split or chunk in special:
                parts.append(chunk)
            else:
                words = self._split_chunk(chunk, tagger)
                if words:
                    parts.append(words)
        return " ".join(parts)

    def split_words(self, texts: Sequence[str], *, split_special_tokens: bool | None = None) -> list[str]:
        """Space-joined MeCab words of each text (cached; across processes for big lists)."""
        if split_special_tokens is None:
            split_special_tokens = self.split_special_tokens
        if self.num_workers > 1 and len(texts) >= PARALLEL_MIN_TEXTS:
            return _split_parallel(self, texts, bool(split_special_tokens), self.num_workers)
        split = self._fast_split_cached
        if split_special_tokens:
            return [split(text, True) for text in texts]
        return [split(text) for text in texts]

    def _content_ids(self, texts: Sequence[str], split_special_tokens: bool) -> list[list[int]]:
        """WordPiece ids of each text, without special tokens.

        The ``tokenizers`` WordPiece computes each distinct word once; its ids are memoised, as
        a call into Rust (and the Encoding it builds) costs more than a dict look-up.
        """
        memo = self._fast_word_ids
        if len(memo) > WORD_CACHE_SIZE:
            memo.clear()
        encode = self._fast_rust.encode
        result = []
        for words in self.split_words(texts, split_special_tokens=split_special_tokens):
            ids: list[int] = []
            for word in words.split():
                pieces = memo.get(word)
                if pieces is None:
                    pieces = memo[word] = encode(word, add_special_tokens=False).ids
                ids += pieces
            result.append(ids)
        return result

    def cache_clear(self) -> None:
        """Forget the cached word splits."""
        if hasattr(self._fast_split_cached, "cache_clear"):
            self._fast_split_cached.cache_clear()

    # ------------------------------------------------------------------ transformers entry points
    def tokenize(self, text, **kwargs) -> list[str]:
        unknown_kwargs = set(kwargs) - {"split_special_tokens"}
        if self._fast_reason is not None or not isinstance(text, str) or unknown_kwargs:
            return super().tokenize(text, **kwargs)
        split_special = kwargs.get("split_special_tokens", self.split_special_tokens)
        words = self._fast_split_cached(text, True) if split_special else self._fast_split_cached(text)
        return self._fast_rust.encode(words, add_special_tokens=False).tokens

    def _encode_plus(
        self,
        text,
        text_pair=None,
        add_special_tokens: bool = True,
        padding_strategy: PaddingStrategy = PaddingStrategy.DO_NOT_PAD,
        truncation_strategy: TruncationStrategy = TruncationStrategy.DO_NOT_TRUNCATE,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors=None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_length: bool = False,
        verbose: bool = True,
        **kwargs,
    ) -> BatchEncoding:
        slow_args = dict(
            text=text,
            text_pair=text_pair,
            add_special_tokens=add_special_tokens,
            padding_strategy=padding_strategy,
            truncation_strategy=truncation_strategy,
            max_length=max_length,
            stride=stride,
            is_split_into_words=is_split_into_words,
            pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side,
            return_tensors=return_tensors,
            return_token_type_ids=return_token_type_ids,
            return_attention_mask=return_attention_mask,
            return_overflowing_tokens=return_overflowing_tokens,
            return_special_tokens_mask=return_special_tokens_mask,
            return_length=return_length,
            verbose=verbose,
            **kwargs,
        )
        inputs = None
        if (
            self._fast_reason is None
            and not is_split_into_words
            and stride == 0
            and not return_overflowing_tokens
            and not return_special_tokens_mask
            and not return_length
            and not kwargs.get("return_offsets_mapping")
            and not set(kwargs) - _KNOWN_CALL_KWARGS - {"return_offsets_mapping"}
            and truncation_strategy in _SUPPORTED_TRUNCATION
        ):
            inputs = _fast_inputs(text, text_pair)
        if inputs is None:
            return super()._encode_plus(**slow_args)
        firsts, seconds, batched = inputs
        split_special = kwargs.get("split_special_tokens", self.split_special_tokens)
        all_ids = self._content_ids(firsts + (seconds or []), bool(split_special))
        first_ids = all_ids[: len(firsts)]
        second_ids = all_ids[len(firsts) :] if seconds is not None else None
        return self._assemble(
            first_ids,
            second_ids,
            batched=batched,
            add_special_tokens=add_special_tokens,
            padding_strategy=padding_strategy,
            truncation_strategy=truncation_strategy,
            max_length=max_length,
            pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side,
            return_tensors=return_tensors,
            return_token_type_ids=return_token_type_ids,
            return_attention_mask=return_attention_mask,
            verbose=verbose,
        )

    def _assemble(
        self,
        first_ids: list[list[int]],
        second_ids: list[list[int]] | None,
        *,
        batched: bool,
        add_special_tokens: bool,
        padding_strategy: PaddingStrategy,
        truncation_strategy: TruncationStrategy,
        max_length: int | None,
        pad_to_multiple_of: int | None,
        padding_side: str | None,
        return_tensors,
        return_token_type_ids: bool | None,
        return_attention_mask: bool | None,
        verbose: bool,
    ) -> BatchEncoding:
        """``prepare_for_model`` + ``pad`` of the slow tokenizer, for a whole batch of id lists."""
        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in self.model_input_names
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        pair = second_ids is not None
        num_special = (3 if pair else 2) if add_special_tokens else 0
        truncate = truncation_strategy != TruncationStrategy.DO_NOT_TRUNCATE and max_length
        cls_id, sep_id = self.cls_token_id, self.sep_token_id
        sequences: list[list[int]] = []
        first_lengths: list[int] = []  # tokens with type id 0 (pairs only)
        for index, ids in enumerate(first_ids):
            pair_ids = second_ids[index] if pair else None
            total = len(ids) + (len(pair_ids) if pair else 0) + num_special
            if truncate and total > max_length:
                ids, pair_ids, _ = self.truncate_sequences(
                    ids,
                    pair_ids=pair_ids,
                    num_tokens_to_remove=total - max_length,
                    truncation_strategy=truncation_strategy,
                    stride=0,
                )
            if not add_special_tokens:
                sequences.append(ids + pair_ids if pair_ids else ids)
            elif pair_ids is None:
                sequences.append([cls_id, *ids, sep_id])
            else:
                sequences.append([cls_id, *ids, sep_id, *pair_ids, sep_id])
                first_lengths.append(len(ids) + 2)
        lengths = [len(sequence) for sequence in sequences]
        longest = max(lengths, default=0)
        if sequences:
            longest_sequence = sequences[lengths.index(longest)]
            self._eventual_warn_about_too_long_sequence(longest_sequence, max_length, verbose)
        with_types = pair and add_special_tokens  # else every token type id is 0

        target = None
        if padding_strategy == PaddingStrategy.LONGEST:
            target = longest
        elif padding_strategy == PaddingStrategy.MAX_LENGTH:
            target = max_length
        if target is not None and pad_to_multiple_of is not None and target % pad_to_multiple_of != 0:
            target = (target // pad_to_multiple_of + 1) * pad_to_multiple_of
        side = padding_side if padding_side is not None else self.padding_side
        if target is not None and side not in ("left", "right"):
            raise ValueError(f"Invalid padding strategy:{side}")

        tensor_type = getattr(return_tensors, "value", return_tensors)
        if target is not None and longest <= target and tensor_type in ("pt", "np") and sequences:
            data = self._padded_arrays(
                sequences,
                lengths,
                first_lengths if with_types else None,
                target,
                side,
                return_token_type_ids,
                return_attention_mask,
                tensor_type,
            )
            return BatchEncoding(data, tensor_type=return_tensors)

        input_ids = sequences
        type_ids: list[list[int]] | None = None
        if return_token_type_ids:
            if with_types:
                type_ids = [
                    [0] * first + [1] * (length - first)
                    for first, length in zip(first_lengths, lengths, strict=True)
                ]
            else:
                type_ids = [[0] * length for length in lengths]
        masks = [[1] * length for length in lengths] if return_attention_mask else None
        if target is not None:
            pad_id, pad_type = self.pad_token_id, self.pad_token_type_id
            for index, length in enumerate(lengths):
                difference = target - length
                if difference <= 0:
                    continue
                if side == "right":
                    input_ids[index] = input_ids[index] + [pad_id] * difference
                    if type_ids is not None:
                        type_ids[index] = type_ids[index] + [pad_type] * difference
                    if masks is not None:
                        masks[index] = masks[index] + [0] * difference
                else:
                    input_ids[index] = [pad_id] * difference + input_ids[index]
                    if type_ids is not None:
                        type_ids[index] = [pad_type] * difference + type_ids[index]
                    if masks is not None:
                        masks[index] = [0] * difference + masks[index]

        data = {"input_ids": input_ids}
        if type_ids is not None:
            data["token_type_ids"] = type_ids
        if masks is not None:
            data["attention_mask"] = masks
        if batched:
            return BatchEncoding(data, tensor_type=return_tensors)
        single = {key: value[0] for key, value in data.items()}
        return BatchEncoding(single, tensor_type=return_tensors, prepend_batch_axis=True)

    def _padded_arrays(
        self,
        sequences: list[list[int]],
        lengths: list[int],
        first_lengths: list[int] | None,
        target: int,
        side: str,
        return_token_type_ids: bool,
        return_attention_mask: bool,
        tensor_type: str,
    ) -> dict[str, Any]:
        """Padded id, token type and mask arrays built in numpy (no per-token Python lists)."""
        import numpy as np

        count = len(sequences)
        positions = np.arange(target)
        length_col = np.asarray(lengths, dtype=np.int64)[:, None]
        if side == "right":
            start = np.zeros_like(length_col)
            real = positions < length_col
        else:
            start = target - length_col
            real = positions >= start
        # The real positions, in row-major order, are the sequences one after the other.
        flat = np.fromiter(itertools.chain.from_iterable(sequences), dtype=np.int64, count=sum(lengths))
        input_ids = np.full((count, target), self.pad_token_id, dtype=np.int64)
        input_ids[real] = flat
        data: dict[str, Any] = {"input_ids": input_ids}
        if return_token_type_ids:
            type_ids = np.where(real, 0, self.pad_token_type_id).astype(np.int64)
            if first_lengths is not None:
                second = positions >= start + np.asarray(first_lengths, dtype=np.int64)[:, None]
                type_ids[real & second] = 1
            data["token_type_ids"] = type_ids
        if return_attention_mask:
            data["attention_mask"] = real.astype(np.int64)
        if tensor_type == "pt":
            import torch

            data = {key: torch.from_numpy(value) for key, value in data.items()}
        return data


def _fast_inputs(text, text_pair) -> tuple[list[str], list[str] | None, bool] | None:
    """``(firsts, seconds, batched)`` when the inputs are plain strings the fast path takes."""
    if isinstance(text, str):
        if text_pair is None:
            return [text], None, False
        if isinstance(text_pair, str):
            return [text], [text_pair], False
        return None
    if not isinstance(text, (list, tuple)) or not text:
        return None
    if text_pair is None:
        if all(isinstance(item, str) for item in text):
            return list(text), None, True
        if all(
            isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(part, str) for part in item)
            for item in text
        ):
            return [item[0] for item in text], [item[1] for item in text], True
        return None
    if (
        isinstance(text_pair, (list, tuple))
        and len(text_pair) == len(text)
        and all(isinstance(item, str) for item in text)
        and all(isinstance(item, str) for item in text_pair)
    ):
        return list(text), list(text_pair), True
    return None


def _check_supported(tokenizer: BertJapaneseTokenizer) -> None:
    """Raise ConfigError unless ``tokenizer`` is MeCab word split + WordPiece."""
    word_type = getattr(tokenizer, "word_tokenizer_type", None)
    subword_type = getattr(tokenizer, "subword_tokenizer_type", None)
    if not getattr(tokenizer, "do_word_tokenize", True) or word_type != "mecab":
        raise ConfigError(
            f"word tokenizer {word_type!r} (do_word_tokenize={tokenizer.do_word_tokenize}) is not supported "
            "by the fast tokenizer; only MeCab is"
        )
    if not getattr(tokenizer, "do_subword_tokenize", True) or subword_type != "wordpiece":
        raise ConfigError(
            f"subword tokenizer {subword_type!r} is not supported by the fast tokenizer; only WordPiece is"
        )


# ---------------------------------------------------------------------- parallel word split
_WORKER: FastBertJapaneseTokenizer | None = None


def _worker_init() -> None:
    if _WORKER is not None:
        _WORKER._fast_local = threading.local()  # a fresh MeCab tagger in each process


def _worker_split(args: tuple[list[str], bool]) -> list[str]:
    texts, split_special = args
    assert _WORKER is not None
    return [_WORKER._split_text_uncached(text, split_special) for text in texts]


def _split_parallel(
    tokenizer: FastBertJapaneseTokenizer, texts: Sequence[str], split_special: bool, num_workers: int
) -> list[str]:
    """Word split of a big list across ``num_workers`` forked processes (the MeCab step is the cost)."""
    global _WORKER
    forkable = "fork" in multiprocessing.get_all_start_methods()
    # Spawn start-up (Windows / macOS) is not worth it; a daemon (a DataLoader worker) cannot fork.
    if not forkable or multiprocessing.current_process().daemon:  # pragma: no cover
        split = tokenizer._fast_split_cached
        return [split(text, True) if split_special else split(text) for text in texts]
    chunk = max(256, -(-len(texts) // (num_workers * 4)))
    pieces = [(list(texts[start : start + chunk]), split_special) for start in range(0, len(texts), chunk)]
    _WORKER = tokenizer
    try:
        with ProcessPoolExecutor(
            max_workers=num_workers, mp_context=multiprocessing.get_context("fork"), initializer=_worker_init
        ) as pool:
            results = list(pool.map(_worker_split, pieces))
    finally:
        _WORKER = None
    return [words for part in results for words in part]


# ---------------------------------------------------------------------- public API
def build_fast_tokenizer(
    model_dir_or_tokenizer: str | Path | BertJapaneseTokenizer,
    *,
    cache_size: int = DEFAULT_CACHE_SIZE,
    num_workers: int = 0,
) -> FastBertJapaneseTokenizer:
    """The fast MeCab + WordPiece tokenizer for a model folder or a ``BertJapaneseTokenizer``.

    Args:
        model_dir_or_tokenizer: a local model folder (or Hub id, when online) whose tokenizer is a
            ``BertJapaneseTokenizer``, or such a tokenizer object (it is copied, not changed).
        cache_size: texts whose MeCab split is cached (LRU); 0 turns the cache off.
        num_workers: processes for the MeCab split of calls with at least
            :data:`PARALLEL_MIN_TEXTS` texts (0 or 1: in-process).

    Raises:
        ConfigError: the tokenizer is not MeCab + WordPiece (SentencePiece, Juman++, Sudachi,
            character subwords) or cannot be reproduced exactly; use the slow one then.
        ModelLoadError: the folder has no loadable tokenizer.
    """
    tokenizer = model_dir_or_tokenizer
    if isinstance(tokenizer, (str, Path)):
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(tokenizer))
        except (OSError, ValueError) as err:
            raise ModelLoadError(f"cannot load a tokenizer from '{model_dir_or_tokenizer}': {err}") from None
    if not isinstance(tokenizer, BertJapaneseTokenizer):
        raise ConfigError(
            f"the fast tokenizer supports BertJapaneseTokenizer (MeCab + WordPiece) only, "
            f"not {type(tokenizer).__name__}"
        )
    return FastBertJapaneseTokenizer.from_slow(tokenizer, cache_size=cache_size, num_workers=num_workers)


def use_fast_tokenizer(model, *, cache_size: int = DEFAULT_CACHE_SIZE, num_workers: int = 0) -> bool:
    """Swap the tokenizer of every ``Transformer`` module of ``model`` for the fast one.

    Covers siamese models and the towers inside a ``Router`` (DSSM). ``encode``, ``preprocess``
    and the training data collator then use it; ``model.save`` still writes the original
    ``BertJapaneseTokenizer`` files. Returns True when every Transformer module now uses the fast
    tokenizer; modules it cannot serve keep their slow tokenizer (the reason is logged).
    """
    from sentence_transformers.sentence_transformer.modules import Transformer

    transformers_ = [module for module in model.modules() if isinstance(module, Transformer)]
    if not transformers_:
        logger.info("falling back to the slow tokenizer: the model has no Transformer module")
        return False
    reasons = []
    for module in transformers_:
        processor = module.processor
        if isinstance(processor, FastBertJapaneseTokenizer) and processor.is_fast_path:
            continue
        try:
            fast = build_fast_tokenizer(processor, cache_size=cache_size, num_workers=num_workers)
        except ConfigError as err:
            reasons.append(str(err))
            continue
        module.processor = fast
        formatter = getattr(module, "input_formatter", None)
        if formatter is not None and getattr(formatter, "processor", None) is processor:
            formatter.processor = fast
    if reasons:
        logger.info("falling back to the slow tokenizer: %s", "; ".join(dict.fromkeys(reasons)))
        return False
    # DEBUG: every model load does this; at INFO it repeated in every log (hundreds of lines in CI).
    logger.debug("using fast Japanese tokenizer (%d Transformer module(s))", len(transformers_))
    return True


__all__ = [
    "DEFAULT_CACHE_SIZE",
    "PARALLEL_MIN_TEXTS",
    "WORD_CACHE_SIZE",
    "FastBertJapaneseTokenizer",
    "build_fast_tokenizer",
    "use_fast_tokenizer",
]
