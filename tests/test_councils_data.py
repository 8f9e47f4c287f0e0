"""England's 152 councils of 2009-10 (sim/data/england_councils_2009.csv, issue 14 item 5):
the right councils, unique codes, only 2009-10 figures, and totals that agree with the
England rows of the sources quoted in sim/data/england_councils_2009.md."""

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "sim" / "data"
CSV = DATA / "england_councils_2009.csv"
DOC = DATA / "england_councils_2009.md"

ID_COLUMNS = ["name", "dh_name", "cassr_code", "ons_code_2009", "gss_code", "register_code",
              "la_type", "new_unitary_2009", "region"]
NUMERIC = ["dp_pb_clients_31mar2010", "home_care_clients_31mar2010", "day_care_clients_31mar2010",
           "meals_clients_31mar2010", "residents_65plus_31mar2010", "residents_18_64_31mar2010",
           "supported_resident_weeks_2009_10", "gross_cost_res_homecare_2009_10_k",
           "gross_cost_homecare_2009_10_k", "gross_current_expenditure_2009_10_k",
           "adult_pop_18plus_mid2009", "pb_share_2009_10"]


@pytest.fixture(scope="module")
def rows():
    with CSV.open(newline="") as f:
        return list(csv.DictReader(f))


def total(rows, col):
    return sum(int(r[col]) for r in rows if r[col])


def test_columns_are_the_documented_ones(rows):
    cols = list(rows[0].keys())
    assert cols == ID_COLUMNS + NUMERIC + ["suppressed"]
    doc = DOC.read_text()
    for c in cols:
        assert f"`{c}`" in doc, f"column {c} is not documented"


def test_152_councils_with_unique_codes(rows):
    assert len(rows) == 152
    for col in ["name", "cassr_code", "ons_code_2009", "gss_code", "register_code"]:
        values = [r[col] for r in rows]
        assert all(values), col
        assert len(set(values)) == 152, col
    assert all(re.fullmatch(r"\d{3}", r["cassr_code"]) for r in rows)
    assert all(re.fullmatch(r"00[A-Z]{2}|\d{2}", r["ons_code_2009"]) for r in rows)
    assert all(re.fullmatch(r"E(06|08|09|10)\d{6}", r["gss_code"]) for r in rows)


def test_types_regions_and_2009_unitaries(rows):
    assert Counter(r["la_type"] for r in rows) == {
        "unitary_authority": 56, "metropolitan_district": 36, "london_borough": 32,
        "county": 27, "city_of_london": 1}
    assert Counter(r["region"] for r in rows) == {
        "North East": 12, "North West": 23, "Yorkshire and The Humber": 15, "East Midlands": 9,
        "West Midlands": 14, "East of England": 11, "London": 33, "South East": 19,
        "South West": 16}
    new = {r["name"] for r in rows if r["new_unitary_2009"] == "1"}
    assert new == {"Bedford", "Central Bedfordshire", "Cheshire East", "Cheshire West and Chester",
                   "Cornwall", "County Durham", "Northumberland", "Shropshire", "Wiltshire"}
    names = {r["name"] for r in rows}
    assert {"City of London", "Isles of Scilly"} <= names
    # the councils abolished on 1 April 2009 are gone
    assert not names & {"Bedfordshire", "Cheshire", "Durham", "Shropshire County"}
    # codes of a given type carry that type's GSS prefix
    prefix = {"unitary_authority": "E06", "metropolitan_district": "E08", "london_borough": "E09",
              "city_of_london": "E09", "county": "E10"}
    assert all(r["gss_code"].startswith(prefix[r["la_type"]]) for r in rows)


def test_nothing_from_2010_11_or_later(rows):
    """Every figure column is named for 2009-10 (a flow over the year, or a count at
    31 March 2010, the year's last day); no later year appears in any header."""
    for col in NUMERIC:
        years = re.findall(r"(?:19|20)\d\d", col)
        assert years, f"{col} does not say which year it is"
        assert col.endswith(("_2009_10", "_2009_10_k", "_31mar2010", "_mid2009")), col
    header = ",".join(rows[0].keys())
    assert not re.search(r"2010_11|2011|2012|2013|31mar2011", header)
    doc = DOC.read_text()
    assert "nothing from 2010-11 or later enters as a figure" in doc


def test_numeric_cells_are_whole_numbers_or_empty(rows):
    for r in rows:
        for col in NUMERIC:
            assert r[col] == "" or re.fullmatch(r"\d+", r[col]), (r["name"], col, r[col])
    # the figures not found are left empty, not guessed
    for col in ["gross_current_expenditure_2009_10_k", "adult_pop_18plus_mid2009", "pb_share_2009_10"]:
        assert all(r[col] == "" for r in rows), col


def test_every_empty_published_cell_is_flagged(rows):
    published = NUMERIC[:-3]
    for r in rows:
        flagged = {item.split("=")[0] for item in r["suppressed"].split(";") if item}
        for col in published:
            assert bool(r[col]) != (col in flagged), (r["name"], col)


def test_sums_agree_with_the_england_rows(rows):
    """England rows of the NHS Information Centre 2009-10 tables (rounded to 5 per council)."""
    assert total(rows, "dp_pb_clients_31mar2010") == pytest.approx(130_900, rel=0.01)
    assert total(rows, "home_care_clients_31mar2010") == pytest.approx(337_735, rel=0.001)
    assert total(rows, "supported_resident_weeks_2009_10") == pytest.approx(12_048_235, rel=0.001)
    # East Sussex is empty, so the councils' sum falls short of the England row by its share
    res = total(rows, "gross_cost_res_homecare_2009_10_k")
    assert 0.97 * 11_457_245 < res < 11_457_245
    # and that cost is about two thirds of the published national gross current expenditure
    assert 0.6 < 11_457_245 / 16_800_000 < 0.75
