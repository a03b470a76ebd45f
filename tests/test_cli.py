"""The command line contract: streams, exit codes, JSON, colour and pipes."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("args", [
    ["drug", "pembrolizumab"], ["trial", "KEYNOTE-942"], ["compare", "--endpoint", "OS"],
    ["endpoint", "OS"], ["search", "melanoma"], ["list", "drugs"], ["list", "trials"], ["list", "endpoints"],
    ["list", "indications"], ["list", "approvals"],
])
def test_every_command_gives_valid_json_without_ansi(immuno, args):
    run = immuno(*args, "--json")
    assert run.code == 0, run.err
    assert "\x1b[" not in run.out
    payload = json.loads(run.out)
    assert payload["schema_version"] == 2 and payload["kind"]


def test_tables_go_to_stdout_without_colour_when_not_a_terminal(immuno):
    run = immuno("trial", "KEYNOTE-942")
    assert run.code == 0 and "KEYNOTE-942" in run.out and "\x1b[" not in run.out
    assert "0.561" in run.out and run.err == ""


def test_endpoint_card_says_which_direction_is_better(immuno):
    crs = immuno("endpoint", "cytokine release syndrome", "--json").json()["endpoint"]
    assert crs["id"] == "CRS" and crs["higher_is_better"] is False
    os_ = immuno("endpoint", "overall survival", "--json").json()["endpoint"]
    assert os_["id"] == "OS" and os_["higher_is_better"] is True and os_["result_count"] > 10


def test_search_finds_across_kinds(immuno):
    hits = immuno("search", "uveal", "--json").json()["hits"]
    assert {"trial", "indication"} <= {h["kind"] for h in hits}
    assert immuno("search", "zzzzqqq").code == 1


@pytest.mark.parametrize("args", [["trial", ""], ["trial", "x" * 300], ["drug", "pem\x01bro"]])
def test_bad_queries_are_usage_errors_not_tracebacks(immuno, args):
    run = immuno(*args)
    assert run.code == 2 and "Traceback" not in run.err and run.err.startswith("immuno:")


def test_unknown_option_is_exit_2(immuno):
    assert immuno("trial", "KN-942", "--no-such-flag").code == 2


def test_conflicting_format_flags(immuno):
    run = immuno("compare", "-e", "OS", "--json", "--format", "csv")
    assert run.code == 2 and "disagree" in run.err


def test_version(immuno):
    run = immuno("--version")
    assert run.code == 0 and run.out.startswith("immuno ")


def test_closed_pipe_is_quiet(shell):
    done = shell("immuno list trials | head -1")
    assert done.returncode == 0
    assert done.stderr in ("", f"{done.stderr.split()[0] if done.stderr else ''} trials\n"), done.stderr  # the count
    assert len(done.stdout.splitlines()) == 1


def test_no_color_env_and_real_process_exit_codes(shell):
    found = shell("immuno trial KEYNOTE-942", env={"NO_COLOR": "1"})
    assert found.returncode == 0 and "\x1b[" not in found.stdout
    missing = shell("immuno trial NOSUCHTRIAL-123")
    assert missing.returncode == 1 and missing.stdout == "" and "no trial matches" in missing.stderr


def test_a_result_with_only_a_hazard_ratio_is_shown_on_the_card(immuno, user_dir):
    from test_validate import GOOD_TRIAL

    text = GOOD_TRIAL + """\
  - endpoint: OS
    cut: primary
    population: PD-L1 ≥50% subgroup
    analysis: subgroup
    arms: {}
    hr: {value: 0.43, ci: [0.3, 0.62], experimental: exp, control: ctl}
"""
    (user_dir / "trials" / "my-trial.yaml").write_text(text)
    run = immuno("--data-dir", str(user_dir), "trial", "my-trial", env={"COLUMNS": "200"})
    assert run.code == 0, run.err
    flat = " ".join(run.out.split())
    assert "subgroup" in flat and "0.43 (0.30–0.62)" in flat  # under the header "HR (95% CI)"


def test_data_in_titles_is_not_read_as_markup(immuno, user_dir):
    from test_validate import GOOD_TRIAL

    text = GOOD_TRIAL.replace("source: paper}", 'source: paper, label: "Primary [ASCO 2024] [bold]x"}')
    (user_dir / "trials" / "my-trial.yaml").write_text(text)
    run = immuno("--data-dir", str(user_dir), "trial", "my-trial", env={"COLUMNS": "200"})
    assert run.code == 0 and "Primary [ASCO 2024] [bold]x" in run.out


def test_an_unknown_setting_is_not_found_with_a_suggestion(immuno):
    run = immuno("compare", "-e", "OS", "--setting", "adjuvent")
    assert run.code == 1 and "no setting matches 'adjuvent'; did you mean: adjuvant" in run.err
    assert immuno("compare", "-e", "ORR", "--modality", "CAR T").code == 0


def test_md_is_markdown(immuno):
    for args in (("compare", "-e", "OS", "-i", "HCC"), ("trial", "KN-942")):
        assert immuno(*args, "--format", "md").out == immuno(*args, "--format", "markdown").out
