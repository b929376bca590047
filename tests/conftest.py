"""The suite installs ``tests/plugin_dist`` like a wheel on ``sys.path``: the example plugin
is found through its ``yutang.plugins`` entry point, as any third-party plugin would be."""

from __future__ import annotations

import sys
from pathlib import Path

PLUGIN_DIST = Path(__file__).parent / "plugin_dist"
sys.path.insert(0, str(PLUGIN_DIST))
