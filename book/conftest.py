"""Under pytest (nbval) the chapters run in quick mode: a few steps on a small subset.

The stored outputs come from full runs; quick mode only checks that every cell still runs and
that the cells marked ``# NBVAL_CHECK_OUTPUT`` print exactly what is stored.
"""
import os

os.environ.setdefault("DCGAN_TUTORIAL_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
