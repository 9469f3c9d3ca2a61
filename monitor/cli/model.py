"""`wom model build|train|eval|calibrate|blend` and `wom classify`: the classifier from the command line."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import orjson
import typer
from rich.text import Text

from monitor.cli.context import console, literal, open_database, state, wom_command

if TYPE_CHECKING:
    from monitor.classify.training.datasets import LabelledItem

__all__ = ["register"]

model_app = typer.Typer(help="Build, train and evaluate the classifier.", no_args_is_help=True)
corrections_app = typer.Typer(
    help="People's corrections (mention labels) as training data.", no_args_is_help=True
)
model_app.add_typer(corrections_app, name="corrections")
_DATA_HELP = "Folders searched for labelled JSONL splits (train.jsonl, val.jsonl)."


@model_app.command("build")
@wom_command
def build(
    precision: Annotated[str, typer.Option(help="int8 (the default model) or fp32.")] = "int8",
) -> None:
    """Build the default model into its cache now (otherwise it is built on first use)."""
    from monitor.classify.model_build import build_model, load_adapter, model_cache_dir

    if precision not in ("int8", "fp32"):
        raise typer.BadParameter("precision must be int8 or fp32")
    settings = state.settings()
    adapter = load_adapter(Path(settings.classifier.adapter) if settings.classifier.adapter else None)
    started = time.monotonic()
    with console.status(Text(f"building {adapter.version} ({precision}) into {model_cache_dir()}")):
        built = build_model(adapter, precision)  # type: ignore[arg-type]
    console.print(
        f"{built.path} ({built.path.stat().st_size / 1e6:.1f} MB, {time.monotonic() - started:.1f}s)"
    )


@model_app.command("train")
@wom_command
def train(
    data: Annotated[list[Path], typer.Option("--data", help=_DATA_HELP, exists=True, file_okay=False)],
    out: Annotated[
        Path, typer.Option(help=literal("Folder for e5_adapter.npz/.json; point [classifier] adapter at it."))
    ],
    epochs: Annotated[int, typer.Option(min=1)] = 1,
    lora_rank: Annotated[int, typer.Option(min=1)] = 16,
    learning_rate: Annotated[float, typer.Option()] = 8e-4,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    max_length: Annotated[int, typer.Option(min=8, max=512)] = 128,
    dataset_caps: Annotated[
        str, typer.Option(help='Items per dataset, e.g. "tweeteval_sentiment=10000".')
    ] = "",
    complaint_repeat: Annotated[int, typer.Option(min=1)] = 2,
    seed: Annotated[int, typer.Option()] = 0,
    version: Annotated[
        str, typer.Option(help="Version recorded with the model (stored per classification).")
    ] = "",
    init_adapter: Annotated[
        Path | None, typer.Option(help="Continue from this adapter folder (same LoRA rank).", file_okay=False)
    ] = None,
    corrections: Annotated[
        bool,
        typer.Option(
            "--corrections",
            help="Also train on people's corrections (mention labels) in the configured database.",
        ),
    ] = False,
    corrections_repeat: Annotated[
        int, typer.Option(min=1, help="Times each correction is seen per epoch.")
    ] = 1,
    checkpoint_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the run's checkpoint (default: checkpoint/ under --out).", file_okay=False
        ),
    ] = None,
    checkpoint_every: Annotated[int, typer.Option(min=1, help="Steps between checkpoints.")] = 500,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run saved in the checkpoint folder.")
    ] = False,
    keep: Annotated[
        str,
        typer.Option(
            help="Which epoch to keep: best (highest val mean) or last (a stopping point fixed in advance, "
            "so val does not also choose it)."
        ),
    ] = "best",
    stop_after_minutes: Annotated[
        float | None,
        typer.Option(
            min=0, help="Save a checkpoint and stop after this long (exit code 3); continue with --resume."
        ),
    ] = None,
) -> None:
    """Fine-tune the default model (LoRA + heads) on train splits, choose settings on val. Needs torch.

    The run is checkpointed as it goes; Ctrl-C (or SIGTERM) or --stop-after-minutes saves a checkpoint
    and stops with exit code 3, and the same command with --resume continues it exactly.
    """
    from monitor.classify.training.checkpoint import CheckpointError, Checkpoints, TrainingStopped
    from monitor.classify.training.data import pack_from_folders
    from monitor.classify.training.finetune import TrainSettings, save_result
    from monitor.classify.training.finetune import train as run_training

    settings = TrainSettings(
        lora_rank=lora_rank,
        lora_alpha=2.0 * lora_rank,
        learning_rate=learning_rate,
        epochs=epochs,
        batch_size=batch_size,
        complaint_repeat=complaint_repeat,
        dataset_caps=dataset_caps,
        seed=seed,
        corrections_repeat=corrections_repeat,
    )
    if keep not in ("best", "last"):
        raise typer.BadParameter("keep must be best or last", param_hint="--keep")
    checkpoints = Checkpoints(checkpoint_dir or out / "checkpoint", every=checkpoint_every)
    if checkpoints.exists() and not resume:
        raise typer.BadParameter(
            f"{checkpoints.path} holds an earlier run: add --resume to continue it, "
            "or delete that folder to start again",
            param_hint="--resume",
        )
    if resume and not checkpoints.exists():
        raise typer.BadParameter(f"no checkpoint to continue in {checkpoints.folder}", param_hint="--resume")
    extra = _database_corrections() if corrections else []
    with console.status("tokenising train and val splits"):
        pack = pack_from_folders(data, max_length, extra_train=extra)
    console.print(
        f"{len(pack.train):,} train and {len(pack.val):,} val items from {len(pack.datasets)} datasets"
    )
    initial = None
    if init_adapter is not None:
        from monitor.classify.model_build import load_adapter

        loaded = load_adapter(init_adapter)
        initial = loaded.tensors
        console.print(f"continuing from adapter {loaded.version}")
    try:
        with _stop_requests(stop_after_minutes) as should_stop:
            result = run_training(
                pack,
                settings,
                progress=console.print,
                initial_adapter=initial,
                checkpoints=checkpoints,
                should_stop=should_stop,
                keep="last" if keep == "last" else "best",
            )
    except CheckpointError as e:
        raise typer.BadParameter(str(e), param_hint="--resume") from e
    except TrainingStopped as stopped:
        console.print(
            f"stopped at epoch {stopped.epoch} step {stopped.step}; checkpoint {stopped.path}. "
            "Run the same command with --resume to continue."
        )
        raise typer.Exit(code=3) from None
    if init_adapter is not None:
        result.metadata["initial_adapter"] = {"version": loaded.version, "sha256": loaded.fingerprint}
    for path in save_result(result, out, version or time.strftime("local-%Y%m%d%H%M")):
        console.print(f"wrote {path}")
    console.print(
        f"val mean primary metric (calibrated): {result.metadata['val_mean_primary_calibrated']:.4f}"
    )


@contextmanager
def _stop_requests(minutes: float | None) -> Iterator[Callable[[], bool]]:
    """A `should_stop` for training: true after `minutes`, or once SIGINT/SIGTERM arrived (handled here)."""
    deadline = None if minutes is None else time.monotonic() + minutes * 60
    signalled: list[int] = []

    def on_signal(number: int, _frame: object) -> None:
        signalled.append(number)

    in_main_thread = threading.current_thread() is threading.main_thread()
    numbers = (signal.SIGINT, signal.SIGTERM) if in_main_thread else ()
    previous = {number: signal.signal(number, on_signal) for number in numbers}
    try:
        yield lambda: bool(signalled) or (deadline is not None and time.monotonic() >= deadline)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@model_app.command("eval")
@wom_command
def evaluate(
    data: Annotated[list[Path], typer.Option("--data", help=_DATA_HELP, exists=True)],
    split: Annotated[str, typer.Option(help="Split to score; keep test splits for final figures.")] = "val",
    limit: Annotated[int | None, typer.Option(help="First N items per dataset.")] = None,
    lang_hints: Annotated[bool, typer.Option(help="Pass the gold language as the platform's hint.")] = False,
    intent_set: Annotated[
        list[Path] | None,
        typer.Option(
            help="Hand-labelled intent set(s) ({ref, intent, lang} lines, texts looked up under --data) to "
            "score too, per dev/test half and language; repeat for several files.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Score the configured classifier: macro-recall, macro-F1, accuracy, neg-vs-pos, language ID."""
    from monitor.classify.factory import build_classifier
    from monitor.classify.training.datasets import find_data_dirs
    from monitor.classify.training.evaluate import evaluate as run_evaluation
    from monitor.classify.training.evaluate import evaluate_intent, format_intent_scores, format_scores
    from monitor.classify.training.intent_set import load_intent_set

    classifier = build_classifier(state.settings().classifier)
    console.print(f"{classifier.name} {classifier.version}")
    files = [path for path in data if path.is_file()]
    folders = find_data_dirs([path for path in data if path.is_dir()], split)
    if not folders and not files:
        raise typer.BadParameter(f"no {split}.jsonl under {', '.join(map(str, data))}")
    started = time.monotonic()
    scores = run_evaluation(classifier, folders, split, limit, lang_hints=lang_hints)
    typer.echo(format_scores(scores))
    if intent_set:
        loaded = load_intent_set(intent_set, [path for path in data if path.is_dir()])
        typer.echo(f"\nintent on {', '.join(map(str, intent_set))}: {len(loaded.items)} items")
        for reason in loaded.skipped:
            typer.echo(f"intent set: {reason}")
        if loaded.items:
            typer.echo(format_intent_scores(evaluate_intent(classifier, loaded.items)))
    console.print(f"{sum(s.n for s in scores):,} items in {time.monotonic() - started:.0f}s")


