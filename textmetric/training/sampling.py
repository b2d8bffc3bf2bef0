"""Batch order for several training files under torch.distributed.

The trainer gives batch ``i`` of the shared (seeded, identical on every process) batch order to
process ``i % world_size``. With several files, sentence-transformers' proportional sampler
picks the file batch by batch, so at one step process 0 could train on an MNRL file (and gather
embeddings across processes) while process 1 trains on a CoSENT file (and gathers nothing): the
collectives no longer match and training hangs. :class:`LockstepBatchSampler` picks the file
once per *round* of ``world_size`` batches, so at every step every process trains on the same
file, with the same loss and the same columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import accumulate

from sentence_transformers.base.sampler import DefaultBatchSampler, MultiDatasetDefaultBatchSampler
from torch.utils.data import ConcatDataset, SubsetRandomSampler


class LockstepBatchSampler(MultiDatasetDefaultBatchSampler):
    """Proportional sampling over files, ``group`` consecutive batches from the same file.

    Files are drawn in proportion to their number of full rounds; a file's last batches that do
    not fill a round are left out of the epoch (the sampler reshuffles every epoch, so different
    rows are left out each time).
    """

    def __init__(
        self, dataset: ConcatDataset, batch_samplers, generator=None, seed: int = 0, *, group: int = 1
    ) -> None:
        super().__init__(dataset, batch_samplers=batch_samplers, generator=generator, seed=seed)
        self.group = max(1, int(group))

    def _rounds(self) -> list[int]:
        return [len(sampler) // self.group for sampler in self.batch_samplers]

    def __iter__(self) -> Iterator[list[int]]:
        if self.generator is not None and self.seed is not None:
            self.generator.manual_seed(self.seed + self.epoch)
        offsets = [0, *accumulate(len(d) for d in self.dataset.datasets)]
        order = [index for index, rounds in enumerate(self._rounds()) for _ in range(rounds)]
        iterators = [iter(sampler) for sampler in self.batch_samplers]
        for index in SubsetRandomSampler(order, generator=self.generator):
            batches = []
            for _ in range(self.group):
                batch = next(iterators[index], None)
                if batch is None:
                    break
                batches.append(batch)
            if len(batches) < self.group:
                continue  # a file shorter than its estimated length: skip the incomplete round
            for batch in batches:
                yield [i + offsets[index] for i in batch]

    def __len__(self) -> int:
        return sum(self._rounds()) * self.group


class LengthGroupedBatchSampler(DefaultBatchSampler):
    """Batches of rows of similar length, in random order: less padding, the same randomness scale.

    A bucketed shuffle, like transformers' ``LengthGroupedSampler``: each epoch the rows are
    shuffled, cut into mega-batches of ``mega_batches x batch_size`` rows, each mega-batch is
    sorted by length and cut into batches, and the batches are shuffled. Each column is padded
    to its longest text in the batch, so similar lengths mean far fewer padded positions (and a
    faster step wherever the encoder's cost follows the sequence length, as on CPU).

    A row's length is the sum of the character counts of its text columns: for Japanese a rough
    proxy for tokens, but enough to group within a mega-batch, and it needs no tokenizer (the
    sampler is pickled with the training arguments). Only for losses that do not use the other
    rows of the batch as negatives (see ``TrainConfig.length_grouping``).
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator=None,
        seed: int = 0,
        *,
        mega_batches: int = 50,
    ) -> None:
        super().__init__(
            dataset,
            batch_size=batch_size,
            drop_last=drop_last,
            valid_label_columns=valid_label_columns,
            generator=generator,
            seed=seed,
        )
        self.mega_batches = max(1, int(mega_batches))
        self.lengths = row_lengths(dataset, valid_label_columns)

    def _batches(self) -> list[list[int]]:
        import torch

        generator = torch.Generator()
        generator.manual_seed(int(self.seed or 0) + int(self.epoch))
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        lengths = self.lengths
        size = self.batch_size
        mega = size * self.mega_batches
        batches: list[list[int]] = []
        for start in range(0, len(order), mega):
            chunk = sorted(order[start : start + mega], key=lambda i: -lengths[i])
            batches += [chunk[j : j + size] for j in range(0, len(chunk), size)]
        if self.drop_last:
            batches = [batch for batch in batches if len(batch) == size]
        shuffled = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[i] for i in shuffled]

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._batches()

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.lengths) // self.batch_size
        return -(-len(self.lengths) // self.batch_size)


def row_lengths(dataset, label_columns: list[str] | None = None) -> list[int]:
    """Characters in the text columns of each row (the length ``LengthGroupedBatchSampler`` groups by)."""
    skip = set(label_columns or ()) | {"dataset_name"}
    columns = [c for c in dataset.column_names if c not in skip]
    lengths = [0] * len(dataset)
    for column in columns:
        values = dataset[column]
        if not len(values) or not isinstance(values[0], str):
            continue
        for i, value in enumerate(values):
            lengths[i] += len(value) if isinstance(value, str) else 0
    return lengths
