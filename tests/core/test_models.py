"""The networks: shapes for any input size, training signal, architecture facts, registry, CLI."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from segviewer.cli import main
from segviewer.core.errors import UserError
from segviewer.core.models import (
    MODEL_TITLES,
    MODELS,
    PretrainedWeightsError,
    build_model,
    count_parameters,
    gflops,
    load_vgg16_bn,
    model_summary,
)
from segviewer.core.models.segnet import vgg16_bn_conv_indices

# Small variants where the architecture has a width option; SegNet has none (it is VGG16).
TINY = {
    "segnet": {},
    "segnet-basic": {"width": 8, "kernel": 3},
    "unet": {"widths": [4, 8, 8, 8, 8]},
    "ulite": {"widths": [4, 8, 8, 8]},
    "ulite-deep": {"widths": [4, 8, 8, 8, 8]},
}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("size", [(37, 53), (32, 32)])
def test_output_has_input_size_and_class_count(name, size):
    model = build_model(name, 5, **TINY[name]).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, *size))
    assert out.shape == (1, 5, *size)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", list(MODELS))
def test_paper_size_360x640_on_meta_device(name):
    """Shapes only (no arithmetic): every model takes the paper's 360x640 and returns it."""
    with torch.device("meta"):
        model = build_model(name, 19).eval()
        out = model(torch.empty(2, 3, 360, 640))
    assert out.shape == (2, 19, 360, 640)


@pytest.mark.parametrize("name", ["segnet-basic", "unet", "ulite", "ulite-deep"])
def test_one_training_step_changes_every_layer(name):
    model = build_model(name, 4, **TINY[name]).train()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(2, 3, 20, 28), torch.randint(0, 4, (2, 20, 28))
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    opt.step()
    unchanged = [k for k, v in model.named_parameters() if torch.equal(v, before[k])]
    assert unchanged == []


def test_segnet_backward_reaches_first_layer():
    model = build_model("segnet", 3).train()
    out = model(torch.randn(2, 3, 32, 32))
    nn.functional.cross_entropy(out, torch.randint(0, 3, (2, 32, 32))).backward()
    first = model.encoders[0][0][0]
    assert first.weight.grad is not None and first.weight.grad.abs().sum() > 0


def test_segnet_is_vgg16_encoder_with_index_unpooling():
    model = build_model("segnet", 19)
    encoder_convs = [m for m in model.encoders.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in encoder_convs] == [
        64,
        64,
        128,
        128,
        256,
        256,
        256,
        512,
        512,
        512,
        512,
        512,
        512,
    ]
    assert all(c.kernel_size == (3, 3) for c in encoder_convs)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.encoders.modules()) == 13
    assert any(isinstance(m, nn.MaxUnpool2d) for m in model.modules())
    assert not any(isinstance(m, nn.ConvTranspose2d | nn.Upsample) for m in model.modules())
    decoder_convs = [m for m in model.decoders.modules() if isinstance(m, nn.Conv2d)]
    assert len(decoder_convs) == 13 and decoder_convs[-1].out_channels == 64
    assert model.classifier.kernel_size == (1, 1) and model.classifier.out_channels == 19


def test_segnet_basic_decoder_is_linear():
    model = build_model("segnet-basic", 11)
    assert not any(isinstance(m, nn.ReLU) for m in model.decoders.modules())
    assert sum(isinstance(m, nn.ReLU) for m in model.encoders.modules()) == 4
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(7, 7)] * 8 + [(1, 1)]
    assert all(c.out_channels == 64 for c in convs[:8])
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.decoders.modules()) == 4
    assert any(isinstance(m, nn.MaxUnpool2d) for m in model.modules())


def test_unet_and_ulite_structure():
    unet = build_model("unet", 2)
    assert [t.in_channels for t in unet.modules() if isinstance(t, nn.ConvTranspose2d)] == [
        1024,
        512,
        256,
        128,
    ]
    assert sum(isinstance(m, nn.MaxPool2d) for m in unet.modules()) == 1 and unet.multiple == 16
    ulite = build_model("ulite", 2)
    assert len(ulite.encoders) == 3 and len(ulite.decoders) == 3 and ulite.multiple == 8
    assert sum(isinstance(m, nn.BatchNorm2d) for m in ulite.modules()) == 14  # 7 steps x 2 convs
    plain = build_model("unet", 2, base=4, batch_norm=False)
    assert plain.options["batch_norm"] is False
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())


def test_ulite_deep_pools_once_more_and_sees_twice_as_far_at_no_more_flops():
    paper, deep = build_model("ulite", 2), build_model("ulite-deep", 2)
    assert len(deep.encoders) == 4 and len(deep.decoders) == 4 and deep.multiple == 16
    assert deep.widths == (16, 32, 64, 64, 96)
    assert gflops(deep, 128, 224) <= gflops(paper, 128, 224)  # the default training size

    def receptive_field(model: nn.Module) -> int:
        x = torch.randn(1, 3, 320, 320, requires_grad=True)
        model.eval()(x)[0, 0, 160, 160].backward()
        rows = torch.nonzero(x.grad.abs().sum((0, 1)).sum(1) > 0)
        return int(rows.max() - rows.min() + 1)

    assert receptive_field(deep) >= 2 * receptive_field(paper) - 4


def test_parameter_counts_are_the_published_sizes():
    with torch.device("meta"):
        counts = {name: count_parameters(build_model(name, 19)) for name in MODELS}
    assert counts["segnet"] == 29_481_299  # ~29.4 M: VGG16's 14.7 M twice plus the classifier
    assert 30.9e6 < counts["unet"] < 31.1e6  # U-Net at base 64 is ~31 M
    assert 1.3e6 < counts["segnet-basic"] < 1.5e6
    assert counts["ulite"] < 1e6
    with torch.device("meta"):
        assert count_parameters(build_model("ulite", 19)) == counts["ulite"]  # deterministic


