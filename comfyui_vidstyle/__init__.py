"""vidstyle's ComfyUI node pack: temporally stable neural style transfer for IMAGE batches (videos).

ComfyUI imports this folder from its ``custom_nodes/`` (link or copy it there,
under any name but ``vidstyle``; README, "ComfyUI"). The vidstyle library must
be installed in ComfyUI's Python (``pip install /path/to/vidstyle``). Nothing
of ComfyUI is needed to import this pack: its progress bar, cancel button and
device are used when they are there.
"""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
