"""People's corrections as training data: loading from the database (SQLite and PostgreSQL), the export in
the format of ../shared/data, packing into the train split only, and `wom model train --corrections`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from monitor.classify.training.corrections import correction_items, write_corrections
from monitor.classify.training.data import pack_from_folders
from monitor.classify.training.datasets import CORRECTIONS_DATASET, LabelledItem, load_folder
from monitor.classify.training.pack import TASKS
from monitor.cli import app
from monitor.storage.db import connect, upgrade_schema
from monitor.storage.labels import labelled_mentions, upsert_label
from monitor.storage.models import Mention
from monitor.storage.tables import table_of

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_MENTION = table_of(Mention)

# (text, lang, rating, [(sentiment, intent, minutes after NOW)])
LABELLED: list[tuple[str, str | None, float | None, list[tuple[str | None, str | None, int]]]] = [
    ("Oh sure, lose my parcel, love it", "en", None, [("negative", "complaint", 0)]),
    ("Bezorger was laat maar de koffie is top", "nl", 4.0, [("negative", None, 0), ("positive", None, 5)]),
    ("Kunnen jullie ook naar België sturen?", "nl", None, [(None, "question", 0)]),
    (
        "Oh sure, lose my parcel, love it",
        "en",
        None,
        [("negative", "complaint", 1)],
    ),  # a retweet of the first
    ('Hostile "<script>alert(1)</script>" \\ text', None, None, [("neutral", None, 0)]),
]


def _store(engine: Engine) -> None:
    with engine.begin() as conn:
        for number, (text, lang, rating, labels) in enumerate(LABELLED):
            mention_id = conn.execute(
                sa.insert(_MENTION)
                .values(
                    source="x", external_id=str(number), text=text, lang=lang, rating=rating, created_at=NOW
                )
                .returning(_MENTION.c.id)
            ).scalar_one()
            conn.execute(
                sa.insert(_MENTION).values(
                    source="x", external_id=f"{number}-unlabelled", text="x", created_at=NOW
                )
            )
            for sentiment, intent, minutes in labels:
                upsert_label(
                    conn,
                    mention_id=mention_id,
                    sentiment=sentiment,
                    intent=intent,
                    labeled_by="tests",
                    now=NOW + timedelta(minutes=minutes),
                )


EXPECTED = [
    LabelledItem("Oh sure, lose my parcel, love it", "negative", "en", "post", CORRECTIONS_DATASET),
    LabelledItem("Oh sure, lose my parcel, love it", "complaint", "en", "post", CORRECTIONS_DATASET),
    LabelledItem("Kunnen jullie ook naar België sturen?", "not_complaint", "nl", "post", CORRECTIONS_DATASET),
    LabelledItem('Hostile "<script>alert(1)</script>" \\ text', "neutral", None, "post", CORRECTIONS_DATASET),
    LabelledItem("Bezorger was laat maar de koffie is top", "positive", "nl", "review", CORRECTIONS_DATASET),
]


def _load_corrections(engine: Engine) -> list[LabelledItem]:
    with engine.connect() as conn:
        return correction_items(labelled_mentions(conn))


def test_corrections_load_as_items_one_per_text_and_head(engine: Engine) -> None:
    _store(engine)
    assert sorted(_load_corrections(engine), key=EXPECTED.index) == EXPECTED
    assert len(_load_corrections(engine)) == len(EXPECTED)


def test_export_reads_back_as_a_dataset(tmp_path: Path) -> None:
    folder = tmp_path / "corrections"
    assert write_corrections(EXPECTED, folder / "train.jsonl") == 5
    lines = (folder / "train.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {
        "text": "Oh sure, lose my parcel, love it",
        "label": "negative",
        "lang": "en",
        "kind": "post",
    }
    again = load_folder(folder, "train")
    assert [(i.text, i.label, i.lang, i.kind) for i in again] == [
        (i.text, i.label, i.lang, i.kind) for i in EXPECTED
    ]


def _tiny_data(root: Path) -> Path:
    rows = [
        {"text": "Heerlijke koffie", "label": "positive"},
        {"text": "Waardeloos, nooit meer", "label": "negative"},
        {"text": "De winkel opent om negen uur", "label": "neutral"},
    ]
    complaints = [
        {"text": "Pakket kwijt, waar is mijn geld", "label": "complaint"},
        {"text": "Top", "label": "not_complaint"},
    ]
    for name, items in (("posts", rows), ("complaints", complaints)):
        (root / name).mkdir(parents=True)
        for split in ("train", "val"):
            (root / name / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items), "utf-8")
    return root


def test_corrections_join_the_train_split_only(tmp_path: Path) -> None:
    data = _tiny_data(tmp_path / "data")
    plain = pack_from_folders([data], max_length=32)
    pack = pack_from_folders([data], max_length=32, extra_train=EXPECTED)
    assert len(pack.train) == len(plain.train) + 5 and len(pack.val) == len(plain.val)
    corrections = pack.train.dataset == pack.datasets.index(CORRECTIONS_DATASET)
    tasks = sorted(TASKS[t] for t in pack.train.task[corrections])
    assert tasks == ["complaint", "complaint", "sentiment_post", "sentiment_post", "sentiment_review"]


def _config(tmp_path: Path) -> tuple[Path, Engine]:
    url = f"sqlite:///{tmp_path / 'wom.db'}"
    config = tmp_path / "wom.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n', "utf-8"
    )
    engine = connect(url)
    upgrade_schema(engine)
    return config, engine


def test_corrections_export_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # a long tmp path (as under pytest-xdist) would wrap mid-name
    config, engine = _config(tmp_path)
    _store(engine)
    engine.dispose()
    out = tmp_path / "out" / "train.jsonl"
    result = CliRunner().invoke(app, ["--config", str(config), "model", "corrections", "export", str(out)])
    assert result.exit_code == 0, result.output
    assert f"5 items written to {out}" in result.output
    loaded = load_folder(out.parent, "train")
    assert len(loaded) == 5 and {i.dataset for i in loaded} == {"out"}
    assert {(i.text, i.label, i.lang, i.kind) for i in loaded} == {
        (i.text, i.label, i.lang, i.kind) for i in EXPECTED
    }


def test_model_train_with_corrections(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="fine-tuning needs torch: pip install torch==2.13.0")
    config, engine = _config(tmp_path)
    _store(engine)
    engine.dispose()
    data = _tiny_data(tmp_path / "data")
    args = [
        "--data",
        str(data),
        "--epochs",
        "1",
        "--max-length",
        "16",
        "--batch-size",
        "4",
        "--lora-rank",
        "2",
    ]
    result = CliRunner().invoke(
        app,
        [
            "--config",
            str(config),
            "model",
            "train",
            *args,
            "--out",
            str(tmp_path / "a"),
            "--corrections",
            "--corrections-repeat",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "5 training items from the corrections in" in result.output
    metadata = json.loads((tmp_path / "a" / "e5_adapter.json").read_text(encoding="utf-8"))
    assert CORRECTIONS_DATASET in metadata["datasets"]
    assert metadata["settings"]["corrections_repeat"] == 3