@model_app.command("calibrate")
@wom_command
def calibrate(
    data: Annotated[list[Path], typer.Option("--data", help=_DATA_HELP, exists=True, file_okay=False)],
    cv: Annotated[int, typer.Option("--cv", min=2, help="Folds of the cross-validation over val.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the stratified folds.")] = 0,
    grid_step: Annotated[float, typer.Option(min=0.01, max=1.0, help="Step of the offset grid.")] = 0.1,
    write: Annotated[
        str | None,
        typer.Option(
            help="Version to write the CV-chosen calibration under into the configured adapter's "
            "e5_adapter.json, only when it beats today's procedure out of fold."
        ),
    ] = None,
) -> None:
    """Cross-validate the class offsets and complaint threshold over val: in-sample against out-of-fold."""
    import json

    import numpy as np

    from monitor.classify.e5_onnx import E5Classifier
    from monitor.classify.model_build import ADAPTER_JSON, DEFAULT_ADAPTER_DIR, load_adapter
    from monitor.classify.training.cross_validate import (
        Calibration,
        cross_validate,
        format_report,
        improves,
        metadata_with,
    )
    from monitor.classify.training.datasets import find_data_dirs
    from monitor.classify.training.val_logits import load_val_logits

    settings = state.settings().classifier
    if settings.backend != "e5":
        raise typer.BadParameter('calibration applies to the default model ([classifier] backend = "e5")')
    adapter_dir = Path(settings.adapter).expanduser() if settings.adapter else DEFAULT_ADAPTER_DIR
    classifier = E5Classifier(
        adapter=load_adapter(adapter_dir), precision=settings.precision, threads=settings.threads
    )
    folders = find_data_dirs(data, "val")
    if not folders:
        raise typer.BadParameter(f"no val.jsonl under {', '.join(map(str, data))}")
    started = time.monotonic()
    with console.status("val logits (computed once per adapter and data, then cached)"):
        values, cached = load_val_logits(classifier, folders)
    console.print(
        f"{classifier.name} {classifier.version}: {len(values):,} val items, logits "
        f"{'from the cache' if cached else 'computed'} in {time.monotonic() - started:.0f}s"
    )
    current = classifier.adapter.metadata.get("calibration")
    shipped = Calibration.from_metadata(current if isinstance(current, dict) else {})
    grid = np.round(np.arange(-2.0, 2.0 + grid_step / 2, grid_step), 4)
    started = time.monotonic()
    report = cross_validate(values, k=cv, seed=seed, grid=grid, shipped=shipped)
    typer.echo(format_report(report))
    better = improves(report)
    typer.echo(
        f"choosing the shrink by CV {'beats' if better else 'does not beat'} today's procedure out of fold "
        f"({100 * report.mean('cv_nested'):.2f} against {100 * report.mean('cv'):.2f}); "
        f"{time.monotonic() - started:.0f}s"
    )
    if write is None:
        return
    if not better:
        typer.echo("kept the current calibration")
        return
    path = adapter_dir / ADAPTER_JSON
    metadata = metadata_with(classifier.adapter.metadata, report, write, grid_step)
    path.write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    typer.echo(f"wrote the calibration as version {write} into {path}")


