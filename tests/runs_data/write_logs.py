"""Write the logged runs under tests/runs_data/ with the real frameworks, on the CPU.

    /work/venv-fw/bin/python tests/runs_data/write_logs.py

Every run trains a tiny linear model with SGD(lr=0.1) and a CosineAnnealingLR(T_max=40),
the plan of ``cosine.yaml``, and logs the lr its framework's own way. Some runs have a bug
planted, named by their folder, so that ``lrviz verify`` has something to diagnose:

| folder | framework, log | planted |
|---|---|---|
| hf_follows | HF Trainer, trainer_state.json (logging_steps 2) | nothing |
| hf_base_lr | HF Trainer | SGD(lr=0.05): a different base lr |
| hf_old_shift | HF Trainer | logs the lr after scheduler.step(), as transformers < 4.51 did |
| hf_scheduler_only | HF Trainer, resumed at 12 | optimizer.pt deleted (scheduler alone) |
| lightning_follows | Lightning, CSVLogger metrics.csv, accumulate_grad_batches 2 | nothing |
| lightning_micro | Lightning, accumulate 2 | the scheduler stepped on every micro-batch |
| tb_follows | torch loop, SummaryWriter event file | nothing |
| tb_shift | torch loop | lr logged after scheduler.step() |
| tb_fast | torch loop | scheduler.step() twice per optimizer step (accelerate, 2 processes) |
| tb_rebuilt | torch loop, resumed at 20 | the scheduler rebuilt on resume |
| mlflow_db | torch loop, mlflow sqlite store | nothing |
| mlruns | torch loop, mlflow file store | nothing |

Nothing here runs in the test suite: the files it writes are committed, and the tests read
them with lrviz alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
BASE_LR = 0.1
T_MAX = 40


def _data(n: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(n, 4, generator=gen), torch.randn(n, 1, generator=gen)


def _fresh(out: Path) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


# --- HF Trainer ---------------------------------------------------------------------------

def hf_runs() -> None:
    from transformers import Trainer, TrainingArguments

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 1)

        def forward(self, x: Any, labels: Any) -> dict[str, Any]:
            return {"loss": torch.nn.functional.mse_loss(self.linear(x), labels)}

    class OldShift(Trainer):
        """transformers < 4.51: the lr read for the log after scheduler.step()."""

        def _maybe_log_save_evaluate(self, *args: Any, **kwargs: Any) -> Any:
            kwargs["learning_rate"] = None
            return super()._maybe_log_save_evaluate(*args, **kwargs)

    x, y = _data()
    data = [{"x": x[i], "labels": y[i]} for i in range(len(x))]

    def train(name: str, cls: type = Trainer, lr: float = BASE_LR, logging_steps: int = 1,
              resume: bool = False) -> None:
        out = _fresh(HERE / name)
        with tempfile.TemporaryDirectory() as tmp:
            def trainer(max_steps: int = -1) -> Any:
                torch.manual_seed(0)
                model = Model()
                optimizer = torch.optim.SGD(model.parameters(), lr=lr)
                scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_MAX)
                args = TrainingArguments(
                    output_dir=tmp, per_device_train_batch_size=2, num_train_epochs=2,
                    logging_steps=logging_steps, save_strategy="steps", save_steps=12,
                    report_to=[], use_cpu=True, disable_tqdm=True, seed=0)
                return cls(model=model, args=args, train_dataset=data,
                           optimizers=(optimizer, scheduler))

            first = trainer()
            if not resume:
                first.train()
                first.state.save_to_json(str(out / "trainer_state.json"))
                return
            first.args.max_steps = 12
            first.train()
            checkpoint = Path(tmp) / "checkpoint-12"
            (checkpoint / "optimizer.pt").unlink()  # the planted bug
            second = trainer()
            second.train(resume_from_checkpoint=str(checkpoint))
            second.state.save_to_json(str(out / "trainer_state.json"))

    train("hf_follows", logging_steps=2)
    train("hf_base_lr", lr=0.05)
    train("hf_old_shift", cls=OldShift)
    train("hf_scheduler_only", resume=True)


# --- Lightning ----------------------------------------------------------------------------

def lightning_runs() -> None:
    import lightning as L
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger

    x, y = _data()

    class Module(L.LightningModule):
        def __init__(self, micro: bool) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 1)
            self.micro = micro

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            loss = torch.nn.functional.mse_loss(self.linear(batch[0]), batch[1])
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self) -> Any:
            optimizer = torch.optim.SGD(self.parameters(), lr=BASE_LR)
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_MAX)
            if self.micro:  # stepped by hand below, on every micro-batch
                self.by_hand = scheduler
                return optimizer
            return {"optimizer": optimizer,
                    "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

        def on_train_batch_end(self, *args: Any) -> None:
            if self.micro:
                self.by_hand.step()  # the planted bug: every micro-batch, not every step

    for name, micro in (("lightning_follows", False), ("lightning_micro", True)):
        out = _fresh(HERE / name)
        torch.manual_seed(0)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y),
                                             batch_size=2)
        with tempfile.TemporaryDirectory() as tmp:
            trainer = L.Trainer(
                max_epochs=4, accumulate_grad_batches=2, log_every_n_steps=1,
                logger=CSVLogger(tmp, name="run"), accelerator="cpu", devices=1,
                callbacks=[LearningRateMonitor(logging_interval="step")],
                enable_checkpointing=False, enable_progress_bar=False,
                enable_model_summary=False)
            trainer.fit(Module(micro), loader)
            shutil.copy(Path(tmp) / "run" / "version_0" / "metrics.csv", out / "metrics.csv")


# --- a plain loop, logging to TensorBoard and MLflow --------------------------------------

def plain_loop(log: Any, steps: int = 40, lr: float = BASE_LR, per_step: int = 1,
               after: bool = False, rebuild_at: int | None = None) -> None:
    """The loop of lrviz's stepping protocol; ``log(step, lr)`` before optimizer.step()."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    x, y = _data()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_MAX)
    for step in range(steps):
        if step == rebuild_at:  # a resume that builds optimizer and scheduler anew
            optimizer = torch.optim.SGD(model.parameters(), lr=lr)
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_MAX)
        batch = step % 16 * 2
        loss = torch.nn.functional.mse_loss(model(x[batch:batch + 2]), y[batch:batch + 2])
        if not after:
            log(step, optimizer.param_groups[0]["lr"])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        for _ in range(per_step):
            scheduler.step()
        if after:  # the planted bug: the lr of the next step
            log(step, optimizer.param_groups[0]["lr"])


