"""Baselines per platform (``store``) and the verdicts that compare a run with them
(``verdict``). Measuring is kept apart from deciding: nothing here runs a model."""
