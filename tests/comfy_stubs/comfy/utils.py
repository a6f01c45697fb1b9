"""comfy.utils.ProgressBar as ComfyUI has it: ProgressBar(total, node_id=None), update(n), update_absolute(value, total, preview).

The value is clamped to the total; the hook (ComfyUI's main.py) checks for a
cancel on every update before sending it to the browser.
"""

from . import model_management

UPDATES: list[tuple[int, int, object, object]] = []   # every (value, total, preview, node_id) sent


class ProgressBar:
    def __init__(self, total: int, node_id=None):
        self.total = total
        self.current = 0
        self.node_id = node_id

    def update_absolute(self, value: int, total: int | None = None, preview=None) -> None:
        if total is not None:
            self.total = total
        if value > self.total:
            value = self.total
        self.current = value
        model_management.throw_exception_if_processing_interrupted()
        UPDATES.append((value, self.total, preview, self.node_id))

    def update(self, value: int) -> None:
        self.update_absolute(self.current + value)
