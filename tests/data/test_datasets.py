import numpy as np
import torch

from domainssl.data.datasets import BadFile, MultiViewDataset, ResumableBatchSampler, collate_views
from domainssl.modalities import get_modality


def test_sampler_resume_reproduces_the_same_batches():
    full = list(ResumableBatchSampler(10, 3, total_batches=8, seed=1))
    resumed = list(ResumableBatchSampler(10, 3, total_batches=8, seed=1, start_batch=5))
    assert resumed == full[5:]
    assert len(full) == 8
    epoch0 = [i for batch in full[:3] for i, _, _ in batch]
    assert len(set(epoch0)) == 9  # no repeats inside an epoch (3 batches of 3, one item dropped)


def test_dataset_views_depend_only_on_seed_and_position(gray16_dir):
    gray = get_modality("gray", mean=[0.5], std=[0.3])
    files = gray.discover([gray16_dir])
    dataset = MultiViewDataset(files, gray, gray.views("byol", 16, 2), seed=3)
    a, b = dataset[(4, 7, 1)], dataset[(4, 7, 1)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], dataset[(4, 8, 1)][0])


def test_unreadable_files_become_bad_file_records(gray16_dir):
    (gray16_dir / "broken.png").write_bytes(b"garbage")
    gray = get_modality("gray", mean=[0.5], std=[0.3])
    files = gray.discover([gray16_dir])
    dataset = MultiViewDataset(files, gray, gray.views("byol", 16, 2), seed=0)
    bad_index = [f.name for f in files].index("broken.png")
    item = dataset[(bad_index, 0, 0)]
    assert isinstance(item, BadFile) and "broken.png" in item.path
    views, bad = collate_views([dataset[(0, 0, 0)], item, dataset[(1, 0, 1)]])
    assert [v.shape for v in views] == [(2, 1, 16, 16)] * 2 and len(bad) == 1
    assert np.isfinite(views[0].numpy()).all()
