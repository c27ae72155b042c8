"""Exported backbones that timm, segmentation-models-pytorch, torchvision, detectron2 and MONAI load as-is.

- :class:`ExportSpec`: what an export is (architecture, input, statistics, provenance); reads and
  writes ``config.json``. Read it once per command and pass it on.
- :func:`export_backbone`: timm local-dir folder (``config.json`` + ``model.safetensors`` + ``README.md``).
- :func:`export_monai`: MONAI 3D ResNet state dict + constructor call.
- :func:`export_detectron2`: ``.pkl`` for detectron2 ResNets (MoCo convention) + config note.
- :func:`export_run`: any of the above from a run directory's checkpoint.
- :func:`load_backbone`: rebuild an export strictly, adapting the stem 1 → N / N → 1 when asked.
"""

from domainssl.export.detectron2 import export_detectron2, to_detectron2
from domainssl.export.load import load_backbone
from domainssl.export.monai_state import export_monai, load_monai_backbone
from domainssl.export.run import export_run
from domainssl.export.spec import ExportSpec
from domainssl.export.stem import adapt_stem_weight
from domainssl.export.timm_folder import export_backbone

__all__ = [
    "ExportSpec",
    "adapt_stem_weight",
    "export_backbone",
    "export_detectron2",
    "export_monai",
    "export_run",
    "load_backbone",
    "load_monai_backbone",
    "to_detectron2",
]