def tensorboard_runs() -> None:
    from torch.utils.tensorboard import SummaryWriter

    cases: dict[str, dict[str, Any]] = {
        "tb_follows": {}, "tb_shift": {"after": True}, "tb_fast": {"per_step": 2},
        "tb_rebuilt": {"rebuild_at": 20}}
    for name, planted in cases.items():
        out = _fresh(HERE / name)
        with tempfile.TemporaryDirectory() as tmp:
            writer = SummaryWriter(tmp)
            plain_loop(lambda step, lr, w=writer: w.add_scalar("lr", lr, step), **planted)
            writer.close()
            (event,) = Path(tmp).glob("events.out.tfevents.*")
            # a fixed name: the host name and time in the real one would change every time
            shutil.copy(event, out / "events.out.tfevents.1700000000.host.1.0")


def mlflow_runs() -> None:
    import mlflow

    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # mlruns/ is in maintenance, still written
    for name in ("mlflow_db", "mlruns"):
        out = _fresh(HERE / name)
        with tempfile.TemporaryDirectory() as tmp:
            uri = f"sqlite:///{tmp}/mlflow.db" if name == "mlflow_db" else f"file://{tmp}/mlruns"
            mlflow.set_tracking_uri(uri)
            with mlflow.start_run():
                plain_loop(lambda step, lr: mlflow.log_metric("lr", lr, step=step))
            if name == "mlflow_db":
                # mlflow's schema has some sixty tables, most empty: the file keeps the
                # ones a run's metrics live in, so that it stays small in the repository
                db = sqlite3.connect(f"{tmp}/mlflow.db")
                keep = {"metrics", "runs", "experiments", "alembic_version"}
                tables = [r[0] for r in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")]
                db.execute("PRAGMA foreign_keys = OFF")
                for table in tables:
                    if table not in keep and not table.startswith("sqlite_"):
                        db.execute(f'DROP TABLE "{table}"')
                db.commit()
                db.execute("VACUUM")
                db.close()
                shutil.copy(f"{tmp}/mlflow.db", out / "mlflow.db")
            else:
                shutil.rmtree(out)
                # tags/ holds the user's name and this repository's commit: left out
                shutil.copytree(f"{tmp}/mlruns", out, ignore=shutil.ignore_patterns("tags"))


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    chosen = sys.argv[1:] or ["hf", "lightning", "tensorboard", "mlflow"]
    runs = {"hf": hf_runs, "lightning": lightning_runs, "tensorboard": tensorboard_runs,
            "mlflow": mlflow_runs}
    for name in chosen:
        runs[name]()
    versions = {}
    for module in ("torch", "transformers", "lightning", "tensorboard", "mlflow"):
        with contextlib.suppress(ImportError):
            versions[module] = __import__(module).__version__
    (HERE / "versions.json").write_text(json.dumps(versions, indent=1) + "\n")


if __name__ == "__main__":
    main()
