"""ONNX export: ONNX Runtime draws what PyTorch draws, for the shipped generators and any batch size."""

import dataclasses
import json
from pathlib import Path

import onnx
import pytest
import torch

from dcgan_tutorial import (
    PRESETS,
    ConfigError,
    ModelConfig,
    build_generator,
    export,
    generate,
    load_pretrained,
    sample_noise,
)
from dcgan_tutorial.cli import main
from dcgan_tutorial.export import (
    FORMAT,
    OnnxUnavailable,
    describe,
    export_onnx,
    onnx_difference,
    onnx_images,
    weights_in_float16,
)
from dcgan_tutorial.notebook.explorer import orthonormal_directions


@pytest.fixture(scope="module", params=["mnist", "mnist-cond"])
def exported(request, tmp_path_factory):
    G, cfg, _ = load_pretrained(request.param)
    path = export_onnx(
        G,
        cfg,
        tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx",
        source=request.param,
    )
    return G, cfg, path


@pytest.mark.parametrize("batch", [1, 5, 64])
def test_export_onnx_runtime_equals_pytorch(exported, batch):
    G, cfg, path = exported
    z = torch.randn(batch, cfg.nz, generator=torch.Generator().manual_seed(batch))
    labels = torch.arange(batch) % cfg.n_classes if cfg.arch == "cond" else None
    expected = generate(G, z, labels)
    got = onnx_images(path, z, labels)
    assert (
        got.shape
        == expected.shape
        == (batch, cfg.nc, cfg.image_size, cfg.image_size)
    )
    assert (got - expected).abs().max() < 1e-4
    assert (
        expected.std() > 0.1
    )  # real images, not a constant that any graph would match


def test_export_conditional_graph_follows_the_label(tmp_path):
    G, cfg, _ = load_pretrained("mnist-cond")
    path = export_onnx(G, cfg, tmp_path / "cond.onnx")
    z = (
        sample_noise(1, cfg.nz, 3).flatten(1).repeat(cfg.n_classes, 1)
    )  # one z, every class
    labels = torch.arange(cfg.n_classes)
    images = onnx_images(path, z, labels)
    assert (images - generate(G, z, labels)).abs().max() < 1e-4
    assert (images[1:] - images[:1]).abs().amax(
        dim=(1, 2, 3)
    ).min() > 0.5  # each digit differs from the 0


def test_export_graph_has_named_inputs_and_a_free_batch_axis(exported):
    _, cfg, path = exported
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    inputs = {i.name: i.type.tensor_type for i in model.graph.input}
    expected = {
        "z": onnx.TensorProto.FLOAT,
        **({"labels": onnx.TensorProto.INT64} if cfg.arch == "cond" else {}),
    }
    assert {name: t.elem_type for name, t in inputs.items()} == expected
    assert (
        inputs["z"].shape.dim[0].dim_param
        and inputs["z"].shape.dim[1].dim_value == cfg.nz
    )
    assert [o.name for o in model.graph.output] == ["images"]


def test_export_sidecar_describes_the_graph(exported):
    _, cfg, path = exported
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["format"] == FORMAT and meta["onnx"] == path.name
    assert (meta["nz"], meta["nc"], meta["image_size"]) == (
        cfg.nz,
        cfg.nc,
        cfg.image_size,
    )
    assert meta["n_classes"] == (10 if cfg.arch == "cond" else 0)
    directions = torch.tensor(meta["directions"]["vectors"])
    assert torch.equal(
        directions, orthonormal_directions(cfg.nz, 4, meta["directions"]["seed"])
    )
    assert torch.allclose(directions @ directions.T, torch.eye(4), atol=1e-5)
    for seed, z in zip(meta["start"]["seeds"], meta["start"]["z"]):
        assert torch.equal(
            torch.tensor(z), sample_noise(1, cfg.nz, seed).flatten()
        )


def test_export_onnx_difference_is_small_and_sees_a_wrong_file(
    tmp_path, tiny_model
):
    torch.manual_seed(0)
    G = build_generator(tiny_model).train()
    path = export_onnx(G, tiny_model, tmp_path / "tiny.onnx")
    assert G.training, "export works on a copy; the caller's G keeps its mode"
    assert onnx_difference(path, G, n=8) < 1e-4
    other = build_generator(tiny_model)
    torch.nn.init.normal_(other.blocks.project[0].weight)
    assert onnx_difference(path, other, n=8) > 1e-2


@pytest.mark.parametrize(
    "preset", [name for name, p in PRESETS.items() if p.model.arch != "class"]
)
def test_export_every_preset_architecture_runs_the_same_in_onnx_runtime(
    preset, tmp_path
):
    cfg = dataclasses.replace(
        PRESETS[preset].model, ngf=8
    )  # narrow: the layers, not the widths, are tested
    torch.manual_seed(0)
    G = build_generator(cfg)
    assert (
        onnx_difference(export_onnx(G, cfg, tmp_path / "g.onnx"), G, n=4) < 1e-4
    )


