"""Where the package finds its data files: the spec and the fixtures.

In a source checkout (and an editable install) they live at the repository root; a wheel
carries copies under `mockserver/data/` (see `[tool.hatch...force-include]` in pyproject.toml).
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_file(name: str) -> Path:
    """Path of `openapi.yaml` or `fixtures/...`, from the wheel's copy or the checkout."""
    for base in (_PACKAGE / "data", _PACKAGE.parent):
        candidate = base / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{name} is neither in {_PACKAGE / 'data'} nor in {_PACKAGE.parent}")


SPEC_PATH = data_file("openapi.yaml")
CONTROL_SPEC_PATH = _PACKAGE / "control" / "control.yaml"
DEFAULT_STATE_PATH = data_file("fixtures/state.json")
