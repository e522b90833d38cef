"""The study's figures, drawn with plotnine and written as PNG and PDF."""

from .common import save_figure, save_rule_figure
from .samples import sample_grid

__all__ = ["sample_grid", "save_figure", "save_rule_figure"]
