"""`vp-monitor sim --write-csv` spreads a generated fleet over sites as a town's are."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict

from click.testing import CliRunner

from vp_monitor.cli import main
from vp_monitor.sim.fleet import SITE_SIZES, SITES_PER_UPLINK


def test_the_csv_spreads_cameras_over_sites_of_5_to_30_a_few_per_uplink(tmp_path):
    """Every site has 5 to 30 cameras (the last one may have fewer), each uplink 2 to 4
    sites, every camera is in the file once, and the same count gives the same file."""
    path = tmp_path / "fleet.csv"
    args = ["sim", "--cameras", "1000", "--write-csv", str(path), "--csv-only"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len({row["code"] for row in rows}) == 1000
    sizes = Counter(row["site"] for row in rows)
    *full, last = sizes.values()  # in order of appearance: the last site takes what is left
    assert all(SITE_SIZES[0] <= size <= SITE_SIZES[1] for size in full), sizes
    assert 1 <= last <= SITE_SIZES[1]
    uplinks: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        uplinks[row["uplink"]].add(row["site"])
    *whole, _ = uplinks.values()
    assert all(SITES_PER_UPLINK[0] <= len(sites) <= SITES_PER_UPLINK[1] for sites in whole)
    assert len(sizes) >= 1000 // SITE_SIZES[1] and len(uplinks) > 1
    again = tmp_path / "again.csv"
    assert (
        CliRunner().invoke(main, [*args[:3], "--write-csv", str(again), "--csv-only"]).exit_code
        == 0
    )
    assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_parts_of_a_fleet_are_disjoint_slices_that_cover_it_in_order(tmp_path):
    """`--part K N` keeps the K-th slice of the same fleet (same codes, addresses, sites), so
    N simulator processes serve one fleet the whole-fleet CSV describes."""
    whole = tmp_path / "whole.csv"
    base = ["sim", "--cameras", "1001"]
    assert CliRunner().invoke(main, [*base, "--write-csv", str(whole), "--csv-only"]).exit_code == 0
    joined = []
    for k in (1, 2, 3):
        part = tmp_path / f"part{k}.csv"
        args = [*base, "--part", str(k), "3", "--write-csv", str(part), "--csv-only"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        joined += list(csv.DictReader(part.open(encoding="utf-8")))
    assert joined == list(csv.DictReader(whole.open(encoding="utf-8")))
    wrong = CliRunner().invoke(main, [*base, "--part", "4", "3", "--csv-only"])
    assert wrong.exit_code != 0 and "--part" in wrong.output
