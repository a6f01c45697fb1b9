"""vidstyle's ComfyUI node pack: temporally stable neural style transfer for IMAGE batches (videos).

ComfyUI imports this folder from its ``custom_nodes/``: link it there from
a vidstyle checkout and install ``requirements.txt`` into ComfyUI's Python
(README, "ComfyUI"). The library is then loaded from that checkout (the
``vidstyle/`` folder beside this one), so the pack and the library always
come from one commit and nothing installs a second OpenCV build beside the
host's ``opencv-python`` (vidstyle uses whichever OpenCV is there). A
vidstyle installed with pip is used when there is no checkout beside the
pack. Nothing of ComfyUI is needed to import this pack: its progress bar,
cancel button and device are used when they are there.
"""

import importlib.util
import os
import sys


def _load_library() -> None:
    """Make ``import vidstyle`` find the library of the checkout this pack lives in (see the module doc)."""
    if "vidstyle" in sys.modules:
        return
    here = os.path.dirname(os.path.realpath(__file__))     # a link in custom_nodes/ resolves to the checkout
    init = os.path.join(os.path.dirname(here), "vidstyle", "__init__.py")
    if not os.path.isfile(init):
        if importlib.util.find_spec("vidstyle") is None:
            raise ImportError("vidstyle's ComfyUI nodes need the vidstyle library: link this folder into "
                              "custom_nodes/ from a vidstyle checkout (README, 'ComfyUI'), or pip install vidstyle")
        return
    spec = importlib.util.spec_from_file_location("vidstyle", init, submodule_search_locations=[os.path.dirname(init)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["vidstyle"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["vidstyle"]
        raise


_load_library()

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS  # noqa: E402

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
