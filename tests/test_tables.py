"""Tables for tools and for people: TSV when piped with counts on stderr, --limit, --no-headers, a pager
only on a terminal, and exit codes a script can trust."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from immunocli.render import table
from immunocli.render.text import COMPARISON_COLUMNS


def test_piped_compare_is_tsv_with_one_header_and_counts_on_stderr(immuno):
    run = immuno("compare", "-e", "OS")
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0].split("\t") == COMPARISON_COLUMNS
    assert all(line.count("\t") == len(COMPARISON_COLUMNS) - 1 for line in lines)
    assert "result(s)" not in run.out and "medical advice" not in run.out
    assert re.match(r"\d+ result\(s\)", run.err) and "medical advice" in run.err
    assert int(run.err.split()[0]) == len(lines) - 1


def test_tsv_cells_are_whole(immuno):
    lines = immuno("compare", "-e", "OS", "-i", "HCC", "--format", "tsv", "--no-headers").out.splitlines()
    row = next(line.split("\t") for line in lines if line.startswith("CheckMate 9DW\t"))
    assert row[2] == "Lenvatinib or sorafenib (investigator's choice)"
    assert row[12] == "24-mo: 50% vs 39%; 36-mo: 39% vs 25%; 48-mo: 31% vs 18%"


@pytest.mark.parametrize("args", [["compare", "-e", "OS"], ["search", "melanoma"], ["list", "trials"]])
def test_limit_and_no_headers(immuno, args):
    run = immuno(*args, "--limit", "3", "--no-headers")
    assert run.code == 0
    assert len(run.out.splitlines()) == 3
    assert re.match(r"3 of \d+ ", run.err)
    doc = immuno(*args, "--limit", "2", "--json").json()
    key = {"compare": "rows", "search": "hits", "list": "items"}[args[0]]
    assert len(doc[key]) == 2 and doc["total"] > 2


def test_list_booleans_read_yes_or_no(immuno):
    out = immuno("list", "endpoints", "--format", "tsv").out
    assert "\tyes" in out and "True" not in out


def test_terminal_compare_is_laid_out_to_the_width(immuno, monkeypatch):
    monkeypatch.setattr(table, "terminal", lambda: True)
    for columns in (80, 120, 200):
        run = immuno("compare", "-e", "OS", "-i", "HCC", "--no-pager", env={"COLUMNS": str(columns), "NO_COLOR": "1"})
        assert run.code == 0
        assert re.match(r"\d+ result\(s\)", run.out)
        assert "medical advice" in run.out  # on a terminal, the caution stays with the table
        assert max(len(line) for line in run.out.splitlines()) <= max(columns, 140)
        assert "0.58 (0.42–0.79)" in run.out and "\x1b[" not in run.out


def test_pager_only_when_taller_than_the_terminal(immuno, monkeypatch, tmp_path):
    paged = tmp_path / "paged.txt"
    monkeypatch.setattr(table, "terminal", lambda: True)
    env = {"COLUMNS": "100", "LINES": "20", "IMMUNO_PAGER": f"cat > {paged}", "NO_COLOR": "1"}
    run = immuno("drug", "pembrolizumab", env=env)
    assert run.code == 0 and run.out == "" and "FDA approvals" in paged.read_text()
    paged.unlink()
    run = immuno("drug", "pembrolizumab", "--no-pager", env=env)
    assert "FDA approvals" in run.out and not paged.exists()
    run = immuno("endpoint", "OS", env=env)  # shorter than the screen
    assert "Overall survival" in run.out and not paged.exists()


def test_never_paged_when_piped(immuno, tmp_path):
    paged = tmp_path / "paged.txt"
    run = immuno("drug", "pembrolizumab", env={"IMMUNO_PAGER": f"cat > {paged}", "LINES": "5"})
    assert "FDA approvals" in run.out and not paged.exists()


COMMANDS = ["trial KEYNOTE-942", "drug pembrolizumab", "indication NSCLC", "biomarker PD-L1", "irae colitis",
            "compare -e OS", "search melanoma", "list trials", "endpoint OS"]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_answer_cut_short_by_a_closed_pipe_exits_0(tmp_path, command):
    """As `immuno … | head -1` under `set -o pipefail`: the reader takes one line and closes the pipe."""
    env = {**os.environ, "IMMUNO_CACHE_DIR": str(tmp_path / "cache")}
    process = subprocess.Popen([sys.executable, "-m", "immunocli", *command.split()], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    first = process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read().decode()
    assert first, err
    assert process.wait(timeout=60) == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["trial KEYNOTE-942", "compare -e OS", "drug pembrolizumab --json"])
def test_a_write_error_is_one_line_and_its_own_exit_code(shell, command):
    run = shell(f"immuno {command} > /dev/full")
    assert run.returncode not in (0, 1), run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_tsv_keeps_one_line_per_row_whatever_a_cell_holds(capsys):
    from immunocli.render import table

    table.tsv(["a", "b"], [["plain", "text"], ["tab\there", "two\nlines"], [None, ["x", "y"]], [True, "c\r"]])
    assert capsys.readouterr().out.splitlines() == [
        "a\tb", "plain\ttext", "tab here\ttwo · lines", "\tx, y", "yes\tc"]
