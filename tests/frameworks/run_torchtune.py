"""torchtune runs of the grid: ``python run_torchtune.py OUT.json``.

The recipe itself is too heavy for a test (a real model, tokenizer and checkpointer), so
this runs the real ``FullFinetuneRecipeSingleDevice`` code on a stand-in: the recipe's own
``_setup_data`` builds the dataloader (torchtune's StatefulDistributedSampler and
StatefulDataLoader with ``drop_last=True``, torchtune's ``padded_collate_sft``) over a tiny
token dataset, and the recipe's own ``train()`` runs the loop, with a one-parameter model,
``_loss_step`` replaced by a small loss, and no-op profiler, logger and checkpointing.
Only the length the recipe computes in ``setup()`` is restated here, from its source
(recipes/full_finetune_single_device.py, torchtune 0.6.1):

    steps_per_epoch = len(dataloader) // gradient_accumulation_steps
    if max_steps_per_epoch is not None and max_steps_per_epoch < steps_per_epoch:
        steps_per_epoch = max_steps_per_epoch
    num_training_steps = total_epochs * steps_per_epoch

Loader-only cases check what several processes would see: the batches per process of the
same sampler and dataloader with ``num_replicas=2`` (the distributed recipe's set-up).
"""

from __future__ import annotations

import contextlib
import os
import types
from typing import Any

from common import BASE_LR, Recorder, main, scheduler_for

IGNORE = -100


def make_dataset(tokenizer: Any, size: int) -> list[dict[str, list[int]]]:
    return [{"tokens": [1 + i % 7, 2, 3], "labels": [1 + i % 7, 2, 3]} for i in range(size)]


def run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import torch
    from omegaconf import OmegaConf

    FullFinetuneRecipeSingleDevice = _recipe().FullFinetuneRecipeSingleDevice

    out = []
    for case in cases:
        recipe: Any = object.__new__(FullFinetuneRecipeSingleDevice)
        recipe._tokenizer = types.SimpleNamespace(pad_id=0)
        recipe._loss_fn = types.SimpleNamespace(ignore_index=IGNORE)
        dataset = OmegaConf.create({"_component_": f"{__name__}.make_dataset",
                                    "size": case["dataset_size"]})
        recipe._dataloader = recipe._setup_data(
            dataset, shuffle=True, batch_size=case["batch_size"],
            collate_fn="torchtune.data.padded_collate_sft")
        weight = torch.nn.Parameter(torch.ones(1))
        recipe._model = torch.nn.ParameterList([weight])
        optimizer = torch.optim.SGD([weight], lr=BASE_LR)
        scheduler = scheduler_for(optimizer)
        recorder = Recorder(optimizer, scheduler)

        def loss_step(batch: dict[str, Any], weight: Any = weight) -> Any:
            return (weight * batch["tokens"].float().mean()).pow(2).sum()

        ga = case["grad_accum"]
        steps_per_epoch = len(recipe._dataloader) // ga
        cap = case.get("max_steps_per_epoch")
        if cap is not None and cap < steps_per_epoch:
            steps_per_epoch = cap

        def save_checkpoint(epoch: int, recorder: Recorder = recorder) -> None:
            recorder.current_epoch = epoch + 1  # the recipe saves after every epoch

        recipe.__dict__.update(
            _compile=False, _optimizer_in_bwd=False, _optimizer=optimizer,
            _lr_scheduler=scheduler, epochs_run=0, total_epochs=int(case["epochs"]),
            _steps_per_epoch=steps_per_epoch, max_steps_per_epoch=cap,
            _gradient_accumulation_steps=ga, global_step=0, _log_every_n_steps=10**9,
            _clip_grad_norm=None, _device=torch.device("cpu"), profiler_profile_memory=False,
            _log_peak_memory_stats=False, _loss_step=loss_step,
            _profiler=types.SimpleNamespace(start=lambda: None, step=lambda: None,
                                            stop=lambda: None),
            _metric_logger=types.SimpleNamespace(log_dict=lambda *a, **k: None),
            save_checkpoint=save_checkpoint)
        with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):  # tqdm
            recipe.train()
        out.append(recorder.record(
            case, batches_per_epoch=len(recipe._dataloader),
            lengths={"num_training_steps": int(case["epochs"]) * steps_per_epoch}))
    out.extend(_loaders())
    return out


def _recipe() -> Any:
    """torchtune's installed recipe file, loaded by path (its folder refuses imports)."""
    import importlib.util
    from pathlib import Path

    found = importlib.util.find_spec("recipes")
    assert found is not None and found.submodule_search_locations
    path = Path(next(iter(found.submodule_search_locations))) / "full_finetune_single_device.py"
    spec = importlib.util.spec_from_file_location("torchtune_full_finetune_single_device", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _loaders() -> list[dict[str, Any]]:
    """Batches per process on rank 0 of 2, as the distributed recipe builds its loader."""
    from torchdata.stateful_dataloader import StatefulDataLoader
    from torchdata.stateful_dataloader.sampler import StatefulDistributedSampler

    out = []
    for n, batch in ((37, 4), (39, 4), (100, 8)):
        data = list(range(n))
        sampler = StatefulDistributedSampler(data, num_replicas=2, rank=0, shuffle=True,
                                             seed=0)
        loader = StatefulDataLoader(data, batch_size=batch, sampler=sampler, drop_last=True)
        case = {"framework": "torchtune", "dataset_size": n, "batch_size": batch,
                "world_size": 2, "epochs": 1}
        out.append({"case": f"torchtune-loader-n{n}-b{batch}-ws2", "loop": case,
                    "loader_only": True, "batches_per_epoch": len(loader)})
    return out


if __name__ == "__main__":
    main("torchtune", run, ("torchtune", "torchao", "torchdata"))
