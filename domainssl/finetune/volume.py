"""Volume segmentation (CT / MRI): 2.5D smp UNet on slabs, or a 3D UNet over the MONAI ResNet export; Dice.

Data: a split folder holds ``images/NAME.nii.gz`` and ``labels/NAME.nii.gz`` (same names; DICOM series
folders work for images too). Image and label go through the same ``Orientation("RAS")`` and
``Spacing`` (bilinear / nearest), the modality's intensity step (CT window, MRI z-score), a crop to the
body's bounding box and zero padding to at least ``data.patch_size`` per axis; the image is then
standardised with the modality's mean/std. The synthetic phantoms of
:mod:`domainssl.data.synthetic.volumes` (tissue maps as labels) are the default data.

* ``modality.volume_mode: 2.5d``: k adjacent axial slices are the channels of a 2D timm backbone
  (smp ``Unet("tu-<arch>")``, the same network as ToF segmentation) predicting the centre slice; at test
  time every axial slice is predicted and the slices are stacked into a volume.
* ``modality.volume_mode: 3d``: :class:`ResNetUNet3D` = the exported MONAI 3D ResNet as the encoder
  (loaded strictly) + MONAI's ``UNetDecoder`` and ``SegmentationHead`` (the parts FlexibleUNet is built
  from; FlexibleUNet's own ResNet encoder has other downsample/bias settings than the export, so its keys
  do not match). Training on random crops, test by ``sliding_window_inference``.

Metric: mean Dice over the foreground classes and test volumes (MONAI ``DiceMetric``,
``include_background=False``), computed on whole volumes; per-class Dice too.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.inferers import sliding_window_inference
from monai.metrics import DiceMetric
from monai.networks.nets.flexible_unet import SegmentationHead, UNetDecoder
from monai.transforms import Orientation, Spacing, SpatialCrop, SpatialPad
from monai.transforms.utils import generate_spatial_bounding_box
from monai.utils import convert_to_numpy

from domainssl.data.labelled import SPLITS, Split, split_folders
from domainssl.data.synthetic.splits import SPLIT_SEEDS
from domainssl.errors import ConfigError, InvalidInputError
from domainssl.export import load_backbone
from domainssl.export.spec import ExportSpec
from domainssl.finetune.config import FinetuneRecipe
from domainssl.finetune.segmentation import build_unet
from domainssl.finetune.task import Task
from domainssl.modalities.base import Modality
from domainssl.modalities.volume_io import load_volume
from domainssl.models import create_backbone


def volume_task(recipe: FinetuneRecipe) -> Task:
    """The 2.5D or 3D volume task, by ``modality.volume_mode`` (default 2.5d)."""
    return VolumeSegmentation3D(recipe) if recipe.modality.volume_mode == "3d" else VolumeSegmentation2p5D(recipe)


# ---------------------------------------------------------------------------------------- data


def prepare_pair(modality: Modality, image_path: Path, label_path: Path, min_size: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Image (1, X, Y, Z) float32 (modality intensity step, not yet standardised) and label (X, Y, Z) int64.

    Both are reoriented to RAS, resampled to ``modality.options.spacing`` (label: nearest), cropped to the
    body's bounding box and zero-padded to at least ``min_size`` voxels per axis. Also returns the
    cropped (unpadded) shape, over which Dice is computed.

    Raises:
        InvalidInputError: unreadable files, or image and label grids that differ.
    """
    image = modality.orient_resample(load_volume(image_path))
    label = Orientation(axcodes="RAS")(load_volume(label_path))
    if modality.options.spacing is not None:
        label = Spacing(pixdim=modality.options.spacing, mode="nearest")(label)
    if tuple(image.shape) != tuple(label.shape):
        raise InvalidInputError(f"{label_path}: label grid {tuple(label.shape[1:])} differs from image "
                                f"{tuple(image.shape[1:])} after resampling; labels must share the image's geometry")
    mask = modality.foreground(image)  # 1 x X x Y x Z bool
    if not mask.any():
        raise InvalidInputError(f"{image_path}: {modality.no_foreground_hint}")
    image = modality.normalise(image, mask)
    start, end = generate_spatial_bounding_box(torch.as_tensor(mask))
    crop, pad = SpatialCrop(roi_start=start, roi_end=end), SpatialPad([min_size] * 3, method="end")
    image = crop(torch.as_tensor(convert_to_numpy(image, dtype=np.float32)))
    label = crop(torch.as_tensor(convert_to_numpy(label, dtype=np.float32)))
    shape = tuple(image.shape[1:])
    image, label = pad(image), pad(label)
    return (convert_to_numpy(image, dtype=np.float32),
            np.rint(convert_to_numpy(label)[0]).astype(np.int64), shape)


