"""What watches a run and writes as it goes: checkpoints, progress grids, the best and the averaged G.

Each is a ``Callback`` of ``train_gan`` that writes into a run folder (``runfolder.RunFolder``
names every file), and ``run.train_run`` attaches them:

* ``CheckpointWriter``: the full training state at every checkpoint, the last few kept;
* ``SaveProgressImages``: each fixed-noise grid as a PNG;
* ``FIDTracker``: FID measured during training; the generator of the lowest FID kept;
* ``EMAWriter``: the moving average of G's weights (``tricks/ema.py``) at every checkpoint.

The generators are written as generator files (``pretrained.save_generator_file``), which
``pretrained.load_generator_file`` reads and ``sample --checkpoint FILE`` samples from.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Optional

import torch

from .callbacks import Callback
from .checkpoint import save_checkpoint
from .classifier import DigitClassifier
from .config import ConfigError
from .distributed import is_writer, unwrap
from .metrics import ReferenceFID, generator_samples
from .pretrained import save_generator_file
from .runfolder import (
    RunFolder,
    disk_full,
    kept_checkpoint_name,
    write_atomically,
)
from .state import GANState
from .tricks.ema import ema_generator


class CheckpointWriter(Callback):
    """Save the state to ``path`` whenever ``train_gan`` says it is a good time.

    ``path`` always holds the latest checkpoint (written atomically). The last ``keep``
    checkpoints also stay in ``history_dir / "step_NNNNNNN.pt"`` (default: the run folder's
    ``checkpoints``, beside ``path``; hard links to the same bytes where the file system allows,
    so they cost no extra writes).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        keep: int = 3,
        history_dir: str | os.PathLike | None = None,
    ):
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise ConfigError(
                "keep",
                keep,
                "use a whole number >= 0 (0 keeps only the latest checkpoint)",
            )
        self.path, self.keep = Path(path), keep
        self.history_dir = Path(
            history_dir or RunFolder(self.path.parent).kept_checkpoints
        )

    def on_checkpoint(self, state: GANState) -> None:
        save_checkpoint(state, self.path)
        if self.keep == 0:
            return
        self.history_dir.mkdir(exist_ok=True)
        kept = self.history_dir / kept_checkpoint_name(state.step)
        tmp = kept.with_name(f".{kept.name}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            try:
                os.link(self.path, tmp)
            except (
                OSError
            ):  # no hard links here (some network or Windows file systems): copy
                shutil.copyfile(self.path, tmp)
            os.replace(tmp, kept)
        except (
            OSError
        ) as err:  # a copy on a full disk: nothing half-written stays
            tmp.unlink(missing_ok=True)
            raise disk_full(err, self.history_dir, kept.name) or err
        for old in sorted(self.history_dir.glob("step_*.pt"))[: -self.keep]:
            old.unlink()


class SaveProgressImages(Callback):
    """Write each new fixed-noise grid to ``RUN_DIR/progress/step_NNNNNN.png``."""

    def __init__(self, folder: RunFolder):
        self.folder = folder

    def on_sample(self, state: GANState, images: torch.Tensor) -> None:
        from . import (
            viz,
        )  # matplotlib on first use: `python -m dcgan_tutorial --help` starts without it

        fig = viz.plt.figure(figsize=(4, 4))
        viz.show_grid(images, ax=fig.gca(), title=f"step {state.step}")
        viz.save_figure(fig, self.folder.progress_image(state.step))


def _cpu_weights(G: torch.nn.Module) -> dict:
    return {k: v.detach().cpu().clone() for k, v in G.state_dict().items()}


def _save_generator(weights: dict, state: GANState, path: Path, why: str) -> Path:
    return save_generator_file(
        weights,
        state.model_cfg,
        state.train_cfg.dataset,
        state.step,
        path,
        {"selected": why},
    )


class EMAWriter(Callback):
    """At every checkpoint, write the EMA generator to ``RUN_DIR/ema_generator.pt``.

    Its BatchNorm statistics are re-estimated first (``tricks.ema.ema_generator``).
    """

    def __init__(self, out_dir: str | os.PathLike):
        self.path = RunFolder(out_dir).ema_generator

    def on_checkpoint(self, state: GANState) -> None:
        if state.ema is None or not is_writer():
            return
        weights = _cpu_weights(ema_generator(state.ema))
        _save_generator(
            weights,
            state,
            self.path,
            f"the moving average of G's weights (decay {state.ema.decay}) "
            f"after {state.ema.updates} updates",
        )


def evaluated_generator(state: GANState) -> torch.nn.Module:
    """The generator a run is judged by: the EMA generator when there is one (BatchNorm re-estimated), else G."""
    ema = getattr(state, "ema", None)
    return ema_generator(ema) if ema is not None else unwrap(state.G)


class FIDTracker(Callback):
    """Every ``every`` steps: FID of ``n`` samples (fixed noise) against ``reference``; keep the best G.

    DCGAN's sample quality does not improve monotonically: FID can rise again late in a run, so
    the last generator is not always the best one. reference: (N, nc, H, W) uint8 or [-1, 1]
    real images, or a ``metrics.ReferenceFID`` made from them, to share its features between
    runs. Pass *training* images, so the test set plays no part in the choice and can still
    report the FID of the chosen generator honestly. out_dir: the run folder that gets
    ``best_generator.pt`` and ``fid_history.json`` (None: keep them in memory only, as
    ``best_state`` and ``history``).

    Each point also records ``cpu_seconds``, the CPU time the run has spent training so far
    (measurements excluded): on one thread, the time a learner's core needs to get there. A
    resumed run reads the curve and the best so far back from its run folder and continues them.
    """

    def __init__(
        self,
        reference: torch.Tensor | ReferenceFID,
        every: int = 1000,
        n: int = 2000,
        out_dir: Optional[str | os.PathLike] = None,
        classifier: Optional[DigitClassifier] = None,
        seed: int = 0,
    ):
        self.every, self.n, self.seed = every, n, seed
        self.folder = None if out_dir is None else RunFolder(out_dir)
        self.fid = (
            reference
            if isinstance(reference, ReferenceFID)
            else ReferenceFID(reference, classifier)
        )
        self.history: list[dict] = []  # {"step", "fid"} per measurement
        self.best: Optional[dict] = None  # the measurement with the lowest FID
        # that generator's state_dict (on the CPU)
        self.best_state: Optional[dict] = None
        self.seconds = 0.0  # time spent measuring, so a benchmark can tell it from training time
        self._next = every
        self._cpu_start: Optional[float] = (
            None  # process CPU time at this process's first step
        )
        self._cpu_before = (
            0.0  # CPU seconds of training before this process (a resumed run)
        )
        self._cpu_measuring = 0.0  # CPU seconds this process spent measuring

    def _start(self, state: GANState) -> None:
        """On this process's first step: continue the curve a resumed run left in its folder."""
        self._cpu_start = time.process_time()
        if self.folder is None or not self.folder.fid_history.exists():
            return
        earlier = json.loads(self.folder.fid_history.read_text())
        self.history = [
            p for p in earlier.get("history", []) if p["step"] <= state.step
        ]
        if not self.history:  # the folder held another run's curve: start afresh
            return
        best = min(self.history, key=lambda p: p["fid"])
        self.best = dict(best)
        last = self.history[-1]
        if "cpu_seconds" in last:  # up to the checkpoint at the run's mean rate
            self._cpu_before = (
                last["cpu_seconds"] * state.step / max(last["step"], 1)
            )
        # the next point after the curve's last: this first log may already be at it
        self._next = (last["step"] // self.every + 1) * self.every

    def measure(self, state: GANState) -> float:
        """FID of the evaluated generator now; records it and keeps the generator
        if it is the best."""
        start, cpu = time.perf_counter(), time.process_time()
        if self._cpu_start is None:
            self._start(state)
        G = evaluated_generator(state)
        # the same noise every time
        fakes = generator_samples(G, self.n, seed=self.seed)
        fid = self.fid(fakes)
        cpu_seconds = (
            self._cpu_before + (cpu - self._cpu_start) - self._cpu_measuring
        )
        point = {
            "step": state.step,
            "fid": fid,
            "cpu_seconds": round(cpu_seconds, 3),
        }
        self.history.append(point)
        if self.best is None or fid < self.best["fid"]:
            self.best, self.best_state = point, _cpu_weights(G)
            self._write_best(state)
        self._write_history()
        self.seconds += time.perf_counter() - start
        self._cpu_measuring += time.process_time() - cpu
        return fid

    def on_log(self, state: GANState, records: dict[str, list]) -> None:
        if self._cpu_start is None:
            self._start(state)
        if state.step >= self._next:
            self.measure(state)
            self._next = (state.step // self.every + 1) * self.every

    def on_train_end(self, state: GANState) -> None:
        if not self.history or self.history[-1]["step"] != state.step:
            self.measure(state)

    def _write_best(self, state: GANState) -> None:
        if self.folder is None or not is_writer():
            return
        _save_generator(
            dict(self.best_state),
            state,
            self.folder.best_generator,
            f"the lowest classifier FID ({self.best['fid']:.2f}, {self.n} samples) of "
            f"{len(self.history)} measured during training",
        )

    def _write_history(self) -> None:
        if self.folder is None or not is_writer():
            return
        curve = json.dumps({"history": self.history, "best": self.best})
        write_atomically(self.folder.fid_history, curve.encode(), fsync=False)
