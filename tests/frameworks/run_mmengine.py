"""mmengine runs of the grid: ``python run_mmengine.py OUT.json``.

A real ``Runner`` with its epoch-based train loop, an ``OptimWrapper`` with
``accumulative_counts`` and the default ``ParamSchedulerHook``. The reference cosine is
torch's own (so that the replay needs no mmengine), marked ``by_epoch`` as the case's
interval says (``step``: by_epoch False, stepped after every iteration; ``epoch``: after
every epoch), and put in ``runner.param_schedulers`` before training starts.
"""

from __future__ import annotations

import logging
import tempfile
from typing import Any

from common import BASE_LR, Recorder, features, main, scheduler_for


def run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import torch
    from mmengine.hooks import Hook
    from mmengine.logging import MMLogger
    from mmengine.model import BaseModel
    from mmengine.runner import Runner
    from torch.utils.data import DataLoader, TensorDataset

    class Model(BaseModel):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 1)

        def forward(self, x: Any, y: Any, mode: str = "loss") -> Any:
            return {"loss": torch.nn.functional.mse_loss(self.linear(x), y)}

    class Record(Hook):
        priority = "VERY_HIGH"

        def __init__(self, case: dict[str, Any]) -> None:
            self.case = case
            self.recorder: Recorder | None = None

        def before_train(self, runner: Any) -> None:
            optimizer = runner.optim_wrapper.optimizer
            scheduler = scheduler_for(optimizer)
            scheduler.by_epoch = (self.case.get("interval") or "epoch") == "epoch"
            self.recorder = Recorder(optimizer, scheduler)
            runner.param_schedulers = [scheduler]

        def before_train_epoch(self, runner: Any) -> None:
            assert self.recorder is not None
            self.recorder.current_epoch = runner.epoch

    out = []
    for case in cases:
        x, y = features(case["dataset_size"])
        loader = DataLoader(TensorDataset(x, y), batch_size=case["batch_size"], shuffle=True,
                            drop_last=bool(case.get("drop_last")))
        record = Record(case)
        with tempfile.TemporaryDirectory() as tmp:
            runner = Runner(
                model=Model(), work_dir=tmp, train_dataloader=loader,
                train_cfg={"by_epoch": True, "max_epochs": int(case["epochs"])},
                optim_wrapper={"optimizer": {"type": "SGD", "lr": BASE_LR},
                               "accumulative_counts": case["grad_accum"]},
                default_hooks={"checkpoint": None, "logger": None},
                custom_hooks=[record], log_level="ERROR",
                experiment_name=f"lrviz-{len(out)}")
            logging.getLogger("mmengine").setLevel(logging.ERROR)
            runner.train()
            MMLogger.get_current_instance().handlers.clear()
        assert record.recorder is not None
        out.append(record.recorder.record(case, batches_per_epoch=len(loader)))
    return out


if __name__ == "__main__":
    main("mmengine", run, ("mmengine-lite",))
