import copy
import dataclasses
import typing

import pytest
import torch

from domainssl.errors import ConfigError
from domainssl.methods import get_method_class, list_methods
from domainssl.methods.moco import MoCoOptions
from domainssl.models import create_backbone
from domainssl.options import build_options

# (registry name, options); MoCo appears once per version
CASES = [
    ("byol", None),
    ("simsiam", None),
    ("simclr", None),
    ("moco", MoCoOptions(version=2, queue_size=64)),
    ("moco", MoCoOptions(version=3)),
]
IDS = ["byol", "simsiam", "simclr", "moco_v2", "moco_v3"]


def _views(n=8, shape=(1, 32, 32), seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, *shape, generator=g)
    v1 = x + 0.1 * torch.randn(x.shape, generator=g)
    v2 = x.flip(-1) + 0.1 * torch.randn(x.shape, generator=g)
    return [v1, v2]


def _build(name, options, backbone):
    return get_method_class(name)(backbone, backbone.num_features, copy.deepcopy(options))


def test_all_four_methods_are_registered_with_their_contract():
    assert {"byol", "moco", "simclr", "simsiam"} <= set(list_methods())
    for name in ("byol", "moco", "simclr", "simsiam"):
        cls = get_method_class(name)
        assert cls.name == name and cls.num_views == 2
        assert cls.default_optimizer in ("sgd", "adamw", "lars") and cls.base_lr > 0
        options = build_options(cls.Options, {}, "method")  # every hint is one the config can read
        assert options == cls.Options()
        hints = typing.get_type_hints(cls.Options)
        assert [f.name for f in dataclasses.fields(cls.Options)] == list(hints)


def test_options_are_validated_by_the_config():
    with pytest.raises(ConfigError, match="method.version"):
        build_options(MoCoOptions, {"version": 4}, "method")
    assert build_options(MoCoOptions, {"version": 3, "out_dim": None}, "method").version == 3
    with pytest.raises(ValueError, match="method.temperature"):
        build_options(get_method_class("simclr").Options, {"temperature": 0}, "method")


