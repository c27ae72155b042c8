"""Feature evaluations of backbones: weighted kNN (and BatchNorm recalibration before it)."""
