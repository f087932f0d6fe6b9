"""The torch-free model registry must describe the real networks exactly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from segviewer.core import model_registry
from segviewer.core.models import MODELS, model_summary


def test_registry_lists_every_network_and_only_those():
    assert {info.family for info in model_registry.MODELS.values()} <= set(MODELS)
    assert set(MODELS) <= set(model_registry.MODELS)
    assert model_registry.DEFAULT_MODEL in model_registry.MODELS


@pytest.mark.parametrize("name", list(model_registry.MODELS))
@pytest.mark.parametrize("classes", [11, 19, 41])
def test_parameter_counts_match_the_networks(name, classes):
    info = model_registry.MODELS[name]
    real = model_summary(info.family, classes, **dict(info.options))
    assert info.parameters(classes) == real["parameters"]
    if classes == 19:
        assert info.gflops_360x640 == pytest.approx(real["gflops_360x640"], abs=1e-3)


def test_titles_are_the_ones_people_read():
    assert model_registry.model_title("segnet-basic") == "SegNet Basic"
    assert model_registry.model_title("not-a-model") == "not-a-model"
    assert model_registry.format_parameters(482_739) == "483 k parameters"
    assert model_registry.format_parameters(29_481_299) == "29.5 M parameters"


def test_reading_the_registry_does_not_import_torch():
    code = "import sys, segviewer.core.model_registry as r; r.model_names(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
