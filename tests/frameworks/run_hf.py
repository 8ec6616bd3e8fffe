"""HF Trainer (transformers) runs of the grid: ``python run_hf.py OUT.json``.

The Trainer builds its own optimizer loop; ``create_scheduler`` is overridden only to record
the ``num_training_steps`` the Trainer passes (and the warmup ``get_warmup_steps`` makes of a
ratio) and to hand back the reference cosine, so the recorded lr shows how many times the
Trainer stepped it. A case with ``world_size: 2`` runs the Trainer in two CPU processes
with the gloo backend (``accelerate.debug_launcher``); rank 0 records.
"""

from __future__ import annotations

import json
import tempfile
from typing import Any

from common import BASE_LR, Recorder, features, launched, main, scheduler_for

WARMUP_RATIO = 0.1


def run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every case; one with world_size > 1 in that many CPU processes (gloo)."""
    out = []
    for case in cases:
        processes = case.get("world_size", 1)
        if processes == 1:
            out.extend(_train([case]))
            continue
        out.append(launched(_launched, case))
    return out


def _launched(case: dict[str, Any], path: str) -> None:
    import torch.distributed as dist

    record = _train([case])[0]
    if dist.get_rank() == 0:  # every rank sees the same lr
        with open(path, "w") as f:
            json.dump(record, f)


def _train(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 1)

        def forward(self, x: Any, labels: Any) -> dict[str, Any]:
            return {"loss": torch.nn.functional.mse_loss(self.linear(x), labels)}

    class Epochs(TrainerCallback):
        def __init__(self) -> None:
            self.recorder: Recorder | None = None

        def on_epoch_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            assert self.recorder is not None
            self.recorder.current_epoch += 1

    class RecordingTrainer(Trainer):
        def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
            optimizer = optimizer if optimizer is not None else self.optimizer
            self.filled = {"num_training_steps": num_training_steps,
                           "warmup": self.args.get_warmup_steps(num_training_steps)}
            self.lr_scheduler = scheduler_for(optimizer)
            self.recorder = Recorder(optimizer, self.lr_scheduler)
            self.recorder.current_epoch = -1  # on_epoch_begin counts from 0
            self.epochs_callback.recorder = self.recorder
            return self.lr_scheduler

    out = []
    for case in cases:
        x, y = features(case["dataset_size"])
        data = [{"x": x[i], "labels": y[i]} for i in range(len(x))]
        with tempfile.TemporaryDirectory() as tmp:
            args = TrainingArguments(
                output_dir=tmp, per_device_train_batch_size=case["batch_size"],
                gradient_accumulation_steps=case["grad_accum"],
                num_train_epochs=case.get("epochs", 1), max_steps=case.get("max_steps") or -1,
                dataloader_drop_last=bool(case.get("drop_last")), learning_rate=BASE_LR,
                warmup_steps=WARMUP_RATIO, report_to="none", logging_strategy="no",
                save_strategy="no", use_cpu=True, disable_tqdm=True,
                remove_unused_columns=False, seed=0)
            epochs = Epochs()
            model = Model()
            optimizer = torch.optim.SGD(model.parameters(), lr=BASE_LR)
            trainer = RecordingTrainer(model=model, args=args, train_dataset=data,
                                       optimizers=(optimizer, None), callbacks=[epochs])
            trainer.epochs_callback = epochs
            trainer.train()
            batches = len(trainer.get_train_dataloader())
            out.append(trainer.recorder.record(
                case, batches_per_epoch=batches,
                lengths={"num_training_steps": trainer.filled["num_training_steps"]},
                warmup={"ratio": WARMUP_RATIO, "steps": trainer.filled["warmup"]}))
    return out


if __name__ == "__main__":
    main("hf-trainer", run, ("transformers", "accelerate"))