def volume_pairs(folder: Path) -> list[tuple[Path, Path]]:
    """``(image, label)`` paths of a split: ``images/*`` matched by name with ``labels/*``."""
    images_dir, labels_dir = folder / "images", folder / "labels"
    if not images_dir.is_dir() or not labels_dir.is_dir():
        raise InvalidInputError(f"{folder}: expected images/ and labels/ subfolders (same file names); see the recipe header")
    pairs = []
    for image in sorted(images_dir.iterdir()):
        label = labels_dir / image.name
        if not label.exists():
            raise InvalidInputError(f"{label}: missing; every image in {images_dir} needs a label map of the same name")
        pairs.append((image, label))
    if not pairs:
        raise InvalidInputError(f"{images_dir}: no volumes")
    return pairs


def load_volume_splits(recipe: FinetuneRecipe, modality: Modality, fit_stats: bool) -> dict[str, Split | None]:
    """Train / val / test volume splits: ``images`` is a list of standardised (C0, X, Y, Z) arrays, C0 = 1."""
    d = recipe.data
    if d.path:
        folders = split_folders(d.path)
        names = None
    else:
        from domainssl.data.synthetic import volumes
        from domainssl.paths import cache_dir

        sizes = {"train": d.train_frames, "val": d.val_frames, "test": d.test_frames}
        folders = {}
        for split in SPLITS:
            if sizes[split] > 0:
                seed, side = d.seed + SPLIT_SEEDS[split], d.volume_size
                folder = cache_dir() / f"finetune_{modality.name}_{side}cubed_n{sizes[split]}_seed{seed}"
                volumes.write_synthetic_volumes(modality.name, folder, sizes[split], (side,) * 3, seed)
                folders[split] = folder
        names = volumes.CT_TISSUES if modality.name == "ct" else volumes.MRI_TISSUES
    prepared = {}
    for split in SPLITS:
        if folders.get(split) is not None:
            pairs = volume_pairs(folders[split])
            prepared[split] = ([prepare_pair(modality, i, l, d.patch_size) for i, l in pairs], [str(i) for i, _ in pairs])
    if fit_stats:
        modality.fit_stats([image for image, _, _ in prepared["train"][0]])
    mean, std = float(modality.options.mean[0]), float(modality.options.std[0])
    num_classes = 1 + max(int(label.max()) for items, _ in prepared.values() for _, label, _ in items)
    names = list(names) if names is not None else [f"class_{k}" for k in range(num_classes)]
    splits: dict[str, Split | None] = {s: None for s in SPLITS}
    for split, (items, files) in prepared.items():
        images = [(image - mean) / std for image, _, _ in items]
        targets = [{"label": label, "shape": shape} for _, label, shape in items]
        splits[split] = Split(images, targets, names, files)
    return splits


# ---------------------------------------------------------------------------------------- models


