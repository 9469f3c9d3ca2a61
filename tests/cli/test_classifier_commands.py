"""`wom classify`, `wom model build|eval`, and `wom process --reclassify`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.classify.training.intent_set import half_of
from monitor.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WOM_CONFIG", raising=False)


def test_classify_reads_lines_and_writes_json(tmp_path: Path) -> None:
    (tmp_path / "texts.txt").write_text(
        'I love this shop, wonderful service!\n\nWaardeloos, mijn pakket is nooit aangekomen\n<script>x</script> "quoted"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["classify", "texts.txt"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == [
        "I love this shop, wonderful service!",
        "Waardeloos, mijn pakket is nooit aangekomen",
        '<script>x</script> "quoted"',
    ]
    assert set(rows[0]) == {"text", "sentiment", "confidence", "score", "lang", "intent"}
    assert (rows[0]["sentiment"], rows[0]["lang"]) == ("positive", "en")
    assert (rows[1]["sentiment"], rows[1]["lang"]) == ("negative", "nl")


def test_classify_reads_stdin() -> None:
    result = runner.invoke(app, ["classify"], input="Top service, dank jullie wel!\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sentiment"] == "positive"


def test_model_build_and_eval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOM_MODEL_CACHE", str(tmp_path / "cache"))
    result = runner.invoke(app, ["model", "build"])
    assert result.exit_code == 0, result.output
    assert "encoder.int8.onnx" in result.output
    folder = tmp_path / "data" / "shop_reviews"
    folder.mkdir(parents=True)
    rows = [
        {"text": "Fantastic service and super fast delivery, thank you!", "label": "positive", "lang": "en"},
        {
            "text": "Nooit meer, de bestelling kwam kapot aan en niemand helpt.",
            "label": "negative",
            "lang": "nl",
        },
    ]
    (folder / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    intent = tmp_path / "intent.jsonl"
    intent.write_text(
        json.dumps(
            {
                "ref": "demo/X#1",
                "text": "Weet iemand hoe laat jullie opengaan?",
                "intent": "question",
                "lang": "nl",
            }
        )
        + "\n"
        + json.dumps({"ref": "shop_reviews/val#1", "intent": "praise", "lang": "en"})
        + "\n"
        + json.dumps({"ref": "absent_folder/val#1", "intent": "other", "lang": "en"})
        + "\n"
    )
    result = runner.invoke(
        app, ["model", "eval", "--data", str(tmp_path / "data"), "--intent-set", str(intent)]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(line for line in lines if line.startswith("dataset"))
    assert header.split()[-1] == "langID"
    en = next(line for line in lines if line.startswith("shop_reviews") and " en " in line)
    assert en.split()[2:6] == ["1", "100.0", "100.0", "100.0"]
    assert (
        f"intent set: 1 items skipped: absent_folder/val.jsonl not found under {tmp_path / 'data'}" in lines
    )
    question = next(
        line for line in lines if line.startswith(f"{half_of('demo/X#1')}: nl   question")
    ).split()
    assert question[3:5] == ["1", "1"]  # one gold, one predicted
    praise = next(
        line for line in lines if line.startswith(f"{half_of('shop_reviews/val#1')}: en   praise")
    ).split()
    assert praise[3] == "1"


def test_model_eval_without_data_names_the_split(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["model", "eval", "--data", str(tmp_path / "empty")])
    assert result.exit_code != 0
    assert "no val.jsonl" in result.output


def test_process_reclassify_queues_what_the_model_has_not_classified(tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", "--brand", "Acme"]).exit_code == 0
    line = {
        "source": "x",
        "external_id": "1",
        "text": "Acme is great",
        "created_at": "2026-11-01T10:00:00Z",
        "author": {"handle": "anna"},
    }
    (tmp_path / "m.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["import", "m.jsonl", "--quiet"]).exit_code == 0
    assert runner.invoke(app, ["process", "--quiet"]).exit_code == 0
    again = runner.invoke(app, ["process", "--quiet", "--reclassify"])
    assert again.exit_code == 0, again.output
    assert "0 mentions queued" in again.output

    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'wom.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE classification SET model_version = 'older'"))
    engine.dispose()
    redo = runner.invoke(app, ["process", "--quiet", "--reclassify"])
    assert redo.exit_code == 0, redo.output
    assert "1 mentions queued" in redo.output
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'wom.db'}")
    with engine.connect() as conn:
        versions = (
            conn.execute(sa.text("SELECT model_version FROM classification ORDER BY id")).scalars().all()
        )
    engine.dispose()
    assert versions[0] == "older" and versions[1] != "older" and len(versions) == 2


def test_model_calibrate_prints_cv_figures_and_writes_only_what_beats_todays_procedure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from monitor.classify.model_build import ADAPTER_JSON, DEFAULT_ADAPTER_DIR

    monkeypatch.setenv("WOM_MODEL_CACHE", str(tmp_path / "cache"))
    adapter = tmp_path / "adapter"
    shutil.copytree(DEFAULT_ADAPTER_DIR, adapter)
    (tmp_path / "wom.toml").write_text(f'[classifier]\nadapter = "{adapter}"\n', encoding="utf-8")
    texts = {
        "positive": ["Love it, great service", "Super snel geleverd, top!", "Best coffee in town"],
        "negative": ["Broken on arrival, awful", "Nooit meer, waardeloos", "Still no refund, terrible"],
        "neutral": ["The shop opens at nine", "Bestelling geplaatst", "I ordered on Monday"],
    }
    for name in ("tweets", "nl_bol_product_reviews"):
        folder = tmp_path / "data" / name
        folder.mkdir(parents=True)
        rows = [{"text": t, "label": label} for label, group in texts.items() for t in group]
        (folder / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    folder = tmp_path / "data" / "complaints"
    folder.mkdir()
    rows = [{"text": t, "label": "complaint"} for t in texts["negative"]] + [
        {"text": t, "label": "not_complaint"} for t in texts["positive"] + texts["neutral"]
    ]
    (folder / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    before = json.loads((adapter / ADAPTER_JSON).read_text(encoding="utf-8"))

    result = runner.invoke(
        app, ["model", "calibrate", "--data", str(tmp_path / "data"), "--cv", "3", "--write", "test-cv"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(line for line in lines if line.startswith("dataset")).split()
    assert header[1:5] == ["shipped", "uncalibrated", "in_sample", "cv"] and header[-1] == "cv_nested"
    assert [line.split()[0] for line in lines if line.startswith(("complaints", "tweets", "nl_bol"))] == [
        "complaints",
        "nl_bol_product_reviews",
        "tweets",
    ]
    after = json.loads((adapter / ADAPTER_JSON).read_text(encoding="utf-8"))
    if "beats today's procedure" in result.output:
        assert after["version"] == "test-cv"
        assert after["calibration_cv"]["previous_calibration"] == before["calibration"]
        assert {k: v for k, v in after.items() if not k.startswith(("calibration", "version"))} == {
            k: v for k, v in before.items() if not k.startswith(("calibration", "version"))
        }
    else:
        assert "kept the current calibration" in result.output and after == before
