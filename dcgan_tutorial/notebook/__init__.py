"""notebook: what a learner touches in Jupyter or Colab (needs ipywidgets).

    panel.py     ``TrainingPanel``: controls, Train and Stop, live plots, runs compared
    live.py      ``LivePlots`` (a Callback that redraws widgets), ``ShowsWidget``, Colab's widget manager
    explorer.py  ``LatentExplorer``: sliders over G's noise, slerp between two seeds
    runs.py      ``RunRecord`` and the figures that compare finished runs

Every run starts through ``run.py``, as on the command line.
"""
from .explorer import LatentExplorer, orthonormal_directions, slerp
from .live import LivePlots, ShowsWidget, enable_colab
from .panel import TrainingPanel
from .runs import RunRecord, plot_comparison, plot_run
