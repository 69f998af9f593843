"""Export a trained generator to ONNX, so that it runs without PyTorch (in a web page, for instance).

``export_onnx`` writes G as an ONNX graph with a free batch axis: input ``z`` (B, nz) float32,
for a conditional G also ``labels`` (B,) int64, output ``images`` (B, nc, S, S) in [-1, 1].
Next to ``FILE.onnx`` it writes ``FILE.json``, what a program needs to drive the graph: nz, the
classes, the image size, the latent explorer's orthonormal directions and the noise of two
seeds (``sample_noise``), so that a page shows the same z as the book's Python cells.

    python -m dcgan_tutorial export --pretrained mnist --out mnist.onnx

The book's live explorer runs these files with ONNX Runtime Web (``_static/dcgan-live.js``).
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
from torch import nn

from .config import ConfigError, ModelConfig
from .sample import generate, sample_noise

FORMAT = "dcgan_tutorial.onnx-generator"
FORMAT_VERSION = 1
# Opset 17: the TorchScript exporter (dynamo=False) writes it, and both runtimes we check run it:
# onnxruntime in the tests, and the onnxruntime-web 1.30.0 the book ships in _static/.
OPSET = 17
TOLERANCE = 1e-4  # largest |ONNX Runtime - PyTorch| accepted: float32 kernels differ by about 4e-6 here


class OnnxUnavailable(RuntimeError):
    """A package that ONNX export or ONNX Runtime needs is not installed."""


def runtime_installed() -> bool:
    """Whether ONNX Runtime (``onnxruntime``) is there to run an exported graph."""
    return importlib.util.find_spec("onnxruntime") is not None


def _require(module: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise OnnxUnavailable(
            f"{what} needs the {module} package, which is not installed: pip install {module} "
            f"(or pip install 'dcgan_tutorial[export]')"
        )


def export_onnx(
    G: nn.Module,
    model_cfg: ModelConfig,
    path: str | os.PathLike,
    n_directions: int = 4,
    direction_seed: int = 0,
    seeds: Sequence[int] = (0, 1),
    source: str = "",
    half_weights: bool = False,
) -> Path:
    """Write G (eval mode, on the CPU) to ``path`` (.onnx) and its description to ``path`` with .json.

    n_directions, direction_seed: the explorer's directions to store (``orthonormal_directions``);
    seeds: noise vectors to store, ``sample_noise(1, nz, seed)`` for each; source: where G came from.
    half_weights: store the weights in float16 (half the file; ``store_weights_in_float16``).
    Returns the .onnx path. G itself is not changed (a CPU copy is exported).
    """
    path = Path(path)
    if path.suffix != ".onnx":
        raise ConfigError(
            "out",
            str(path),
            "use a file name ending in .onnx (its description is written next to "
            "it as .json)",
        )
    conditional = _check_exportable(G, model_cfg)
    _require("onnx", "exporting to ONNX")  # torch.onnx writes the graph with it
    # eval: batchnorm uses its running statistics, as sampling does
    G = copy.deepcopy(G).cpu().eval()
    # (B, nz): the graph takes flat noise; B = 2 shows the axis is free
    z = torch.zeros(2, model_cfg.nz)
    inputs, names, axes = (z,), ["z"], {"z": {0: "batch"}, "images": {0: "batch"}}
    if conditional:
        inputs, names = (z, torch.zeros(2, dtype=torch.long)), ["z", "labels"]
        axes["labels"] = {0: "batch"}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    os.close(fd)
    try:
        with warnings.catch_warnings():
            # The TorchScript exporter warns that it is no longer the default. We use it on purpose:
            # the torch.export-based one needs the onnxscript package, and this one does not.
            warnings.simplefilter("ignore", DeprecationWarning)
            # torch before 2.5 has no `dynamo` argument and always uses this exporter
            legacy = (
                {"dynamo": False}
                if "dynamo" in inspect.signature(torch.onnx.export).parameters
                else {}
            )
            torch.onnx.export(
                G,
                inputs,
                tmp,
                input_names=names,
                output_names=["images"],
                dynamic_axes=axes,
                opset_version=OPSET,
                **legacy,
            )
        if half_weights:
            store_weights_in_float16(tmp)
        umask = os.umask(0)
        os.umask(umask)
        # mkstemp makes owner-only files; give the usual mode
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    description = describe(
        model_cfg, path.name, n_directions, direction_seed, seeds, source
    )
    description["weights"] = "float16" if half_weights else "float32"
    path.with_suffix(".json").write_text(json.dumps(description, indent=1) + "\n")
    return path


def store_weights_in_float16(path: str | os.PathLike) -> None:
    """Store the float32 weights of an ONNX graph in float16, each cast back to float32 in the graph.

    The file is half as large (what a web page downloads); the graph still computes in float32,
    with every weight rounded to float16 (a relative change of at most 2**-11).
    """
    _require("onnx", "storing weights in float16")
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(path)
    casts = []
    for weight in model.graph.initializer:
        if weight.data_type != TensorProto.FLOAT:
            continue
        half = numpy_helper.from_array(
            numpy_helper.to_array(weight).astype(np.float16),
            f"{weight.name}.fp16",
        )
        casts.append(
            helper.make_node(
                "Cast", [half.name], [weight.name], to=TensorProto.FLOAT
            )
        )
        weight.CopyFrom(half)
    nodes = [*casts, *model.graph.node]  # each cast before the nodes that read it
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, path)


def weights_in_float16(G: nn.Module) -> nn.Module:
    """A copy of G whose float weights and buffers are rounded to float16 (kept in float32)."""
    G = copy.deepcopy(G)
    with torch.no_grad():
        for t in [*G.parameters(), *G.buffers()]:
            if t.is_floating_point():
                t.copy_(t.half().float())
    return G


def describe(
    model_cfg: ModelConfig,
    onnx_name: str,
    n_directions: int = 4,
    direction_seed: int = 0,
    seeds: Sequence[int] = (0, 1),
    source: str = "",
) -> dict[str, Any]:
    """The sidecar of an exported generator: shapes, classes, explorer directions, start noise."""
    from .latent import (
        orthonormal_directions,
    )  # the latent explorer's own directions (no ipywidgets needed)

    nz, conditional = model_cfg.nz, model_cfg.arch == "cond"
    k = min(n_directions, nz)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "onnx": onnx_name,
        "opset": OPSET,
        "inputs": {
            "z": ["batch", nz],
            **({"labels": ["batch"]} if conditional else {}),
        },
        "output": {
            "images": [
                "batch",
                model_cfg.nc,
                model_cfg.image_size,
                model_cfg.image_size,
            ],
            "range": [-1, 1],
        },
        "nz": nz,
        "nc": model_cfg.nc,
        "image_size": model_cfg.image_size,
        "n_classes": model_cfg.n_classes if conditional else 0,
        "directions": {
            "seed": direction_seed,
            "vectors": orthonormal_directions(nz, k, direction_seed).tolist(),
        },
        "start": {
            "seeds": list(seeds),
            "z": [sample_noise(1, nz, s).flatten().tolist() for s in seeds],
        },
        "source": source,
        "torch": torch.__version__,
    }


def _check_exportable(G: nn.Module, model_cfg: ModelConfig) -> bool:
    """Whether G is conditional; a ConfigError when G cannot become one fixed graph or disagrees with the config."""
    if model_cfg.arch == "class":
        raise ConfigError(
            "arch",
            model_cfg.arch,
            "one generator per class sends each row through a different "
            "network, which one ONNX graph cannot hold: export an unconditional "
            "or a cond generator",
        )
    nz = getattr(G, "nz", None)
    if nz != model_cfg.nz:
        raise ConfigError(
            "nz",
            nz,
            f"this generator does not fit its configuration (nz {model_cfg.nz}): pass the "
            f"configuration it was built from",
        )
    conditional = bool(getattr(G, "n_classes", 0))
    if conditional != (model_cfg.arch == "cond"):
        raise ConfigError(
            "arch",
            model_cfg.arch,
            "this generator does not fit its configuration (conditional or "
            "not): pass the configuration it was built from",
        )
    return conditional


def onnx_images(
    path: str | os.PathLike,
    z: torch.Tensor,
    labels: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Run an exported generator with ONNX Runtime on the CPU: z (B, nz) -> images (B, nc, S, S) in [-1, 1]."""
    _require("onnxruntime", "running an exported generator")
    import onnxruntime

    session = onnxruntime.InferenceSession(
        str(path), providers=["CPUExecutionProvider"]
    )
    feeds = {"z": z.detach().flatten(1).float().cpu().numpy()}
    if labels is not None:
        feeds["labels"] = labels.detach().long().cpu().numpy()
    return torch.from_numpy(session.run(["images"], feeds)[0])


