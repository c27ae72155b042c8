"""Label subsets, batch order and flips are reproducible and depend only on counts and the seed."""

import numpy as np

from domainssl.data.sampling import batch_schedule, flip_draws, subset_indices


def test_label_subset_is_reproducible_nested_and_seed_dependent():
    a, b = subset_indices(1000, 0.1, seed=3), subset_indices(1000, 0.1, seed=3)
    assert np.array_equal(a, b) and len(a) == 100 and len(np.unique(a)) == 100
    assert not np.array_equal(a, subset_indices(1000, 0.1, seed=4))
    assert set(subset_indices(1000, 0.01, seed=3)) <= set(a)  # 1 % inside 10 %
    assert len(subset_indices(50, 0.001, seed=0)) == 1  # never empty


def test_stratified_subset_keeps_every_class():
    labels = np.repeat(np.arange(5), 40)  # 200 frames, 5 classes
    picks = subset_indices(200, 0.01, seed=0, labels=labels)
    assert sorted(labels[picks].tolist()) == [0, 1, 2, 3, 4]
    picks = subset_indices(200, 0.5, seed=0, labels=labels)
    assert np.bincount(labels[picks]).tolist() == [20] * 5


def test_batch_order_and_flips_depend_only_on_the_seed():
    one = [idx.tolist() for _, idx in batch_schedule(10, 4, 7, seed=5)]
    two = [idx.tolist() for _, idx in batch_schedule(10, 4, 7, seed=5)]
    assert one == two and len(one) == 7 and all(len(b) == 4 for b in one)
    assert one != [idx.tolist() for _, idx in batch_schedule(10, 4, 7, seed=6)]
    epoch = sum(one[:2], [])  # two full batches of one epoch: no repeats
    assert len(set(epoch)) == 8
    assert np.array_equal(flip_draws(5, 3, 16), flip_draws(5, 3, 16))
    assert [len(b) for _, b in batch_schedule(3, 8, 2, seed=0)] == [3, 3]  # subset smaller than a batch
