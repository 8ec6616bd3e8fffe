"""Custom schedulers for the --allow-import tests; importing this module leaves a mark."""

from __future__ import annotations

import os

from torch.optim.lr_scheduler import LRScheduler

IMPORTED_MARK = os.environ.get("LRVIZ_TEST_IMPORT_MARK")
if IMPORTED_MARK:  # lets a test see whether lrviz imported (ran) this module
    open(IMPORTED_MARK, "w").close()


class HalvingLR(LRScheduler):
    """Halve the lr every `every` steps, down to `floor`."""

    def __init__(self, optimizer, every: int = 10, floor: float = 0.0, last_epoch=-1):
        self.every = every
        self.floor = floor
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.every:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [max(self.floor, group["lr"] / 2) for group in self.optimizer.param_groups]


NOT_A_SCHEDULER = 42
