"""The benchmark's frozen-backbone probes: the fine-tuning runs' labelled subsets, the CLI probe's numbers."""

from domainssl.evaluate.probe import probe_backbone
from domainssl.export import load_backbone


def test_frozen_probes_match_the_probe_command_on_all_labels(bench, tof_export):
    budget = bench.Budget(backbone="resnet10t", width=64, height=48, train_frames=20, val_frames=0, test_frames=10,
                          fractions={"classification": [0.25, 1.0]}, seeds=[0, 1])
    rows = bench.frozen_probes({"byol": str(tof_export)}, budget)

    def values(init: str, fraction: float) -> list[float]:
        return [r["value"] for r in rows if r["init"] == init and r["fraction"] == fraction]

    for init in ("random", "byol"):
        for kind in ("kNN", "linear"):
            assert len(values(f"{init} frozen {kind}", 0.25)) == len(values(f"{init} frozen {kind}", 1.0)) == 2
    _, train, test = bench.classification_splits(budget)
    assert len(bench.labelled(train, 0.25, 0)) == 5  # one frame per class
    backbone = load_backbone(tof_export)
    for kind in ("knn", "linear"):
        expected = probe_backbone(backbone, train.images, train.targets, test.images, test.targets, kind=kind)
        name = "byol frozen kNN" if kind == "knn" else "byol frozen linear"
        assert values(name, 1.0) == [expected["accuracy"]] * 2  # all labels: the same memory for every seed
