"""Reading the files shipped in `hub/demo/data/`."""

from __future__ import annotations

from importlib import resources


def read_data_text(filename: str) -> str:
    """The text of `hub/demo/data/<filename>`, decoded as UTF-8."""
    # importlib.resources rather than a path next to __file__, so the data is
    # found however the package is installed (wheel, editable, zip).
    return resources.files("hub.demo").joinpath("data", filename).read_text("utf-8")