@pytest.mark.parametrize("case", ["suffix", "class", "nz", "conditional"])
def test_export_bad_source_is_one_clear_error(tmp_path, case):
    cfg = ModelConfig(image_size=28, nc=1, nz=8, ngf=4, ndf=4)
    G, out = build_generator(cfg), tmp_path / "g.onnx"
    if case == "suffix":
        out, match = tmp_path / "g.pt", "ending in .onnx"
    elif case == "class":
        cfg = ModelConfig(
            arch="class", image_size=28, nc=1, nz=8, ngf=4, ndf=4, n_classes=3
        )
        G, match = build_generator(cfg), "one ONNX graph cannot hold"
    elif case == "nz":
        G, match = (
            build_generator(ModelConfig(image_size=28, nc=1, nz=9, ngf=4, ndf=4)),
            "does not fit",
        )
    else:
        G, match = (
            build_generator(
                ModelConfig(
                    arch="cond",
                    image_size=28,
                    nc=1,
                    nz=8,
                    ngf=4,
                    ndf=4,
                    n_classes=10,
                )
            ),
            "does not fit",
        )
    with pytest.raises(ConfigError, match=match):
        export_onnx(G, cfg, out)
    assert not list(tmp_path.iterdir()), "nothing is written for a refused export"


def test_export_without_the_onnx_package_says_what_to_install(
    tmp_path, tiny_model, monkeypatch
):
    real = export.importlib.util.find_spec
    monkeypatch.setattr(
        export.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "onnx" else real(name, *a),
    )
    with pytest.raises(OnnxUnavailable, match="pip install onnx"):
        export_onnx(build_generator(tiny_model), tiny_model, tmp_path / "g.onnx")
    assert not list(tmp_path.iterdir())


def test_export_command_writes_a_graph_that_draws_what_pytorch_draws(
    tmp_path, capsys
):
    out = tmp_path / "deep" / "mnist-cond.onnx"
    assert main(["export", "--pretrained", "mnist-cond", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (
        f"wrote {out}" in printed
        and "checked: ONNX Runtime and PyTorch differ by at most" in printed
    )
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["n_classes"] == 10 and "mnist-cond" in meta["source"]
    G, cfg, _ = load_pretrained("mnist-cond")
    z, labels = sample_noise(20, cfg.nz, 5).flatten(1), torch.arange(20) % 10
    assert (
        onnx_images(out, z, labels) - generate(G, z, labels)
    ).abs().max() < 1e-4


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--checkpoint", "no/such/checkpoint.pt", "--out", "g.onnx"],
            "no/such/checkpoint.pt",
        ),
        (
            ["--pretrained", "mnist", "--out", "g.pt"],
            "--out 'g.pt' is not allowed: use a file name ending in .onnx",
        ),
        (["--pretrained", "cifar", "--out", "g.onnx"], "--pretrained"),
        (
            ["--out", "g.onnx"],
            "one of the arguments --checkpoint --pretrained is required",
        ),
    ],
)
def test_export_command_bad_source_is_one_line_and_status_2(
    tmp_path, monkeypatch, capsys, argv, message
):
    monkeypatch.chdir(tmp_path)
    assert main(["export", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert not list(tmp_path.iterdir()), "nothing written"


def test_export_command_from_a_training_checkpoint(
    tmp_path, tiny_model, tiny_train, capsys
):
    from dcgan_tutorial import load_generator, make_state, save_checkpoint

    checkpoint = save_checkpoint(
        make_state(tiny_model, tiny_train, "cpu"),
        tmp_path / "run" / "checkpoint.pt",
    )
    assert (
        main(
            [
                "export",
                "--checkpoint",
                str(checkpoint),
                "--out",
                str(tmp_path / "g.onnx"),
            ]
        )
        == 0
    )
    assert "checked" in capsys.readouterr().out
    G, _ = load_generator(checkpoint)
    z = torch.randn(3, tiny_model.nz)
    assert (
        onnx_images(tmp_path / "g.onnx", z) - generate(G, z)
    ).abs().max() < 1e-4


@pytest.mark.parametrize("name", ["mnist", "mnist-cond"])
def test_export_book_models_are_the_shipped_generators(name):
    """The book's live explorer runs _static/models/NAME.onnx: it must be today's shipped generator
    (if not: python scripts/export_live_models.py)."""
    path = (
        Path(__file__).resolve().parents[1]
        / "_static"
        / "models"
        / f"{name}.onnx"
    )
    G, cfg, _ = load_pretrained(name)
    stored = json.loads(path.with_suffix(".json").read_text())
    assert stored["weights"] == "float16"  # half the page's download
    assert onnx_difference(path, weights_in_float16(G), n=16) < 1e-4
    expected = describe(cfg, path.name, source=stored["source"])
    assert {k: v for k, v in stored.items() if k not in ("torch", "weights")} == {
        k: v for k, v in expected.items() if k != "torch"
    }


def test_export_float16_weights_halve_the_file_and_only_round_the_weights(
    tmp_path,
):
    G, cfg, _ = load_pretrained("mnist")
    full = export_onnx(G, cfg, tmp_path / "full.onnx")
    half = export_onnx(G, cfg, tmp_path / "half.onnx", half_weights=True)
    assert half.stat().st_size < 0.55 * full.stat().st_size
    graph = onnx.load(half).graph
    assert {w.data_type for w in graph.initializer} <= {
        onnx.TensorProto.FLOAT16,
        onnx.TensorProto.INT64,
    }
    assert (
        json.loads(half.with_suffix(".json").read_text())["weights"] == "float16"
    )
    assert (
        json.loads(full.with_suffix(".json").read_text())["weights"] == "float32"
    )
    # the graph is G with its weights rounded to float16, and nothing else
    assert onnx_difference(half, weights_in_float16(G), n=16) < 1e-4
    rounding = onnx_difference(half, G, n=16)
    assert 0 < rounding < 2 / 255 * 2  # under two grey levels of 255