def test_momentum_start_per_method(tiny_backbone):
    starts = {i: _build(n, o, tiny_backbone()).momentum_start for i, (n, o) in zip(IDS, CASES)}
    assert starts == {"byol": 0.996, "simsiam": None, "simclr": None, "moco_v2": 0.99, "moco_v3": 0.99}


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_loss_falls_over_ten_steps_on_a_repeated_batch(name, options, tiny_backbone):
    torch.manual_seed(0)
    method = _build(name, options, tiny_backbone())
    views = _views()
    queue_start = copy.deepcopy(method.queue.state_dict()) if hasattr(method, "queue") else None
    optimizer = torch.optim.SGD(method.param_groups(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(10):
        if queue_start is not None:  # fixed negatives: the same batch would otherwise fill the queue
            method.queue.load_state_dict(queue_start)
        out = method(views)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        method.update_target(0.99)
        losses.append(float(out.loss.detach()))
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0] - 0.03 * abs(losses[0]), losses


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_output_shapes_and_3d_views(name, options, tiny_backbone):
    method = _build(name, options, tiny_backbone(spatial_dims=3))
    out = method(_views(n=4, shape=(1, 8, 16, 16)))
    expected_dim = {"byol": 256, "simsiam": 16, "simclr": 128, "moco_v2": 128, "moco_v3": 256}
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    assert out.embedding.shape == (4, expected_dim[IDS[CASES.index((name, options))]])
    assert not out.embedding.requires_grad
    with pytest.raises(ValueError, match="expected 2 views, got 3"):
        method(_views() + _views()[:1])


@pytest.mark.parametrize(("name", "options"), [c for c in CASES if c[0] in ("byol", "moco")], ids=["byol", "v2", "v3"])
def test_target_encoder_gets_no_gradient(name, options, tiny_backbone):
    method = _build(name, options, tiny_backbone())
    target = method.target_encoder if name == "byol" else method.key_encoder
    assert all(not p.requires_grad for p in target.parameters())
    method(_views()).loss.backward()
    assert all(p.grad is None for p in target.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.encoder.parameters())


def test_simsiam_gradient_through_the_z_branch_is_zero(tiny_backbone):
    torch.manual_seed(0)
    method = _build("simsiam", None, tiny_backbone())
    method(_views()).loss.backward()
    assert sum(float(p.grad.abs().sum()) for p in method.encoder.parameters()) > 0  # control: gradient flows
    method.zero_grad()
    with torch.no_grad():  # p no longer depends on z: the only path left to the encoder is the z branch
        method.predictor[0].weight.zero_()
    method(_views()).loss.backward()
    for p in [*method.encoder.parameters(), *method.projector.parameters()]:
        assert p.grad is None or torch.count_nonzero(p.grad) == 0


def test_simsiam_predictor_has_a_fixed_lr_group(tiny_backbone):
    method = _build("simsiam", None, tiny_backbone())
    body, predictor = method.param_groups()
    assert predictor["fixed_lr"] is True and "fixed_lr" not in body
    assert {id(p) for p in predictor["params"]} == {id(p) for p in method.predictor.parameters()}
    assert len(body["params"]) + len(predictor["params"]) == len(list(method.parameters()))


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_update_target_at_m0_copies_the_online_network(name, options, tiny_backbone):
    method = _build(name, options, tiny_backbone())
    if method.momentum_start is None:
        before = copy.deepcopy(method.state_dict())
        method.update_target(0.0)  # no target: a no-op
        assert all(torch.equal(v, method.state_dict()[k]) for k, v in before.items())
        return
    target = method.target_encoder if name == "byol" else method.key_encoder
    with torch.no_grad():
        for p in method.encoder.parameters():
            p.add_(1.0)
    method.update_target(1.0)
    assert not torch.equal(next(target.parameters()), next(method.encoder.parameters()))
    method.update_target(0.0)
    for a, b in zip(method.encoder.state_dict().values(), target.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_checkpoint_round_trip_gives_the_same_loss(name, options, tiny_backbone):
    torch.manual_seed(0)
    method = _build(name, options, tiny_backbone())
    method(_views(seed=3)).loss.backward()  # move BN stats and, for MoCo v2, the queue
    method.update_target(0.5)
    state = copy.deepcopy(method.state_dict())
    torch.manual_seed(123)
    fresh = _build(name, options, tiny_backbone())
    fresh.load_state_dict(state, strict=True)
    views = _views(seed=4)
    torch.testing.assert_close(fresh(views).loss, method(views).loss, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_encoder_keys_are_the_timm_backbone_keys(name, options):
    backbone = create_backbone("resnet18", in_chans=1)
    method = _build(name, options, backbone)
    assert method.encoder is backbone
    exported = {k[len("encoder.") :]: v for k, v in method.state_dict().items() if k.startswith("encoder.")}
    own = backbone.state_dict()
    assert list(exported) == list(own)
    assert all(torch.equal(exported[k], own[k]) for k in own)


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_bf16_autocast_step(name, options, tiny_backbone):
    method = _build(name, options, tiny_backbone())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = method(_views(n=4))
    out.loss.backward()
    assert out.loss.dtype == torch.float32 and torch.isfinite(out.loss)
    if hasattr(method, "queue"):
        assert method.queue.keys.dtype == torch.float32 and int(method.queue.ptr) == 4


def test_moco_v2_symmetric_enqueues_both_views_and_v3_must_be_symmetric(tiny_backbone):
    method = _build("moco", MoCoOptions(queue_size=12, symmetric=True), tiny_backbone())
    out = method(_views(n=4))
    out.loss.backward()
    assert torch.isfinite(out.loss) and int(method.queue.ptr) == 8
    method(_views(n=4))
    assert int(method.queue.ptr) == 4  # 16 keys written into 12 rows: wrapped
    with pytest.raises(ValueError, match="always symmetric"):
        MoCoOptions(version=3, symmetric=False)
