"""Where the Hydra configs live: a leaf module (imports nothing of ours), so every layer may ask.

In a checkout `conf/` sits beside the `framework` package; an installed wheel carries it inside the
package (`framework/conf`, see pyproject.toml), so `mlsd ...` works outside a checkout too.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
CONF_DIR = _PACKAGE / "conf" if (_PACKAGE / "conf" / "run.yaml").is_file() else _PACKAGE.parent / "conf"