@model_app.command("blend")
@wom_command
def blend(
    first: Annotated[
        Path,
        typer.Option(exists=True, file_okay=False, help="Adapter folder of the run's start (weight 1 − w)."),
    ],
    second: Annotated[
        Path, typer.Option(exists=True, file_okay=False, help="Adapter folder of the run's end (weight w).")
    ],
    out: Annotated[Path, typer.Option(file_okay=False, help="Folder to write the blended adapter into.")],
    version: Annotated[str, typer.Option(help="Version of the blended adapter.")],
    weight: Annotated[float, typer.Option(min=0.0, max=1.0, help="w: the second adapter's share.")] = 0.5,
) -> None:
    """Blend two adapters of one lineage in weight space (WiSE-FT); calibrate the result afterwards."""
    import hashlib
    import json

    import numpy as np

    from monitor.classify.model_build import ADAPTER_JSON, ADAPTER_NPZ, load_adapter
    from monitor.classify.training.blend import blend_adapters

    parents = [load_adapter(first), load_adapter(second)]
    if parents[0].scale != parents[1].scale:
        raise typer.BadParameter(f"the adapters' LoRA scales differ ({parents[0].scale}, {parents[1].scale})")
    try:
        tensors = blend_adapters(parents[0].tensors, parents[1].tensors, weight)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    metadata = {
        "version": version,
        "lora_scale": parents[1].scale,
        "blend": {
            "weight": weight,
            "first": {"version": parents[0].version, "sha256": parents[0].fingerprint},
            "second": {"version": parents[1].version, "sha256": parents[1].fingerprint},
        },
        # no offsets and the neutral threshold until `wom model calibrate --write` chooses them
        "calibration": {
            "offsets": {"sentiment_post": [0.0, 0.0, 0.0], "sentiment_review": [0.0, 0.0, 0.0]},
            "complaint_threshold": 0.5,
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / ADAPTER_NPZ, **tensors)  # type: ignore[arg-type]
    (out / ADAPTER_JSON).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    digest = hashlib.sha256((out / ADAPTER_NPZ).read_bytes()).hexdigest()[:12]
    typer.echo(
        f"wrote {out / ADAPTER_NPZ} ({digest}): {1 - weight:g} × {parents[0].version} + {weight:g} × "
        f"{parents[1].version}; calibrate it with `wom model calibrate --write {version}` "
        f'and [classifier] adapter = "{out}"'
    )


def _load_corrections() -> list[LabelledItem]:
    """Every label in the configured database as training items."""
    from monitor.classify.training.corrections import correction_items
    from monitor.storage.labels import labelled_mentions

    engine = open_database(state.settings())
    try:
        with engine.connect() as conn:
            return correction_items(labelled_mentions(conn))
    finally:
        engine.dispose()


def _database_corrections() -> list[LabelledItem]:
    from monitor.storage.db import redact_url

    settings = state.settings()
    items = _load_corrections()
    console.print(
        f"{len(items):,} training items from the corrections in {redact_url(settings.database.url)}"
    )
    return items


@corrections_app.command("export")
@wom_command
def export_corrections(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON Lines file to write; name it DIR/train.jsonl to train with --data DIR.", dir_okay=False
        ),
    ],
) -> None:
    """Write every label in the database as training items: {"text", "label", "lang", "kind"} per line."""
    from monitor.classify.training.corrections import write_corrections

    written = write_corrections(_load_corrections(), file)
    console.print(f"{written:,} items written to {file}")


