"""comfy.utils.ProgressBar as ComfyUI documents it: ProgressBar(total), update(n), update_absolute(value, total, preview)."""

UPDATES: list[tuple[int, int, object]] = []   # every (value, total, preview) a node reported


class ProgressBar:
    def __init__(self, total: int):
        self.total = total
        self.current = 0

    def update(self, value: int) -> None:
        self.update_absolute(self.current + value, self.total)

    def update_absolute(self, value: int, total: int | None = None, preview=None) -> None:
        if total is not None:
            self.total = total
        self.current = value
        UPDATES.append((value, self.total, preview))
