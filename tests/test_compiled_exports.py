"""`compare --format csv` writes each row's CSV line as compiled (or anew, where a figure comes from an
earlier cut): the same bytes as flattening the rows of `--json`."""

from __future__ import annotations

import pytest

from immunocli.render import flat


@pytest.mark.parametrize("args", [
    ["-e", "OS"],
    ["-e", "PFS", "--cut", "all"],
    ["-e", "OS", "--subgroups", "--sort", "hr"],
    ["-e", "OS", "-i", "HCC", "--limit", "3"],
    [],
])
def test_compare_csv_is_the_json_rows_flattened(immuno, args):
    rows = immuno("compare", *args, "--json").json()["rows"]
    assert rows
    if args == ["-e", "OS"]:  # rows completed from earlier cuts are written anew, the others as compiled
        assert 0 < sum(bool(r.get("figures_from_earlier_cuts")) for r in rows) < len(rows)
    expected = flat.to_csv({"kind": "comparison", "rows": rows})
    run = immuno("compare", *args, "--format", "csv")
    assert run.code == 0 and run.out == expected
    assert immuno("compare", *args, "--format", "csv", "--no-headers").out == flat.to_csv(
        {"kind": "comparison", "rows": rows}, headers=False)
