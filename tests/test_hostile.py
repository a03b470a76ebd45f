"""Issue 16's hostile probes, each a test: a poisoned or damaged cache, files that would hang or crash a
run, output that would inject, output that cannot be written. Every one ends in the right answer or one
clear line and a documented exit code, never a traceback, a hang or another user's code running."""

from __future__ import annotations

import json
import marshal
import os
import pickle
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from immunocli import cache
from immunocli.errors import ExitCode
from immunocli.loader import shard_of

HERE = Path(__file__).parent
HOSTILE = HERE / "hostile"
BUNDLED_942 = HERE.parent / "data" / "trials" / "keynote-942.yaml"
OUTPUT_ERROR = int(ExitCode.OUTPUT_ERROR)


def run(*args, cache_dir: Path, timeout: float = 60, memory: int | None = None, umask: int | None = None,
        **popen) -> subprocess.CompletedProcess:
    """The real `immuno` script in a child process (its main(): signals, closed streams, exit codes)."""
    def limits():
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if umask is not None:
            os.umask(umask)

    env = {**os.environ, "IMMUNO_CACHE_DIR": str(cache_dir), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("IMMUNO_DATA_DIR", None)
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
    return subprocess.run([sys.executable, "-m", "immunocli", *map(str, args)], text=True, env=env, timeout=timeout,
                          preexec_fn=limits, **streams)


def compiled_file(folder: Path) -> Path:
    (found,) = folder.glob("knowledge-*.sqlite")
    return found


def trial_copy(user_dir: Path, text: str | None = None, name: str = "keynote-942.yaml") -> Path:
    """KEYNOTE-942 in a user directory (same id: it replaces the bundled record), optionally rewritten."""
    path = user_dir / "trials" / name
    path.write_text(text if text is not None else BUNDLED_942.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def rfs_hr(card: dict) -> float:
    text = json.dumps(card)
    return float(re.search(r'"value": (0\.5\d+|0\.11|0\.961)', text).group(1))


def one_clean_line(err: str) -> None:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


# --- 1. a cache others can write must not choose the answer or run code ----------------------------

@pytest.fixture
def built(tmp_path) -> Path:
    """A private cache folder holding the compiled bundled knowledge."""
    folder = tmp_path / "cache"
    assert run("trial", "KN-942", cache_dir=folder).returncode == 0
    return folder


def _card_row(path: Path) -> tuple[bytes, int]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT card, card_crc FROM trials WHERE id = 'keynote-942'").fetchone()


def _set_card(path: Path, card: dict, with_crc: bool) -> None:
    blob = marshal.dumps(card)
    with sqlite3.connect(path) as db:
        if with_crc:
            db.execute("UPDATE trials SET card = ?, card_crc = ? WHERE id = 'keynote-942'", (blob, cache._crc(blob)))
        else:
            db.execute("UPDATE trials SET card = ? WHERE id = 'keynote-942'", (blob,))


def _forged(path: Path) -> dict:
    card = marshal.loads(_card_row(path)[0])
    return json.loads(json.dumps(card).replace("0.561", "0.11"))


class _RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_planted_in_the_cache_is_never_loaded(built, tmp_path):
    marker = tmp_path / "pwned"
    with sqlite3.connect(compiled_file(built)) as db:
        planted = pickle.dumps(_RunsCode(marker))
        db.execute("UPDATE base SET knowledge = ?, names = ?", (planted, planted))
    done = run("drug", "pembrolizumab", "--json", cache_dir=built)
    assert done.returncode == 0 and json.loads(done.stdout)["drug"]["id"] == "pembrolizumab"
    assert not marker.exists()
    assert "damaged" in done.stderr and "rebuilding" in done.stderr


def test_a_swapped_figure_without_its_checksum_is_caught(built):
    _set_card(compiled_file(built), _forged(compiled_file(built)), with_crc=False)
    done = run("trial", "KN-942", "--json", cache_dir=built)
    assert done.returncode == 0 and rfs_hr(json.loads(done.stdout)) == 0.561
    one_clean_line(done.stderr)


def test_a_cache_in_a_folder_others_can_write_is_not_used(built):
    path = compiled_file(built)
    _set_card(path, _forged(path), with_crc=True)  # a forger who also fixes the checksum
    trusted = run("trial", "KN-942", "--json", cache_dir=built)
    assert rfs_hr(json.loads(trusted.stdout)) == 0.11  # the probe works: a private cache is believed
    os.chmod(built, 0o777)
    shared = run("trial", "KN-942", "--json", cache_dir=built)
    assert shared.returncode == 0 and rfs_hr(json.loads(shared.stdout)) == 0.561
    assert "writable by others" in shared.stderr and "compiling in memory" in shared.stderr
    one_clean_line(shared.stderr)


def test_a_cache_file_others_can_write_is_not_used(built):
    path = compiled_file(built)
    _set_card(path, _forged(path), with_crc=True)
    os.chmod(path, 0o666)
    done = run("trial", "KN-942", "--json", cache_dir=built)
    assert rfs_hr(json.loads(done.stdout)) == 0.561 and "writable by others" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user; the mode checks run anyway")
def test_a_cache_file_of_another_user_is_not_used(built):
    path = compiled_file(built)
    _set_card(path, _forged(path), with_crc=True)
    os.chown(path, 65534, 65534)
    done = run("trial", "KN-942", "--json", cache_dir=built)
    assert rfs_hr(json.loads(done.stdout)) == 0.561 and "belongs to another user" in done.stderr


def test_the_cache_is_private_whatever_the_umask(tmp_path):
    folder = tmp_path / "xdg" / "deeper" / "immuno"
    assert run("trial", "KN-942", cache_dir=folder, umask=0).returncode == 0
    for path in (folder, folder.parent, folder.parent.parent):
        assert path.stat().st_mode & 0o777 == 0o700, path
    assert compiled_file(folder).stat().st_mode & 0o777 == 0o600


# --- 3. a damaged cache is rebuilt once, with a notice ---------------------------------------------

@pytest.mark.parametrize("args", [("drug", "pembrolizumab", "--json"), ("list", "trials", "--json"),
                                  ("compare", "-e", "RFS", "--json")])
def test_random_bytes_in_the_middle_of_the_cache_are_rebuilt(built, args):
    path = compiled_file(built)
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(size // 2 - (size // 2) % 4096)
        handle.write(os.urandom(64 * 1024))
    first = run(*args, cache_dir=built)
    assert first.returncode == 0 and json.loads(first.stdout) and "Traceback" not in first.stderr
    again = run(*args, cache_dir=built)
    assert again.returncode == 0 and again.stderr == ""
    assert json.loads(again.stdout) == json.loads(first.stdout)


def test_a_changed_byte_inside_a_row_is_caught(built):
    run("compare", "-e", "RFS", cache_dir=built)
    with sqlite3.connect(compiled_file(built)) as db:
        assert db.execute("UPDATE rows SET payload = replace(payload, '0.561', '0.961')").rowcount
    done = run("compare", "-e", "RFS", "--json", cache_dir=built)
    assert done.returncode == 0 and "0.961" not in done.stdout and "0.561" in done.stdout
    assert "damaged" in done.stderr
    one_clean_line(done.stderr)


@pytest.mark.parametrize("args", [("drug", "pembrolizumab", "--json"), ("indication", "MEL", "--json"),
                                  ("drug", "pembrolizumab", "--full")])
def test_a_changed_byte_in_a_card_summary_is_caught_when_it_is_read(built, args):
    """A card's trial summaries are read only when written: a damaged one still rebuilds, and the answer is
    the whole knowledge's."""
    run(*args, cache_dir=built)
    with sqlite3.connect(compiled_file(built)) as db:
        assert db.execute("UPDATE summary_texts SET summary = replace(summary, 'KEYNOTE-942', 'KEYNOTE-9X2') "
                          "WHERE trial = 'keynote-942'").rowcount == 1
    done = run(*args, cache_dir=built)
    assert done.returncode == 0 and "KEYNOTE-9X2" not in done.stdout and "KEYNOTE-942" in done.stdout
    assert "damaged" in done.stderr
    one_clean_line(done.stderr)


# --- 4. freshness: in-place edits, restored mtimes --------------------------------------------------

def test_the_drug_card_sees_a_trial_edited_in_place_to_add_the_drug(user_dir, tmp_path):
    folder = tmp_path / "cache"
    path = trial_copy(user_dir)
    before = json.loads(run("-d", user_dir, "drug", "cemiplimab", "--json", cache_dir=folder).stdout)
    assert "keynote-942" not in json.dumps(before)
    with open(path, "r+", encoding="utf-8") as handle:  # in place: the folder's mtime does not move
        text = handle.read().replace("drugs: [mrna-4157, pembrolizumab]", "drugs: [mrna-4157, cemiplimab]")
        handle.seek(0)
        handle.write(text)
        handle.truncate()
    after = run("-d", user_dir, "drug", "cemiplimab", "--json", cache_dir=folder)
    assert after.returncode == 0 and "keynote-942" in after.stdout


def test_an_edit_that_keeps_size_and_mtime_is_seen(user_dir, tmp_path):
    folder = tmp_path / "cache"
    path = trial_copy(user_dir)
    assert "0.561" in run("-d", user_dir, "trial", "KN-942", "--json", cache_dir=folder).stdout
    st = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace("value: 0.561", "value: 0.562"), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # as `touch -r` or `cp -p` would
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    done = run("-d", user_dir, "trial", "KN-942", "--json", cache_dir=folder)
    assert "0.562" in done.stdout and "0.561" not in done.stdout


# --- 2 and 5-6. files that would hang, exhaust or crash a run ----------------------------------------

def test_an_alias_bomb_under_the_old_alias_cap_is_refused_fast_in_little_memory(user_dir, tmp_path):
    shutil.copy(HOSTILE / "alias-bomb-81.yaml", user_dir / "trials" / "alias-bomb-81.yaml")
    start = time.monotonic()
    checked = run("validate", user_dir, cache_dir=tmp_path / "cache", timeout=5, memory=1 << 30)
    assert checked.returncode == 2 and "Traceback" not in checked.stderr
    assert re.search(r"alias-bomb-81\.yaml:\d+: YAML aliases expand to more than", checked.stdout)
    looked_up = run("-d", user_dir, "trial", "KEYNOTE-024", cache_dir=tmp_path / "cache", timeout=5, memory=1 << 30)
    assert looked_up.returncode == 2 and "YAML aliases expand" in looked_up.stderr
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("find,put,message", [
    ("value: 0.561", "value: .nan", "not a finite number"),
    ("value: 0.561", "value: .inf", "not a finite number"),
    ("value: 0.561", "value: 1.0e+300", "above the maximum 100"),
    ("value: 0.561", "value: " + "9" * 401, "more than 15 digits"),
    ("enrolled: 157", "enrolled: " + "7" * 5000, "more than 15 digits"),
    ("n: 107", "n: 107\n    rate_ci: [.nan, 1]", ""),
])
def test_numbers_must_be_finite_bounded_and_of_sane_length(immuno, user_dir, find, put, message):
    path = trial_copy(user_dir, BUNDLED_942.read_text(encoding="utf-8").replace(find, put, 1))
    done = immuno("validate", str(user_dir))
    assert done.code == 2 and done.exception is None or isinstance(done.exception, SystemExit)
    assert re.search(rf"{re.escape(str(path))}:\d+: .*{re.escape(message)}", done.out), done.out


@pytest.mark.parametrize("find,put,message", [
    ('"median":33.7', '"median":NaN', "NaN"),
    ('"median":33.7', '"median":Infinity', "Infinity"),
    ('"median":33.7', '"median":1000000', "is not months (at most 600)"),
    ('"value":0.77', '"value":1e300', "1e300"),
    ('"enrolled":670', '"enrolled":' + "7" * 5000, "more than 15 digits"),
])
def test_json_numbers_are_refused_with_their_line(immuno, tmp_path, find, put, message):
    root = tmp_path / "synthetic"
    subprocess.run([sys.executable, str(HERE.parent / "benchmarks" / "synth.py"), "1", str(root), "--json"],
                   check=True, capture_output=True)
    path = root / "trials" / "synth-000001.json"
    text = path.read_text(encoding="utf-8")
    assert find in text
    path.write_text(text.replace(find, put, 1), encoding="utf-8")
    done = immuno("validate", str(root))
    assert done.code == 2, done.out
    assert re.search(rf"synth-000001\.json(:\d+)?: .*{re.escape(message)}", done.out), done.out
    json.loads(immuno("validate", str(root), "--json").out)  # and the report itself is valid JSON


@pytest.mark.parametrize("fixture,message", [
    ("nul-byte.yaml", r"nul-byte\.yaml:3: control character U\+0000"),
    ("lone-surrogate.json", r"lone-surrogate\.json:3: YAML error: .*escape"),
    ("long-integer.json", r"long-integer\.json:3: .*more than 15 digits"),
])
def test_unprintable_text_is_a_located_problem(immuno, user_dir, fixture, message):
    shutil.copy(HOSTILE / fixture, user_dir / "trials" / fixture)
    done = immuno("validate", str(user_dir))
    assert done.code == 2 and re.search(message, done.out), done.out


def test_a_fifo_in_the_knowledge_never_hangs(user_dir, tmp_path):
    os.mkfifo(user_dir / "trials" / "waiting.yaml")
    os.mkfifo(user_dir / "endpoints.yaml")
    checked = run("validate", user_dir, cache_dir=tmp_path / "cache", timeout=10)
    assert checked.returncode == 2
    assert "waiting.yaml: not a regular file (a FIFO)" in checked.stdout
    assert "endpoints.yaml: not a regular file (a FIFO)" in checked.stdout
    looked_up = run("-d", user_dir, "trial", "KEYNOTE-024", cache_dir=tmp_path / "cache", timeout=10)
    assert looked_up.returncode == 2 and "Traceback" not in looked_up.stderr


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_link_to_a_device_is_not_read(user_dir, tmp_path, device):
    os.symlink(device, user_dir / "trials" / "endless.yaml")
    done = run("validate", user_dir, cache_dir=tmp_path / "cache", timeout=10, memory=1 << 30)
    assert done.returncode == 2 and "endless.yaml: not a regular file (a character device)" in done.stdout


def test_a_link_to_a_secret_is_never_quoted(user_dir, tmp_path):
    secret = tmp_path / "credentials"
    shutil.copy(HOSTILE / "secret.txt", secret)
    os.symlink(secret, user_dir / "trials" / "creds.yaml")
    (user_dir / "drugs" / "token.yaml").write_text("hostile/SECRET+value-as-a-scalar\n", encoding="utf-8")
    for args in (("validate", user_dir), ("validate", user_dir, "--json"), ("-d", user_dir, "trial", "KN-942")):
        done = run(*args, cache_dir=tmp_path / "cache")
        assert done.returncode == 2
        assert "SECRET" not in done.stdout + done.stderr and "AKIA" not in done.stdout + done.stderr
    assert "creds.yaml: a symbolic link to" in done.stderr and "not a .yaml, .yml or .json file" in done.stderr


def test_a_parallel_build_finds_a_name_shared_across_its_shares(immuno, tmp_path, monkeypatch):
    root = tmp_path / "synthetic"
    subprocess.run([sys.executable, str(HERE.parent / "benchmarks" / "synth.py"), "20", str(root), "--json"],
                   check=True, capture_output=True)
    first = root / "trials" / "synth-000001.json"
    other = next(f"twin-{n}" for n in range(100) if shard_of(Path(f"twin-{n}.json"), 2) != shard_of(first, 2))
    twin = json.loads(first.read_text(encoding="utf-8"))
    twin["id"], twin["aliases"], twin["nct"] = other, [], "NCT99999999"
    (root / "trials" / f"{other}.json").write_text(json.dumps(twin), encoding="utf-8")
    monkeypatch.setattr(cache, "PARALLEL_FROM", 10)
    done = immuno("-d", str(root), "trial", "SYN-2")
    assert done.code == 2 and f"{other}.json: 'SYNTH-000001' also names trial 'synth-000001'" in done.err


def test_duplicate_trial_names_across_files_are_a_problem(immuno, user_dir):
    text = BUNDLED_942.read_text(encoding="utf-8").replace("id: keynote-942", "id: my-942", 1)
    path = trial_copy(user_dir, text, "my-942.yaml")
    done = immuno("validate", str(user_dir))
    assert done.code == 2
    assert f"{path}:2: 'KEYNOTE-942' also names trial 'keynote-942'" in done.out


# --- 7. output that would inject -----------------------------------------------------------------

ESCAPES = {
    "name: KEYNOTE-942": 'name: "KEYNOTE-942\\e]0;retitled\\a\\e[2J"',
    "population: ITT": 'population: "ITT \\e]8;;https://evil.example\\e\\\\click\\e]8;;\\e\\\\ \\x9b31m"',
    "label: Pembrolizumab": 'label: "=HYPERLINK(\\"https://evil.example\\") <img src=x onerror=alert(1)> [x](javascript:alert(1))"',
}


@pytest.fixture
def poisoned(user_dir) -> Path:
    text = BUNDLED_942.read_text(encoding="utf-8")
    for find, put in ESCAPES.items():
        assert find in text
        text = text.replace(find, put)
    trial_copy(user_dir, text)
    return user_dir


@pytest.mark.parametrize("args", [
    ("trial", "KN-942"), ("trial", "KN-942", "--json"), ("compare", "-e", "RFS", "-i", "SKCM"),
    ("compare", "-e", "RFS", "-i", "SKCM", "--json"), ("compare", "-e", "RFS", "-i", "SKCM", "--format", "csv"),
    ("compare", "-e", "RFS", "-i", "SKCM", "--format", "markdown"), ("compare", "-e", "RFS", "-i", "SKCM", "--format", "ndjson"),
    ("search", "retitled"), ("list", "trials"), ("drug", "mrna-4157"),
])
def test_escape_sequences_never_reach_any_view(immuno, poisoned, args):
    done = immuno("-d", str(poisoned), *args)
    assert done.code == 0, done.err
    text = done.out + done.err
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text), repr(text[:200])
    assert "retitled" in text or args[0] in ("compare", "list", "drug")


def test_a_file_name_with_escape_sequences_is_shown_clean(immuno, user_dir):
    (user_dir / "trials" / "bad\x1b]0;retitled\x07name.yaml").write_text("id: x\n", encoding="utf-8")
    done = immuno("validate", str(user_dir))
    assert done.code == 2 and "]0;retitledname.yaml" in done.out
    assert "\x1b" not in done.out + done.err and "\x07" not in done.out + done.err


def test_markdown_escapes_html_and_links_only_http(immuno, poisoned):
    out = immuno("-d", str(poisoned), "compare", "-e", "RFS", "-i", "SKCM", "--format", "markdown").out
    assert "<img" not in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    assert not re.search(r"(?<!\\)\]\(javascript:", out) and r"\[x\](javascript:alert(1))" in out
    assert re.findall(r"\]\((\w+):", out.replace(r"\]", "")) in ([], ["https"], ["http"])


def test_csv_cells_that_start_like_formulas_are_quoted(immuno, poisoned):
    out = immuno("-d", str(poisoned), "compare", "-e", "RFS", "-i", "SKCM", "--format", "csv").out
    assert "'=HYPERLINK" in out and ",=HYPERLINK" not in out and '"=HYPERLINK' not in out
    assert ",0.561," in out  # numbers stay numbers


def test_card_csv_and_markdown_are_safe_too(immuno, poisoned):
    csv_text = immuno("-d", str(poisoned), "trial", "KN-942", "--format", "csv").out
    assert "=HYPERLINK" in csv_text and not re.search(r'(^|,)"?=HYPERLINK', csv_text, re.M)
    markdown = immuno("-d", str(poisoned), "trial", "KN-942", "--format", "markdown").out
    assert not re.search(r"(?<!\\)\]\(javascript:", markdown) and "<img" not in markdown


# --- 8. output that cannot be written --------------------------------------------------------------

COMMANDS = [("trial", "KN-942"), ("trial", "KN-942", "--json"), ("drug", "pembrolizumab"), ("compare", "-e", "OS"),
            ("compare", "-e", "OS", "--json"), ("list", "trials"), ("search", "melanoma"), ("endpoint", "OS")]


@pytest.mark.parametrize("args", COMMANDS)
def test_a_full_disk_is_one_line_and_the_output_error_code(built, args):
    with open("/dev/full", "w") as full:
        done = run(*args, cache_dir=built, stdout=full, stderr=subprocess.PIPE)
    assert done.returncode == OUTPUT_ERROR
    assert done.stderr == "immuno: cannot write the output: No space left on device\n"


@pytest.mark.parametrize("args", COMMANDS[:3] + [("validate",)])
def test_a_closed_stdout_is_the_output_error_code(built, args):
    done = subprocess.run(f"{sys.executable} -m immunocli {' '.join(args)} >&-", shell=True, capture_output=True,
                          text=True, env={**os.environ, "IMMUNO_CACHE_DIR": str(built)}, timeout=60)
    assert done.returncode == OUTPUT_ERROR and "standard output is closed" in done.stderr
    one_clean_line(done.stderr)


@pytest.mark.parametrize("args", COMMANDS)
def test_a_found_answer_cut_short_by_its_reader_exits_0(built, args):
    done = subprocess.run(f"set -o pipefail; {sys.executable} -m immunocli {' '.join(args)} | head -c 1 >/dev/null",
                          shell=True, executable="/bin/bash", capture_output=True, text=True,
                          env={**os.environ, "IMMUNO_CACHE_DIR": str(built)}, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr and "immuno:" not in done.stderr


def test_validate_with_problems_exits_2_through_a_closed_pipe(user_dir, tmp_path):
    for n in range(200):
        (user_dir / "trials" / f"broken-{n}.yaml").write_text(f"id: broken-{n}\n", encoding="utf-8")
    env = {**os.environ, "IMMUNO_CACHE_DIR": str(tmp_path / "cache")}
    for fmt in ("", "--json"):
        done = subprocess.run(f"set -o pipefail; {sys.executable} -m immunocli validate {user_dir} {fmt} | head -1",
                              shell=True, executable="/bin/bash", capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 2 and "Traceback" not in done.stderr


@pytest.mark.parametrize("target", ["missing-folder/forest.png", "missing-folder/forest.svg", "a-folder.png"])
def test_a_bad_plot_file_is_one_line(built, tmp_path, target):
    (tmp_path / "a-folder.png").mkdir()
    done = run("trial", "KN-942", "--plot-file", tmp_path / target, cache_dir=built)
    assert done.returncode in (ExitCode.BAD_INPUT, OUTPUT_ERROR)
    assert done.stderr.startswith(f"immuno: cannot write {tmp_path / target}")
    one_clean_line(done.stderr)


def test_a_png_with_no_hazard_ratio_to_draw_is_one_line(built, tmp_path):
    done = run("trial", "ZUMA-1", "--plot-file", tmp_path / "forest.png", cache_dir=built)
    assert done.returncode == ExitCode.BAD_INPUT and not (tmp_path / "forest.png").exists()
    one_clean_line(done.stderr)


# --- 9. housekeeping -----------------------------------------------------------------------------

def test_the_tidy_up_removes_only_its_own_files(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o700)
    old = time.time() - 7200
    theirs = [folder / ".build-theirs", folder / "knowledge-theirs.sqlite", folder / "knowledge-theirs.pickle",
              folder / ".knowledge-theirs.tmp"]
    theirs[0].mkdir()
    (theirs[0] / "work.txt").write_text("someone else's", encoding="utf-8")
    for path in theirs[1:]:
        path.write_text("someone else's", encoding="utf-8")
    with sqlite3.connect(folder / "knowledge-sqlite-of-theirs.sqlite") as db:
        db.execute("CREATE TABLE t(x)")
    theirs.append(folder / "knowledge-sqlite-of-theirs.sqlite")
    ours = folder / ".build-left-by-a-killed-run"
    ours.mkdir()
    (ours / cache.BUILD_MARK).write_text("", encoding="utf-8")
    for path in [*theirs, ours]:
        os.utime(path, (old, old))
    for n in range(cache.KEEP + 2):  # more compiled files than it keeps: the tidy-up runs
        (tmp_path / f"dir-{n}").mkdir()
        assert run("-d", tmp_path / f"dir-{n}", "list", "endpoints", cache_dir=folder).returncode == 0
    assert len(list(folder.glob("knowledge-*.sqlite"))) == cache.KEEP + 2  # the newest of its own, and theirs
    assert all(path.exists() for path in theirs)
    assert not ours.exists()


def test_sigterm_during_a_build_cleans_up_like_ctrl_c(tmp_path):
    root = tmp_path / "many"
    subprocess.run([sys.executable, str(HERE.parent / "benchmarks" / "synth.py"), "4000", str(root), "--json"],
                   check=True, capture_output=True)
    folder = tmp_path / "cache"
    env = {**os.environ, "IMMUNO_CACHE_DIR": str(folder)}
    child = subprocess.Popen([sys.executable, "-m", "immunocli", "-d", str(root), "trial", "SYNTH-000001"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 30
    while not any(folder.glob(".*")) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    time.sleep(0.2)  # well inside the build
    child.send_signal(signal.SIGTERM)
    _out, err = child.communicate(timeout=30)
    assert child.returncode == ExitCode.TERMINATED and err.strip().endswith("immuno: terminated")
    assert [p.name for p in folder.iterdir()] == []


def test_long_user_input_is_cut_in_messages(immuno):
    done = immuno("compare", "--setting", "x" * 100_000)
    assert done.code in (1, 2) and len(done.err) < 2000
    done = immuno("trial", "y" * 100_000)
    assert done.code in (1, 2) and len(done.err) < 2000
