"""Scenario files: load + validate (``load``), trtexec shape syntax (``shapes``), and the
expansion of axes into cases (``expand``)."""

from harness.scenario.expand import Case, expand
from harness.scenario.load import load_scenario, load_scenarios
from harness.scenario.shapes import Profile, parse_shapes

__all__ = ["Case", "Profile", "expand", "load_scenario", "load_scenarios", "parse_shapes"]