def _lines(source: TextIO) -> list[str]:
    return [line.rstrip("\n") for line in source if line.strip()]


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")

    @app.command()
    @wom_command
    def classify(
        file: Annotated[
            Path | None, typer.Argument(help="One text per line; stdin when absent.", dir_okay=False)
        ] = None,
        batch: Annotated[int, typer.Option(min=1, help="Texts classified per model call.")] = 256,
    ) -> None:
        """Classify texts: one JSON object per line with sentiment, confidence, score, lang and intent."""
        from monitor.classify.factory import build_classifier

        classifier = build_classifier(state.settings().classifier)
        source = file.open(encoding="utf-8") if file is not None else sys.stdin
        try:
            pending: list[str] = []
            for line in source:
                if line.strip():
                    pending.append(line.rstrip("\n"))
                if len(pending) >= batch:
                    _emit(classifier, pending)
                    pending = []
            if pending:
                _emit(classifier, pending)
        finally:
            if file is not None:
                source.close()


def _emit(classifier: object, texts: list[str]) -> None:
    results = classifier.classify(texts)  # type: ignore[attr-defined]
    out = sys.stdout.buffer
    for text, result in zip(texts, results, strict=True):
        record = {
            "text": text,
            "sentiment": result.sentiment,
            "confidence": round(result.confidence, 4),
            "score": round(result.score, 4),
            "lang": result.lang,
            "intent": result.intent,
        }
        out.write(orjson.dumps(record) + b"\n")
    out.flush()
