"""Lightning Trainer runs of the grid: ``python run_lightning.py OUT.json``.

``configure_optimizers`` returns the reference cosine in an ``lr_scheduler`` config with the
case's ``interval`` and ``frequency`` (left out when the case leaves them out, so Lightning's
own defaults apply) and records ``trainer.estimated_stepping_batches``.
"""

from __future__ import annotations

import logging
from typing import Any

from common import BASE_LR, Recorder, features, main, scheduler_for


def run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import lightning as L
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

    class Module(L.LightningModule):
        def __init__(self, case: dict[str, Any]) -> None:
            super().__init__()
            self.case = case
            self.linear = torch.nn.Linear(4, 1)

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            x, y = batch
            return torch.nn.functional.mse_loss(self.linear(x), y)

        def on_train_epoch_start(self) -> None:
            self.recorder.current_epoch = self.trainer.current_epoch

        def configure_optimizers(self) -> Any:
            optimizer = torch.optim.SGD(self.parameters(), lr=BASE_LR)
            scheduler = scheduler_for(optimizer)
            self.recorder = Recorder(optimizer, scheduler)
            self.estimated = self.trainer.estimated_stepping_batches
            config: dict[str, Any] = {"scheduler": scheduler}
            for key in ("interval", "frequency"):
                if self.case.get(key) is not None:
                    config[key] = self.case[key]
            return {"optimizer": optimizer, "lr_scheduler": config}

    out = []
    for case in cases:
        x, y = features(case["dataset_size"])
        loader = DataLoader(TensorDataset(x, y), batch_size=case["batch_size"], shuffle=True,
                            drop_last=bool(case.get("drop_last")))
        module = Module(case)
        trainer = L.Trainer(
            max_epochs=case.get("epochs"), max_steps=case.get("max_steps") or -1,
            accumulate_grad_batches=case["grad_accum"], accelerator="cpu", devices=1,
            logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False, num_sanity_val_steps=0, deterministic=True)
        trainer.fit(module, loader)
        out.append(module.recorder.record(
            case, batches_per_epoch=trainer.num_training_batches,
            lengths={"estimated_stepping_batches": int(module.estimated)}))
    out.extend(_loaders())
    return out


def _loaders() -> list[dict[str, Any]]:
    """Batches per process on rank 0 of 2: the loader Lightning's DDP set-up makes of the
    user's (its own DistributedSampler injection, with the kwargs DDPStrategy passes)."""
    from lightning.pytorch.trainer.connectors.data_connector import _get_distributed_sampler
    from lightning.pytorch.trainer.states import RunningStage
    from lightning.pytorch.utilities.data import _update_dataloader
    from torch.utils.data import DataLoader

    out = []
    for n, batch, drop in ((37, 4, False), (39, 4, True), (100, 8, True)):
        loader = DataLoader(list(range(n)), batch_size=batch, shuffle=True, drop_last=drop)
        sampler = _get_distributed_sampler(loader, shuffle=True, overfit_batches=0,
                                           mode=RunningStage.TRAINING, num_replicas=2, rank=0)
        prepared = _update_dataloader(loader, sampler, mode=RunningStage.TRAINING)
        case = {"framework": "lightning", "dataset_size": n, "batch_size": batch,
                "world_size": 2, "drop_last": drop, "epochs": 1}
        out.append({"case": f"lightning-loader-n{n}-b{batch}-ws2" + ("-drop" if drop else ""),
                    "loop": case, "loader_only": True, "batches_per_epoch": len(prepared)})
    return out


if __name__ == "__main__":
    main("lightning", run, ("lightning",))
