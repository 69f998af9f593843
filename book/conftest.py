"""Under pytest (nbval) the chapters run in quick mode: a few steps on a small subset.

The stored outputs come from full runs; quick mode only checks that every cell still runs and
that the cells marked ``# NBVAL_CHECK_OUTPUT`` print exactly what is stored.

``DCGAN_TUTORIAL_RECIPE=gpu python -m pytest book`` runs every chapter's GPU branch (the 64x64
``paper64`` recipe) on whatever device is here; ``.ci/run`` runs the chapters that way too, and
once more from a folder holding only the notebooks, with the package installed from its wheel.
"""
import os

os.environ.setdefault("DCGAN_TUTORIAL_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
