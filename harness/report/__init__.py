"""Renderers of a run: the self-contained HTML report (``html``) and its inline SVG plots."""