def test_gflops_counts_multiply_adds_twice_on_the_padded_size():
    model = build_model("segnet-basic", 2, width=8, kernel=3)
    # multiply-adds per layer at 16x16 (pixels x out channels x in channels x 9), counted by hand:
    encoders = 256 * 8 * 27 + 64 * 8 * 72 + 16 * 8 * 72 + 4 * 8 * 72
    decoders = 4 * 8 * 72 + 16 * 8 * 72 + 64 * 8 * 72 + 256 * 8 * 72
    classifier = 256 * 2 * 8
    assert gflops(model, 16, 16) == pytest.approx(2 * (encoders + decoders + classifier) / 1e9)
    assert gflops(model, 13, 15) == gflops(model, 16, 16)  # padded to 16x16 before computing
    assert model.training  # the mode is restored
    # a 2x2 stride-2 up-convolution: each of the 16x16x4 outputs sums 3 inputs
    assert gflops(nn.ConvTranspose2d(3, 4, 2, stride=2), 8, 8) == pytest.approx(2 * 16 * 16 * 4 * 3 / 1e9)


def test_build_model_options_round_trip():
    model = build_model("ulite", 6, widths=(8, 16, 16, 32))
    assert model.name == "ulite" and json.loads(json.dumps(model.options)) == model.options
    again = build_model(model.name, 6, **model.options)
    assert [p.shape for p in again.parameters()] == [p.shape for p in model.parameters()]
    assert build_model("unet", 3, base=8).options["widths"] == [8, 16, 32, 64, 128]


def test_unknown_name_and_bad_options_are_user_errors():
    with pytest.raises(UserError, match="segnet, segnet-basic, unet, ulite"):
        build_model("deeplab", 19)
    with pytest.raises(UserError, match="no option 'depth'.*widths"):
        build_model("ulite", 19, depth=3)
    with pytest.raises(UserError, match="4 positive channel counts"):
        build_model("ulite", 19, widths=[16, 32])
    with pytest.raises(UserError, match="odd kernel"):
        build_model("segnet-basic", 19, kernel=4)


def test_channels_last_and_autocast():
    model = (
        build_model("segnet-basic", 3, **TINY["segnet-basic"]).eval().to(memory_format=torch.channels_last)
    )
    x = torch.randn(1, 3, 21, 30).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        plain = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = model(x)
    assert plain.shape == mixed.shape == (1, 3, 21, 30)
    assert torch.allclose(plain, mixed.float(), atol=0.2, rtol=0.1)


def _fake_vgg16_bn(path, bad_key=False):
    model = build_model("segnet", 3)
    state = {}
    for (conv, bn), n in zip(model.encoder_convs(), vgg16_bn_conv_indices(), strict=True):
        state[f"features.{n}.weight"] = torch.full_like(conv.weight, 0.5)
        state[f"features.{n}.bias"] = torch.full_like(conv.bias, 0.25)
        for name in ("weight", "bias", "running_mean", "running_var"):
            state[f"features.{n + 1}.{name}"] = torch.full_like(getattr(bn, name), 2.0)
        state[f"features.{n + 1}.num_batches_tracked"] = torch.tensor(7)
    state["classifier.0.weight"] = torch.zeros(2, 2)
    if bad_key:
        del state["features.40.weight"]
    torch.save(state, path)
    return model


def test_load_vgg16_bn_from_local_file(tmp_path):
    model = _fake_vgg16_bn(tmp_path / "vgg.pth")
    load_vgg16_bn(model, tmp_path / "vgg.pth")
    conv, bn = model.encoder_convs()[12]
    assert conv.weight.eq(0.5).all() and conv.bias.eq(0.25).all() and bn.running_var.eq(2.0).all()
    assert not model.classifier.weight.eq(0.5).all()  # decoder and classifier untouched


def test_load_vgg16_bn_rejects_foreign_files(tmp_path):
    model = _fake_vgg16_bn(tmp_path / "broken.pth", bad_key=True)
    with pytest.raises(PretrainedWeightsError, match=r"broken\.pth.*missing features\.40\.weight"):
        load_vgg16_bn(model, tmp_path / "broken.pth")
    (tmp_path / "text.pth").write_text("not weights")
    with pytest.raises(PretrainedWeightsError, match=r"text\.pth: not a readable"):
        model.load_vgg16_bn(tmp_path / "text.pth")
    with pytest.raises(PretrainedWeightsError, match="file not found"):
        load_vgg16_bn(model, tmp_path / "absent.pth")


def test_model_summary_and_cli_json(capsys):
    summary = model_summary("ulite", 19)
    assert set(summary) == {"name", "title", "parameters", "gflops_360x640"}
    assert main(["models", "--json", "--classes", "11"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(MODELS)
    assert all(set(r) == {"name", "title", "parameters", "gflops_360x640"} for r in rows)
    assert {r["name"]: r["title"] for r in rows} == MODEL_TITLES
    by_name = {r["name"]: r for r in rows}
    assert by_name["segnet"]["parameters"] == 29_481_299 - 8 * 64 - 8  # 11 instead of 19 classes
    assert by_name["ulite"]["gflops_360x640"] < by_name["segnet-basic"]["gflops_360x640"]


def test_cli_table(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "SegNet Basic" in out and "29.48 M" in out and "GFLOPs/360x640" in out
    assert main(["models", "--classes", "0"]) == 2
