"""Renderers: a Trace (and what was found in it) in, figures, tables and files out.

Renderers know traces, never torch or the engine. Every file goes through
:mod:`lrviz.render.files`: all outputs of a command land together or not at all;
:mod:`lrviz.render.outputs` picks the writer by the output's suffix.
"""

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
DATA_SUFFIXES = (".csv", ".json", ".md")
SUFFIXES = FIGURE_SUFFIXES + DATA_SUFFIXES
