"""Iteration-based training with the paper's protocol (docs/SPEC.md section 4).

``train(config)`` runs alone (``python tools/train.py``) or as one of several processes
started by ``torchrun`` (DistributedDataParallel, SyncBatchNorm on CUDA, sharded data).
Only rank 0 prints, logs and writes files. A run directory holds ``config.yaml``,
``last.pt`` / ``best.pt``, ``log.jsonl``, TensorBoard events and ``curves.png``; running
the same command again continues from ``last.pt`` with the same schedule (a longer one
only when asked to ``extend``; a finished run just reports its results). One process at
a time uses a run directory (``run_lock``); temporaries of killed runs are removed there.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from segmnv3.core.errors import CheckpointError, UserError, user_message
from segmnv3.core.files import remove_stale_temporaries, write_text_atomic
from segmnv3.core.label_file import LABELS_KEY
from segmnv3.data.metrics import all_reduce_sum, check_train_ids
from segmnv3.engine import checkpoint
from segmnv3.engine.config import Config
from segmnv3.engine.data_loop import (
    BatchStream,
    build_datasets,
    build_eval_loader,
    ensure_synthetic,
)
from segmnv3.engine.distributed import (
    DistributedContext,
    any_rank,
    barrier,
    broadcast_buffers,
    init_distributed,
    parameter_fingerprints,
    shutdown,
)
from segmnv3.engine.divergence import TrainingDiverged, diverged_error, nonfinite_state
from segmnv3.engine.eval_report import check_class_count
from segmnv3.engine.evaluator import autocast_context, evaluate
from segmnv3.engine.finetune import inherit_source_numerics
from segmnv3.engine.losses import build_loss
from segmnv3.engine.model_setup import build_training_model, wrap_for_training
from segmnv3.engine.optim import build_optimizer, build_scheduler
from segmnv3.engine.resume import (
    check_same_labels,
    check_schedule,
    describe_miou,
    stored_last_miou,
)
from segmnv3.engine.rng import capture_rng_state, restore_rng_state, seed_everything
from segmnv3.engine.run_lock import RunLock
from segmnv3.engine.run_log import RunLog, plot_curves
from segmnv3.engine.save_policy import SavePolicy
from segmnv3.engine.signals import StopRequest


@dataclass
class TrainResult:
    """How a run ended: its directory, last step, best and last validation mIoU."""

    run_dir: Path
    step: int
    best_miou: float
    last_miou: float | None
    interrupted: bool


def train(
    config: Config,
    *,
    resume: str | Path | None = None,
    progress: bool = True,
    extend: bool = False,
) -> TrainResult:
    """Train ``config`` (resuming from ``resume``, or from ``out_dir/last.pt`` if present).

    Args:
        config: the run; ``train.out_dir`` is locked for this process while it runs.
        resume: a training checkpoint to continue instead of ``out_dir/last.pt``.
        progress: show a progress bar.
        extend: allow ``train.iterations`` to differ from the checkpoint's (it must exceed
            the step reached): the poly schedule is recomputed for the new length.

    Raises:
        RunDirectoryError: ``out_dir`` is a file, not writable, or used by a live run.
        ScheduleChangeError: another ``train.iterations`` than the checkpoint's, without
            ``extend`` (or not beyond its step).
    """
    context = init_distributed(config.train.device)
    threads = torch.get_num_threads()  # train.cpu_threads changes it for this run only
    lock = RunLock(config.train.out_dir) if context.is_main else nullcontext()
    try:
        with lock:
            if context.is_main:
                _announce_cleanup(lock)
                ensure_synthetic(config.data)
            barrier(context)
            trainer = Trainer(config, context, progress=progress)
            trainer.restore(resume, extend=extend)
            return trainer.run()
    finally:
        torch.set_num_threads(threads)
        shutdown(context)


def _announce_cleanup(lock: RunLock) -> None:
    """Say whose lock was taken over and which temporaries of killed runs were removed."""
    if lock.previous_pid is not None:
        print(f"{lock.run_dir}: process {lock.previous_pid} ended without releasing it")
    removed = remove_stale_temporaries(lock.run_dir)
    if removed:
        names = ", ".join(path.name for path in removed[:5])
        more = f" and {len(removed) - 5} more" if len(removed) > 5 else ""
        print(
            f"{lock.run_dir}: removed {len(removed)} temporary file(s) left by killed runs "
            f"({names}{more})"
        )


class Trainer:
    """Model, optimiser, schedule and data of one run; ``run()`` is the loop."""

    def __init__(self, config: Config, context: DistributedContext, *, progress: bool) -> None:
        # A fine-tuning source's numerics and normalisation, unless the config sets them.
        config = inherit_source_numerics(config, announce=print if context.is_main else None)
        self.config, self.context, self.progress = config, context, progress
        options = config.train
        self.run_dir = Path(options.out_dir)
        self.device = context.device
        cuda = self.device.type == "cuda"
        self.amp = options.amp if cuda else "none"
        self.memory_format = (
            torch.channels_last if cuda and options.channels_last else torch.contiguous_format
        )
        if cuda:
            torch.backends.cudnn.benchmark = True
        if options.cpu_threads is not None:
            torch.set_num_threads(options.cpu_threads)
        self.train_set, self.val_set = build_datasets(config.data)  # fail fast on a bad root
        self.labels = self.train_set.labels  # stored in every checkpoint
        check_class_count(config, self.labels)
        self.labels_checked = False  # the first batch's masks are checked against num_classes
        seed_everything(options.seed)  # identical initial weights on every rank
        self.raw_model = build_training_model(config, context, self.memory_format, self.labels)
        self.model, self.ddp = wrap_for_training(self.raw_model, config, context)
        self.loss = build_loss(options, config.model.num_classes).to(self.device)
        self.optimizer = build_optimizer(self.raw_model, options, context.world_size)
        self.scheduler = build_scheduler(self.optimizer, options)
        self.scaler = torch.amp.GradScaler("cuda", enabled=cuda and options.amp == "fp16")
        self.step, self.best_miou, self.last_lr = 0, -1.0, 0.0
        self.last_miou: float | None = None  # of the latest validation
        self.saves = SavePolicy(options.ckpt_interval)  # decides when to write checkpoints
        self.clock = (time.perf_counter(), 0)  # (time, step) the it/s rate is measured from
        self.resumed = False  # restored from a checkpoint (config.yaml is then already there)

    def restore(self, resume: str | Path | None, *, extend: bool = False) -> None:
        """Load a training checkpoint: ``resume``, else ``out_dir/last.pt`` when it exists.

        ``extend`` allows another ``train.iterations`` (see :func:`check_schedule`).
        """
        path = Path(resume) if resume else self.run_dir / checkpoint.LAST_NAME
        if resume is None and not path.is_file():
            return
        state = checkpoint.load_checkpoint(path, map_location=self.device)
        if not checkpoint.is_training_checkpoint(state) or "optimizer" not in state:
            raise CheckpointError(
                f"{path} is not a training checkpoint (no optimizer state) and cannot be "
                "resumed; to start a new run from its weights, set model.init_weights (or "
                "train --init-weights) instead"
            )
        if resume is None and state["config"].get("model") != self.config.to_dict()["model"]:
            raise CheckpointError(
                f"{self.run_dir} already holds a run of another model ({path}); "
                "choose a new --out-dir, or pass --resume to continue that run"
            )
        check_schedule(state, self.config.train.iterations, source=path, extend=extend)
        check_same_labels(state, self.labels, self.config, source=path)
        checkpoint.load_weights(self.raw_model, state["model"], source=str(path))
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        for group, base, factor in zip(
            self.optimizer.param_groups,
            self.scheduler.base_lrs,
            self.scheduler.lr_lambdas,
            strict=True,
        ):  # the stored lr is the old schedule's (0.0 at its end when extending)
            group["lr"] = base * factor(int(state["step"]))
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        restore_rng_state(state["rng"])
        self.step, self.best_miou = int(state["step"]), float(state["best_miou"])
        self.last_miou = stored_last_miou(state, path)
        self.saves.saved_step = self.step
        self.resumed = True
        if self.step < self.config.train.iterations:
            self._print(f"resuming from {path} at step {self.step}/{self.config.train.iterations}")

    def run(self) -> TrainResult:
        """Train until ``train.iterations`` or a stop signal; validate, log and checkpoint."""
        options = self.config.train
        if self.step >= options.iterations:
            return self._already_finished()
        self._write_config()
        stream = BatchStream(
            self.train_set,
            batch_size=options.batch_size,
            context=self.context,
            seed=options.seed,
            start=self.step * options.accumulate,
            num_workers=self.config.data.num_workers,
        )
        log = RunLog(
            self.run_dir,
            enabled=self.context.is_main,
            resume_step=self.step,
            tensorboard=options.tensorboard,
        )
        show = self.progress and self.context.is_main
        bar = tqdm(total=options.iterations, initial=self.step, desc="train", disable=not show)
        interrupted = False
        self.clock = (time.perf_counter(), self.step)
        with StopRequest() as stop:
            while self.step < options.iterations and not interrupted:
                loss = self._step_or_save(stream)
                self.step += 1
                bar.update(1)
                self._after_step(log, bar, loss)
                interrupted = any_rank(stop.requested, self.context)
        bar.close()
        return self._finish(log, interrupted)

    def _step_or_save(self, stream: BatchStream) -> torch.Tensor:
        """One step; a bad file met on the way (a ``UserError``) first saves ``last.pt`` at
        the step reached, so fixing the file and rerunning loses no work."""
        try:
            return self._train_step(stream)
        except UserError as error:
            if self.step > self.saves.saved_step:
                self._checkpoint(stopping=True)
            error.args = (
                f"{user_message(error)}; training stopped at step {self.step} and "
                f"{self.run_dir}/last.pt holds it: fix or remove that file and rerun the "
                "same command to resume",
            )
            raise

    def _after_step(self, log: RunLog, bar: tqdm, loss: torch.Tensor) -> None:
        """Log and validate when due, then checkpoint as the ``SavePolicy`` decides."""
        options = self.config.train
        final = self.step == options.iterations
        if self.step % options.log_interval == 0 or final:
            started, started_step = self.clock
            rate = (self.step - started_step) / (time.perf_counter() - started)
            self._log_train(log, bar, loss, rate)
        miou = None
        if final or (options.val_interval and self.step % options.val_interval == 0):
            miou = self._validate(log)
        self._checkpoint(miou=miou, loss=loss)

    def _checkpoint(
        self,
        *,
        miou: float | None = None,
        stopping: bool = False,
        loss: torch.Tensor | None = None,
    ) -> None:
        """Write what ``self.saves`` decides for this step (all ranks agree; rank 0 writes).

        Nothing is written from a diverged model: before every save, this step's ``loss``
        and every weight and buffer must be finite (else ``TrainingDiverged``).
        """
        decision = self.saves.decide(
            self.step, best_miou=self.best_miou, miou=miou, stopping=stopping
        )
        if decision.save:
            self._check_finite(loss)
        if decision.new_best is not None:
            self.best_miou = decision.new_best  # before saving: the state records it
        if decision.save:
            if self.context.is_main:
                state = self._state()
                checkpoint.save_run_checkpoint(state, self.run_dir, is_best=decision.is_best)
                self._write_config(announce=False)  # config.yaml == the checkpoint's config
            self.saves.saved_step = self.step

    def _train_step(self, stream: BatchStream) -> torch.Tensor:
        """One optimiser step over ``accumulate`` micro-batches; returns the mean loss."""
        self.model.train()
        accumulate = self.config.train.accumulate
        total = torch.zeros((), device=self.device)
        for micro in range(accumulate):
            images, masks = next(stream)
            if not self.labels_checked:  # cheap on the CPU; on CUDA a bad id is a device assert
                check_train_ids(masks, self.config.model.num_classes)
                self.labels_checked = True
            images = images.to(self.device, non_blocking=True)  # (B, 3, H, W)
            images = images.contiguous(memory_format=self.memory_format)
            masks = masks.to(self.device, non_blocking=True)  # (B, H, W)
            synchronise = self.ddp is None or micro == accumulate - 1
            with nullcontext() if synchronise else self.ddp.no_sync():
                with autocast_context(self.device, self.amp):
                    logits = self.model(images)  # (B, C, H, W)
                loss = self.loss(logits, masks) / accumulate
                self.scaler.scale(loss).backward()
            total += loss.detach()
        self.last_lr = self.optimizer.param_groups[0]["lr"]
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        return total

    def _log_train(self, log: RunLog, bar: tqdm, loss: torch.Tensor, rate: float) -> None:
        value = all_reduce_sum(loss.clone()).item() / self.context.world_size
        if not math.isfinite(value):
            raise self._diverged(f"the training loss became {value}")
        bar.set_postfix(loss=f"{value:.4f}", lr=f"{self.last_lr:.2e}", refresh=False)
        log.write("train", self.step, {"loss": value, "lr": self.last_lr, "it_per_s": rate})

    def _check_finite(self, loss: torch.Tensor | None) -> None:
        """``TrainingDiverged`` (on every rank) when ``loss`` or a weight is NaN or inf."""
        what = nonfinite_state(self.raw_model, loss, self.context)
        if what is not None:
            raise self._diverged(what)

    def _diverged(self, what: str) -> TrainingDiverged:
        """The error for a run that diverged at this step, saying truly what is on disk."""
        return diverged_error(
            what,
            step=self.step,
            run_dir=self.run_dir,
            saved_step=self.saves.saved_step,
            amp=self.amp,
            last_name=checkpoint.LAST_NAME,
        )

    def _validate(self, log: RunLog) -> float:
        """mIoU on the validation split (all ranks); logs it and updates ``last_miou``.

        Does not decide about checkpoints (:meth:`checkpoint_due` does) nor update
        ``best_miou`` (the save decision does, so best.pt records its own score).
        """
        broadcast_buffers(self.raw_model, self.context)
        loader = build_eval_loader(
            self.val_set,
            self.context,
            batch_size=self.config.eval.batch_size,
            num_workers=min(self.config.data.num_workers, 2),
            max_images=self.config.train.val_max_images,
        )
        scores = evaluate(
            self.raw_model,
            loader,
            num_classes=self.config.model.num_classes,
            device=self.device,
            scales=self.config.eval.scales,
            flip=self.config.eval.flip,
            amp=self.amp,
            channels_last=self.memory_format == torch.channels_last,
            progress=False,
        )
        log.write("val", self.step, scores.to_dict(self.labels.names))
        best = max(self.best_miou, scores.miou)
        self._print(
            f"step {self.step}: val mIoU {100 * scores.miou:.2f}  "
            f"pixel acc {100 * scores.pixel_accuracy:.2f}  (best {100 * best:.2f})"
        )
        self.last_miou = scores.miou
        return scores.miou

    def _state(self) -> dict:
        return {
            "model": self.raw_model.state_dict(),
            "config": self.config.to_dict(),
            LABELS_KEY: self.labels.to_dict(),
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": capture_rng_state(),
            "best_miou": self.best_miou,
            "last_miou": self.last_miou,
        }

    def _write_config(self, *, announce: bool = True) -> None:
        """Print the config; write config.yaml for a new run and beside every checkpoint.

        A resumed run keeps the stored config.yaml until its next checkpoint, so the file
        always describes the run that ``last.pt`` holds.
        """
        if not self.context.is_main:
            return
        text = self.config.to_yaml()
        if announce:
            print(f"resolved config:\n{text}")
        if not announce or not self.resumed:
            write_text_atomic(self.run_dir / "config.yaml", text)

    def _already_finished(self) -> TrainResult:
        """A rerun of a finished run: report it, write nothing."""
        self._print(
            f"{self.run_dir} already holds a finished run (step {self.step}/"
            f"{self.config.train.iterations}): best val mIoU {describe_miou(self.best_miou)}, "
            f"last {describe_miou(self.last_miou)}; extend it to a larger train.iterations "
            "to train longer"
        )
        return TrainResult(self.run_dir, self.step, self.best_miou, self.last_miou, False)

    def _finish(self, log: RunLog, interrupted: bool) -> TrainResult:
        self._checkpoint(stopping=True)
        broadcast_buffers(self.raw_model, self.context)
        if self.context.distributed:
            fingerprints = parameter_fingerprints(self.raw_model, self.context)
            log.write("ddp", self.step, {"fingerprints": fingerprints})
            if len(set(fingerprints)) != 1:
                raise RuntimeError(f"DDP ranks diverged: parameter hashes {fingerprints}")
        log.close()
        if self.context.is_main:
            curves = plot_curves(self.run_dir)
            where = f"checkpoints in {self.run_dir}" + (f", curves in {curves}" if curves else "")
            if interrupted:
                print(f"stopped at step {self.step}; rerun the same command to continue ({where})")
            else:
                print(f"done: best val mIoU {describe_miou(self.best_miou)}; {where}")
        return TrainResult(self.run_dir, self.step, self.best_miou, self.last_miou, interrupted)

    def _print(self, message: str) -> None:
        if self.context.is_main:
            tqdm.write(message)