class ResNetUNet3D(nn.Module):
    """A MONAI 3D ResNet encoder (as exported) + MONAI ``UNetDecoder`` + ``SegmentationHead``.

    The encoder's five feature maps (stem, layer1..4; strides 2, 4, 4-8, 8-16, 16-32 with the stride-2 stem
    and max-pool) feed the decoder like MONAI's FlexibleUNet does with its own ResNet encoder.
    Shape: N x C x D x H x W -> N x K x D x H x W logits.
    """

    def __init__(self, encoder: nn.Module, num_classes: int, decoder_channels=(256, 128, 64, 32, 16)) -> None:
        super().__init__()
        self.encoder = encoder
        channels = [encoder.conv1.out_channels] + [_out_channels(getattr(encoder, f"layer{i}")) for i in range(1, 5)]
        self.decoder = UNetDecoder(
            spatial_dims=3, encoder_channels=(encoder.conv1.in_channels, *channels), decoder_channels=tuple(decoder_channels),
            act=("relu", {"inplace": True}), norm=("batch", {"eps": 1e-3, "momentum": 0.1}), dropout=0.0, bias=False,
            upsample="nontrainable", pre_conv="default", interp_mode="nearest", align_corners=None, is_pad=True,
        )
        self.head = SegmentationHead(spatial_dims=3, in_channels=decoder_channels[-1], out_channels=num_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The encoder's pyramid, as ``monai.networks.nets.resnet.ResNetFeatures.forward`` computes it."""
        e = self.encoder
        x = e.act(e.bn1(e.conv1(x)))  # N x 64 x D/2 ...
        features = [x]
        if not e.no_max_pool:
            x = e.maxpool(x)
        for layer in (e.layer1, e.layer2, e.layer3, e.layer4):
            x = layer(x)
            features.append(x)
        return features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[2:]
        out = self.head(self.decoder([x, *self.features(x)], skip_connect=4))
        return out if out.shape[2:] == size else F.interpolate(out, size=size, mode="trilinear")  # N x K x D x H x W


def _out_channels(layer: nn.Module) -> int:
    norms = [m for m in layer.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    return norms[-1].num_features


# ---------------------------------------------------------------------------------------- tasks


class _VolumeTask(Task):
    headline = "dice"

    def load_splits(self, modality: Modality, fit_stats: bool) -> dict[str, Split | None]:
        self.in_chans = modality.in_chans
        return load_volume_splits(self.recipe, modality, fit_stats)

    def loss(self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(model(inputs).float(), targets)

    def _crop_box(self, shape: tuple, rng: np.random.Generator, dims: int) -> tuple[slice, ...]:
        p = self.recipe.data.patch_size
        return tuple(slice(s, s + p) for s in (int(rng.integers(0, n - p + 1)) for n in shape[:dims]))

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: Split, device: torch.device) -> dict[str, float]:
        k = len(split.class_names)
        dice = DiceMetric(include_background=False, reduction="mean_batch", ignore_empty=True)
        model.eval()
        for image, target in zip(split.images, split.targets):
            pred = self.predict(model, image, device)  # X x Y x Z
            x, y, z = target["shape"]
            pred = torch.from_numpy(pred[:x, :y, :z])
            truth = torch.from_numpy(target["label"][:x, :y, :z])
            dice(F.one_hot(pred, k).permute(3, 0, 1, 2)[None], F.one_hot(truth, k).permute(3, 0, 1, 2)[None])
        per_class = dice.aggregate().cpu()  # K - 1, NaN where a class never occurs
        out = {"dice": float(torch.nanmean(per_class))}
        out.update({f"dice_{name}": float(v) for name, v in zip(split.class_names[1:], per_class.tolist())})
        return out

    @abstractmethod
    def predict(self, model: nn.Module, image: np.ndarray, device: torch.device) -> np.ndarray:
        """Class map (X, Y, Z) int64 of one standardised volume (1, X, Y, Z)."""


class VolumeSegmentation2p5D(_VolumeTask):
    """k-slice slabs (channels) -> the centre slice's classes, with the 2D segmentation UNet."""

    def build_model(self, arch: str, in_chans: int, num_classes: int, weights: ExportSpec | Path | None) -> nn.Module:
        return build_unet(arch, in_chans, num_classes, weights, self.recipe.model.decoder_channels)

    def encoder(self, model: nn.Module) -> nn.Module:
        return model.encoder.model  # the timm features_only model inside smp's encoder

    def batch(self, split: Split, indices: np.ndarray, step: int, device: torch.device):
        images, labels = [], []
        for position, i in enumerate(indices):
            rng = np.random.default_rng([self.recipe.train.seed, 0x25D, step, position])
            volume, label = split.images[i][0], split.targets[i]["label"]  # X x Y x Z each
            z = int(rng.integers(0, volume.shape[2]))
            box = self._crop_box(volume.shape, rng, 2)
            slab = slabs(volume, [z], self.in_chans)[0][:, box[0], box[1]]  # k x P x P
            target = label[box[0], box[1], z]  # P x P
            if self.recipe.train.hflip and rng.random() < 0.5:
                slab, target = slab[:, ::-1], target[::-1]
            images.append(np.ascontiguousarray(slab))
            labels.append(np.ascontiguousarray(target))
        return torch.from_numpy(np.stack(images)).to(device), torch.from_numpy(np.stack(labels)).to(device)

    def predict(self, model: nn.Module, image: np.ndarray, device: torch.device) -> np.ndarray:
        volume = image[0]  # X x Y x Z
        bs = self.recipe.train.eval_batch_size
        preds = []
        for start in range(0, volume.shape[2], bs):
            zs = list(range(start, min(start + bs, volume.shape[2])))
            batch = torch.from_numpy(slabs(volume, zs, self.in_chans)).to(device)  # B x k x X x Y
            preds.append(model(batch).argmax(1).cpu().numpy())  # B x X x Y
        return np.concatenate(preds).transpose(1, 2, 0)  # X x Y x Z


def slabs(volume: np.ndarray, centres: list[int], k: int) -> np.ndarray:
    """Axial slabs of ``k`` adjacent slices around each centre, edge slices repeated: float32 (B, k, X, Y)."""
    offsets = np.arange(k) - k // 2
    index = np.clip(np.asarray(centres)[:, None] + offsets[None], 0, volume.shape[2] - 1)  # B x k
    return np.ascontiguousarray(volume[:, :, index].transpose(2, 3, 0, 1)).astype(np.float32)


ENCODER_STRIDE_3D = 32  # strided conv1 (2) x max-pool (2) x layers 2-4 (8)


class VolumeSegmentation3D(_VolumeTask):
    """Random 3D crops -> voxel classes with :class:`ResNetUNet3D`; sliding-window inference at test time."""

    spatial_dims = 3

    def build_model(self, arch: str, in_chans: int, num_classes: int, weights: ExportSpec | Path | None) -> nn.Module:
        patch = self.recipe.data.patch_size
        if patch % ENCODER_STRIDE_3D:
            raise ConfigError(f"data.patch_size: {patch} must be a multiple of {ENCODER_STRIDE_3D} (the 3D ResNet "
                              f"downsamples {ENCODER_STRIDE_3D}x, and the decoder's skips must line up); "
                              f"try {max(ENCODER_STRIDE_3D, patch // ENCODER_STRIDE_3D * ENCODER_STRIDE_3D)}")
        encoder = load_backbone(weights, in_chans=in_chans) if weights is not None else create_backbone(arch, in_chans, spatial_dims=3)
        return ResNetUNet3D(encoder, num_classes, self.recipe.model.decoder_channels)

    def encoder(self, model: nn.Module) -> nn.Module:
        return model.encoder

    def batch(self, split: Split, indices: np.ndarray, step: int, device: torch.device):
        images, labels = [], []
        for position, i in enumerate(indices):
            rng = np.random.default_rng([self.recipe.train.seed, 0x3D, step, position])
            volume, label = split.images[i], split.targets[i]["label"]
            box = self._crop_box(label.shape, rng, 3)
            crop, target = volume[(slice(None), *box)], label[box]  # 1 x P x P x P, P x P x P
            if self.recipe.train.hflip and rng.random() < 0.5:
                crop, target = crop[:, ::-1], target[::-1]  # left-right (RAS x axis)
            images.append(np.ascontiguousarray(crop))
            labels.append(np.ascontiguousarray(target))
        return torch.from_numpy(np.stack(images)).to(device), torch.from_numpy(np.stack(labels)).to(device)

    def predict(self, model: nn.Module, image: np.ndarray, device: torch.device) -> np.ndarray:
        p = self.recipe.data.patch_size
        x = torch.from_numpy(image)[None].to(device)  # 1 x 1 x X x Y x Z
        logits = sliding_window_inference(x, (p, p, p), sw_batch_size=self.recipe.train.eval_batch_size,
                                          predictor=model, overlap=0.25)
        return logits.argmax(1)[0].cpu().numpy()  # X x Y x Z
