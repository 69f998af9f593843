"""FID measured during training, and the best generator kept.

DCGAN's sample quality does not improve monotonically: FID can rise again late in a run, so
the last generator is not always the best one. ``FIDTracker`` measures the classifier FID
(``metrics.classifier_fid``) every ``every`` steps on the same noise each time, records the
curve, and writes the generator with the lowest FID so far to ``RUN_DIR/best_generator.pt``
(the format of the shipped generators: ``pretrained.load_generator_file`` reads it, as does
``sample``). Pass *training* images as the reference, so the test set plays no part in the
choice and can still report the FID of the chosen generator honestly.

Each point of the curve also records ``cpu_seconds``, the CPU time the run has spent training so
far (measurements excluded): on one thread, the time a learner's core needs to get there. A
resumed run reads the curve and the best so far back from its run folder and continues them.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Optional

import torch
from torchmetrics.image.fid import FrechetInceptionDistance

from ..classifier import ClassifierFeatures, DigitClassifier, load_classifier
from ..distributed import unwrap
from ..metrics import generator_samples
from ..train import Callback, GANState
from .ema import ema_generator
from .files import is_writer, save_generator_file


class ReferenceFID:
    """``metrics.classifier_fid`` against a fixed set of real images whose features are computed once.

    reference: (N, nc, H, W) uint8 or [-1, 1] real images. Calling it with generated images
    (M, nc, H, W) returns their FID; measuring many generators against the same reference
    (during training, or one per run of a benchmark) then costs only the generated images.
    """

    def __init__(self, reference: torch.Tensor, classifier: Optional[DigitClassifier] = None,
                 batch_size: int = 1000):
        self.classifier = classifier or load_classifier()
        self.batch_size = batch_size
        device = next(self.classifier.parameters()).device
        self.metric = FrechetInceptionDistance(feature=ClassifierFeatures(self.classifier),
                                               reset_real_features=False).to(device)
        for batch in reference.split(batch_size):
            self.metric.update(batch.to(device), real=True)

    def __call__(self, fakes: torch.Tensor) -> float:
        self.metric.reset()  # forgets the previous fakes, keeps the reference's features
        device = next(self.classifier.parameters()).device
        for batch in fakes.split(self.batch_size):
            self.metric.update(batch.to(device), real=False)
        return float(self.metric.compute())


def evaluated_generator(state: GANState) -> torch.nn.Module:
    """The generator a run is judged by: the EMA generator when there is one (BatchNorm re-estimated), else G."""
    ema = getattr(state, "ema", None)
    return ema_generator(ema) if ema is not None else unwrap(state.G)


class FIDTracker(Callback):
    """Every ``every`` steps: FID of ``n`` samples (fixed noise) against ``reference``; keep the best G.

    reference: (N, nc, H, W) uint8 or [-1, 1] real images (training images, see the module
    docstring), or a ``ReferenceFID`` made from them, to share its features between runs. out_dir: where ``best_generator.pt`` and ``fid_history.json`` go (None: keep
    them in memory only, as ``best_state`` and ``history``).
    """

    def __init__(self, reference: torch.Tensor, every: int = 1000, n: int = 2000,
                 out_dir: Optional[str | os.PathLike] = None, classifier: Optional[DigitClassifier] = None,
                 seed: int = 0):
        self.every, self.n, self.seed = every, n, seed
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.fid = reference if isinstance(reference, ReferenceFID) else ReferenceFID(reference, classifier)
        self.history: list[dict] = []  # {"step", "fid"} per measurement
        self.best: Optional[dict] = None  # the measurement with the lowest FID
        self.best_state: Optional[dict] = None  # that generator's state_dict (on the CPU)
        self.seconds = 0.0  # time spent measuring, so a benchmark can tell it from training time
        self._next = every
        self._cpu_start: Optional[float] = None  # process CPU time at this process's first step
        self._cpu_before = 0.0  # CPU seconds of training done before this process (a resumed run)
        self._cpu_measuring = 0.0  # CPU seconds this process spent measuring

    def _start(self, state: GANState) -> None:
        """On the first step of this process: continue the curve a resumed run left in its folder."""
        self._cpu_start = time.process_time()
        path = None if self.out_dir is None else self.out_dir / "fid_history.json"
        if path is None or not path.exists():
            return
        earlier = json.loads(path.read_text())
        self.history = [p for p in earlier.get("history", []) if p["step"] <= state.step]
        if not self.history:  # the folder held another run's curve: start afresh
            return
        best = min(self.history, key=lambda p: p["fid"])
        self.best = {"step": best["step"], "fid": best["fid"]}
        last = self.history[-1]
        if "cpu_seconds" in last:  # the steps between the last point and the checkpoint, at the run's mean rate
            self._cpu_before = last["cpu_seconds"] * state.step / max(last["step"], 1)
        self._next = (state.step // self.every + 1) * self.every

    def measure(self, state: GANState) -> float:
        """FID of the evaluated generator now; records it and keeps the generator if it is the best."""
        start, cpu = time.perf_counter(), time.process_time()
        if self._cpu_start is None:
            self._start(state)
        G = evaluated_generator(state)
        fakes = generator_samples(G, self.n, seed=self.seed)  # the same noise every time
        fid = self.fid(fakes)
        cpu_seconds = self._cpu_before + (cpu - self._cpu_start) - self._cpu_measuring
        point = {"step": state.step, "fid": fid, "cpu_seconds": round(cpu_seconds, 3)}
        self.history.append(point)
        if self.best is None or fid < self.best["fid"]:
            self.best = point
            self.best_state = {k: v.detach().cpu().clone() for k, v in G.state_dict().items()}
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
        if self.out_dir is None or not is_writer():
            return
        save_generator_file(dict(self.best_state), state, self.out_dir / "best_generator.pt",
                            f"the lowest classifier FID ({self.best['fid']:.2f}, {self.n} samples) of "
                            f"{len(self.history)} measured during training")

    def _write_history(self) -> None:
        if self.out_dir is None or not is_writer():
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "fid_history.json").write_text(json.dumps({"history": self.history, "best": self.best}))