def onnx_difference(
    path: str | os.PathLike, G: nn.Module, n: int = 16, seed: int = 0
) -> float:
    """The largest |ONNX Runtime - PyTorch| over n images of G from ``sample_noise(n, nz, seed)``.

    For a conditional G the n images cycle through the classes. Needs ``onnxruntime``.
    """
    G = copy.deepcopy(G).cpu().eval()
    z = sample_noise(n, G.nz, seed).flatten(1)
    labels = torch.arange(n) % G.n_classes if getattr(G, "n_classes", 0) else None
    expected = generate(G, z, labels)
    return float((onnx_images(path, z, labels) - expected).abs().max())


def export_command(
    out: str | os.PathLike,
    checkpoint: Optional[str] = None,
    pretrained: Optional[str] = None,
) -> int:
    """``python -m dcgan_tutorial export``: G of a checkpoint or a shipped generator to ``out``, checked
    against PyTorch when ONNX Runtime is installed. Prints what it did; the exit status (1: they differ)."""
    from .checkpoint import load_generator
    from .pretrained import load_pretrained

    if pretrained:
        G, model_cfg, meta = load_pretrained(pretrained)
        what = f"shipped generator '{pretrained}' (step {meta['step']})"
    else:
        G, model_cfg = load_generator(checkpoint)
        what = str(checkpoint)
    path = export_onnx(G, model_cfg, out, source=what)
    print(f"wrote {path} and {path.with_suffix('.json')} from {what}")
    if not runtime_installed():
        print("not checked against PyTorch: pip install onnxruntime to check it")
        return 0
    difference = onnx_difference(path, G)
    if not difference < TOLERANCE:
        print(
            f"error: ONNX Runtime and PyTorch differ by {difference:.1e} (more than {TOLERANCE:g}) on {path}",
            file=sys.stderr,
        )
        return 1
    print(
        f"checked: ONNX Runtime and PyTorch differ by at most {difference:.1e} on 16 images"
    )
    return 0
