"""`immuno validate` and loading: every problem located as file:line, exit 2, never a traceback."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

HOSTILE = Path(__file__).parent / "hostile"

GOOD_TRIAL = """\
id: my-trial
name: MY-TRIAL
phase: "3"
indication: NSCLC
setting: first-line
population: Test population
enrolled: 200
arms:
  - {id: exp, label: Pembrolizumab, drugs: [pembrolizumab], role: experimental, n: 100}
  - {id: ctl, label: Chemotherapy, drugs: [carboplatin], role: control, n: 100}
sources:
  paper: {citation: "Doe J et al. Test J 2024;1:1-2", doi: 10.1000/test.1}
cuts:
  - {id: primary, kind: primary, published: 2024-01, source: paper}
results:
  - endpoint: OS
    cut: primary
    population: ITT
    analysis: itt
    arms:
      exp: {median: 20.1, median_ci: [15.0, 25.0]}
      ctl: {median: 12.0, median_ci: [10.0, 14.0]}
    hr: {value: 0.6, ci: [0.45, 0.8], p: "<0.001", experimental: exp, control: ctl}
"""


def write_trial(user_dir: Path, text: str, name: str = "my-trial.yaml") -> Path:
    path = user_dir / "trials" / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_bundled_knowledge_is_clean(immuno):
    run = immuno("validate", "--json")
    assert run.code == 0, run.out
    assert run.json()["ok"] is True and run.json()["problems"] == []


def test_a_good_user_trial_loads_on_top_and_says_where_it_came_from(immuno, user_dir):
    write_trial(user_dir, GOOD_TRIAL)
    assert immuno("validate", str(user_dir)).code == 0
    card = immuno("--data-dir", str(user_dir), "trial", "MY-TRIAL", "--json").json()["trial"]
    assert card["origin"].endswith("trials/my-trial.yaml") and not card["origin"].startswith("data/")


def test_environment_variable_adds_a_directory(immuno, user_dir):
    write_trial(user_dir, GOOD_TRIAL)
    run = immuno("trial", "my-trial", "--json", env={"IMMUNO_DATA_DIR": str(user_dir)})
    assert run.code == 0 and run.json()["trial"]["name"] == "MY-TRIAL"


def test_a_user_file_replaces_the_bundled_one_with_the_same_id(immuno, user_dir):
    text = "id: sunitinib\nname: sunitinib\nmodality: targeted-therapy\nstatus: approved\nnotes: local copy\n"
    (user_dir / "drugs" / "sunitinib.yaml").write_text(text)
    card = immuno("--data-dir", str(user_dir), "drug", "sunitinib", "--json").json()["drug"]
    assert card["notes"] == "local copy" and card["origin"] != "data/drugs/sunitinib.yaml"
    assert immuno("drug", "sunitinib", "--json").json()["drug"]["origin"] == "data/drugs/sunitinib.yaml"


@pytest.mark.parametrize("change,message", [
    (("median_ci: [15.0, 25.0]", "median_ci: [21.0, 25.0]"), "below its CI"),
    (("ci: [0.45, 0.8]", "ci: [0.8, 0.45]"), "lower bound 0.8 is above upper bound 0.45"),
    (("value: 0.6", "value: -0.6"), "must be greater than 0"),
    (("drugs: [carboplatin]", "drugs: [notadrug]"), "no drug file defines 'notadrug'"),
    (("endpoint: OS", "endpoint: XYZ"), "unknown endpoint 'XYZ'"),
    (("control: ctl", "control: nobody"), "unknown arm 'nobody'"),
    (("indication: NSCLC", "indication: NOPE"), "unknown indication 'NOPE'"),
    (("source: paper", "source: missing"), "unknown source 'missing'"),
    (("published: 2024-01", "published: 2024-13"), "is not YYYY, YYYY-MM or YYYY-MM-DD"),
    (("published: 2024-01", "published: 2999-01"), "in the future"),
    (("phase: \"3\"", "phase: 3"), "expected a string"),
    (("population: Test population", "populaton: Test population"), "unknown key 'populaton'"),
    (("exp: {median: 20.1, median_ci: [15.0, 25.0]}", "exp: {median: 20.1, rate: 11, count: 11, n: 100}"),
     "a time-to-event endpoint takes a median, `events` or a landmark, not `rate` or `count`"),

    (("doi: 10.1000/test.1}", "url: https://wwwonclivecom-b2oh4h7sc-mjhls.vercel.app/view/x}"),
     "url is a staging, preview or development copy (wwwonclivecom-b2oh4h7sc-mjhls.vercel.app)"),
    (("doi: 10.1000/test.1}", "url: http://dev-voice.ons.org/node/1}"), "copy (dev-voice.ons.org)"),
    (("doi: 10.1000/test.1}", "url: http://47.251.13.51:8081/x}"), "copy (47.251.13.51)"),
])
def test_impossible_data_is_reported_with_file_and_line(immuno, user_dir, change, message):
    path = write_trial(user_dir, GOOD_TRIAL.replace(*change))
    run = immuno("validate", str(user_dir))
    assert run.code == 2
    line = [l for l in run.out.splitlines() if message in l]
    assert line, run.out
    assert line[0].startswith(f"{path}:"), line[0]
    assert int(line[0].split(":")[1]) > 0


def orr_trial(exp: str, ctl: str) -> str:
    return GOOD_TRIAL.replace("endpoint: OS", "endpoint: ORR").replace(
        "exp: {median: 20.1, median_ci: [15.0, 25.0]}", exp).replace(
        "ctl: {median: 12.0, median_ci: [10.0, 14.0]}", ctl).replace(
        '    hr: {value: 0.6, ci: [0.45, 0.8], p: "<0.001", experimental: exp, control: ctl}\n', "")


@pytest.mark.parametrize("exp,ctl,message", [
    ("exp: {rate: 120}", "ctl: {rate: 40.0}", "120 is above the maximum 100"),
    ("exp: {rate: 45.0, count: 45, n: 100}", "ctl: {rate: 40.0, count: 30, n: 100}",
     "rate 40.0% disagrees with 30/100 = 30.0%"),
    ("exp: {rate: 45.0, count: 45, n: 100}", "ctl: {rate: 40.0, count: 120, n: 100}", "count 120 is larger than"),
    ("exp: {rate: 45.0, count: 45, n: 100}", "ctl: {rate: 40.0, count: 40, n: 150}", "larger than the arm's n=100"),
])
def test_rates_counts_and_denominators(immuno, user_dir, exp, ctl, message):
    write_trial(user_dir, orr_trial(exp, ctl))
    out = immuno("validate", str(user_dir)).out
    assert message in out, out


def test_a_lookup_with_bad_user_data_exits_2_naming_the_file(immuno, user_dir):
    write_trial(user_dir, GOOD_TRIAL.replace("value: 0.6", "value: 1.6"))
    run = immuno("--data-dir", str(user_dir), "trial", "KEYNOTE-942")
    assert run.code == 2 and "my-trial.yaml:" in run.err and "above its CI" in run.err
    assert "Traceback" not in run.err and run.out == ""


@pytest.mark.parametrize("name,message", [
    ("syntax-error.yaml", "YAML error"),
    ("python-tag.yaml", "only plain YAML data is allowed"),
    ("not-utf8.yaml", "not UTF-8"),
    ("top-level-list.yaml", "expected a mapping"),
    ("alias-bomb.yaml", "YAML aliases"),
])
def test_hostile_files_get_one_clear_message(immuno, user_dir, name, message, tmp_path):
    shutil.copy(HOSTILE / name, user_dir / "trials" / name)
    run = immuno("validate", str(user_dir))
    assert run.code == 2
    assert message in run.out and str(user_dir / "trials" / name) in run.out
    assert "Traceback" not in run.out + run.err
    assert not Path("/tmp/immuno-pwned").exists()


def test_missing_directory_is_reported(immuno, tmp_path):
    run = immuno("validate", str(tmp_path / "nope"))
    assert run.code == 2 and "does not exist" in run.out


@pytest.mark.parametrize("url", ["https://www.onclive.com/view/x", "https://pubmed.ncbi.nlm.nih.gov/1/",
                                 "https://voice.ons.org/node/1", "https://www.devicedaily.com/x",
                                 "https://ascopubs.org/doi/10.1200/JCO.19.02107", "https://www.medifind.com/x",
                                 "https://www.hmpgloballearningnetwork.com/site/onc/x", "https://www.testbiotech.org/x",
                                 "https://developer.mozilla.org/x"])
def test_a_public_url_is_never_taken_for_a_copy(url):
    from immunocli.validate import _copy_host

    assert _copy_host(url) is None


@pytest.mark.parametrize("url", ["https://stage.medifind.com/x", "https://develop-a1.us-4.platformsh.site/site/onc/x",
                                 "https://hmpglrntwk-fstlytest.global.ssl.fastly.net/x", "https://vufind-test.k.cz/x",
                                 "https://staging1.lungcancerstoday.com/x", "https://x-mjhls.vercel.app/view/y",
                                 "https://mdedge-cache.qa01.mdedge.com/x", "http://10.0.0.1:8081/x"])
def test_a_staging_or_preview_copy_is_named(url):
    from immunocli.validate import _copy_host

    assert _copy_host(url)


def test_schema_is_published_as_json_schema(immuno):
    schema = immuno("schema").json()
    assert set(schema["$defs"]) == {"trial", "drug", "approval", "endpoints", "indications", "context"}
    assert "hr" in schema["$defs"]["trial"]["properties"]["results"]["items"]["properties"]
