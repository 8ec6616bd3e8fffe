"""accelerate runs of the grid: ``python run_accelerate.py OUT.json``.

The loop is accelerate's documented one (``with accelerator.accumulate(model)``, then
``optimizer.step(); scheduler.step()`` on every batch) with the model, optimizer, dataloader
and scheduler all prepared. Cases with ``world_size: 2`` run in two CPU processes with the
gloo backend (``accelerate.debug_launcher``); rank 0 records (every rank sees the same lr).
"""

from __future__ import annotations

import json
from typing import Any

from common import BASE_LR, Recorder, features, launched, main, preload, scheduler_for


def train(case: dict[str, Any], out_path: str | None = None) -> dict[str, Any]:
    import torch
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState
    from accelerate.utils import DataLoaderConfiguration
    from torch.utils.data import DataLoader, TensorDataset

    accelerator = Accelerator(
        cpu=True, gradient_accumulation_steps=case["grad_accum"],
        dataloader_config=DataLoaderConfiguration(split_batches=bool(case.get("split_batches"))))
    x, y = features(case["dataset_size"])
    loader = DataLoader(TensorDataset(x, y), batch_size=case["batch_size"], shuffle=True,
                        drop_last=bool(case.get("drop_last")))
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=BASE_LR)
    scheduler = scheduler_for(optimizer, case)
    recorder = Recorder(optimizer, scheduler)
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    for epoch in range(int(case["epochs"])):
        recorder.current_epoch = epoch
        for xb, yb in loader:
            with accelerator.accumulate(model):
                loss = torch.nn.functional.mse_loss(model(xb), yb)
                accelerator.backward(loss)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
    record = recorder.record(case, batches_per_epoch=len(loader),
                             processes=accelerator.num_processes)
    if out_path is not None and accelerator.is_main_process:
        with open(out_path, "w") as f:
            json.dump(record, f)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    # the next case builds its own Accelerator with its own accumulation and batches
    AcceleratorState._reset_state(True)
    GradientState._reset_state()
    return record


def _launched(case: dict[str, Any], out_path: str) -> None:
    train(case, out_path)


def run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    preload()
    out = []
    for case in cases:
        if case.get("world_size", 1) == 1:
            out.append(train(case))
        else:
            out.append(launched(_launched, case))
    return out


if __name__ == "__main__":
    main("accelerate", run, ("accelerate",))
