"""A card a person reads on a terminal lists at most 25 trials or approvals and says how many more there are;
piped output stays whole unless --limit is given."""

from __future__ import annotations

from immunocli.render import table


def test_terminal_drug_card_is_bounded_and_says_how_many_more(immuno, monkeypatch):
    monkeypatch.setattr(table, "terminal", lambda: True)
    d = immuno("drug", "pembrolizumab", "--json").json()["drug"]
    run = immuno("drug", "pembrolizumab", "--no-pager", env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert run.code == 0
    assert f"… and {len(d['trials']) - table.CARD_LIMIT} more trials" in run.out
    assert f"… and {len(d['approvals']) - table.CARD_LIMIT} more approvals" in run.out
    everything = immuno("drug", "pembrolizumab", "--all", "--no-pager", env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert "more trials" not in everything.out and d["trials"][-1]["name"] in everything.out


def test_piped_cards_are_whole_unless_limited(immuno):
    d = immuno("drug", "pembrolizumab", "--json").json()["drug"]
    whole = immuno("drug", "pembrolizumab").out
    assert "more trials" not in whole and all(t["name"] in whole for t in d["trials"])
    limited = immuno("drug", "pembrolizumab", "--limit", "3").out
    assert f"… and {len(d['trials']) - 3} more trials" in limited
    assert "more trials" in immuno("indication", "NSCLC", "-n", "2").out


def test_limit_cuts_a_card_s_json_and_csv_and_says_how_long_each_list_was(immuno):
    whole = immuno("drug", "pembrolizumab", "--json").json()["drug"]
    cut = immuno("drug", "pembrolizumab", "--json", "--limit", "3").json()["drug"]
    assert cut["trials"] == whole["trials"][:3] and cut["total_trials"] == len(whole["trials"]) > 3
    assert cut["approvals"] == whole["approvals"][:3] and cut["total_approvals"] == len(whole["approvals"])
    assert "total_trials" not in whole and "total_approvals" not in whole
    csv_rows = immuno("drug", "pembrolizumab", "--format", "csv", "--limit", "3").out.splitlines()[1:]
    assert {row.split(",")[1] for row in csv_rows} == {t["id"] for t in whole["trials"][:3]}
    indication = immuno("indication", "NSCLC", "--json", "-n", "2").json()["indication"]
    full = immuno("indication", "NSCLC", "--json").json()["indication"]
    for group, all_of in zip(indication["settings"], full["settings"]):
        assert group["trials"] == all_of["trials"][:2]
        assert group.get("total") == (len(all_of["trials"]) if len(all_of["trials"]) > 2 else None)
