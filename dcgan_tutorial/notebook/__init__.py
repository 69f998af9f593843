"""notebook: what a learner touches in Jupyter or Colab (needs ipywidgets).

    panel.py     ``TrainingPanel``: controls, Train and Stop, live plots, runs compared
    live.py      ``LivePlots`` (a Callback that redraws widgets), ``ShowsWidget`` (a widget, and its picture
                 where no kernel runs), Colab's widget manager
    messages.py  ``WidgetMessages``: widget messages (Stop) handled between steps, on the main thread
    setup.py     ``start_chapter``: a chapter's first cell (seed, device, recipe, quick mode), stored results
    explorer.py  ``LatentExplorer``: sliders over G's noise (directions and slerp from ``latent.py``)
    runs.py      ``RunRecord`` and the figures that compare finished runs
    toy2d_panel.py  ``Toy2DPanel``: step the 2-D GAN of chapter 0 by hand

Every run starts through ``run.py``, as on the command line.
"""

from ..latent import orthonormal_directions, slerp
from .explorer import LatentExplorer
from .live import LivePlots, ShowsWidget, enable_colab
from .messages import WidgetMessages
from .panel import TrainingPanel
from .runs import RunRecord, plot_comparison, plot_run
from .setup import Chapter, start_chapter, stored_result
from .toy2d_panel import Toy2DPanel
