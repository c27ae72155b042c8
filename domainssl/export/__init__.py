"""Exported backbones that timm, segmentation-models-pytorch, torchvision, detectron2 and MONAI load as-is.

- :func:`export_backbone`: timm local-dir folder (``config.json`` + ``model.safetensors`` + ``README.md``).
- :func:`export_monai`: MONAI 3D ResNet state dict + constructor call.
- :func:`export_detectron2`: ``.pkl`` for detectron2 ResNets (MoCo convention) + config note.
- :func:`export_run`: any of the above from a run directory's checkpoint.
- :func:`load_backbone`: rebuild an export strictly, adapting the stem 1 → N / N → 1 when asked.
"""

from domainssl.export.detectron2 import export_detectron2, to_detectron2
from domainssl.export.load import adapt_stem_weight, load_backbone
from domainssl.export.monai_state import export_monai, load_monai_backbone
from domainssl.export.run import export_run
from domainssl.export.timm_folder import export_backbone

__all__ = [
    "adapt_stem_weight",
    "export_backbone",
    "export_detectron2",
    "export_monai",
    "export_run",
    "load_backbone",
    "load_monai_backbone",
    "to_detectron2",
]
