"""Fine-tuning recipes on exported backbones: segmentation, detection, classification, volume segmentation.

- :func:`finetune`: recipe + export (or random init) -> held-out metrics, ``OUT/metrics.json``, ``OUT/model.pt``.
- :class:`FinetuneRecipe`: ``FinetuneRecipe.load(path, overrides)`` reads and validates ``recipes/finetune/*.yaml``.

Each task builds on a well-kept library: smp UNet (segmentation, 2.5D volumes), torchvision Faster R-CNN
+ FPN (detection), a linear head (classification), MONAI UNetDecoder (3D volumes); metrics come from
torchmetrics and MONAI.
"""

from domainssl.finetune.config import FinetuneRecipe
from domainssl.finetune.run import finetune

__all__ = ["FinetuneRecipe", "finetune"]
