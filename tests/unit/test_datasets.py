"""Tests for the bundled datasets in `shipyard.datasets`."""

import pandas as pd
import pytest

from shipyard.datasets import BANK_MARKETING_CITATION, BANK_MARKETING_TARGET, load_bank_marketing

BANK_MARKETING_COLUMNS = [
    "age",
    "job",
    "marital",
    "education",
    "default",
    "housing",
    "loan",
    "contact",
    "month",
    "day_of_week",
    "duration",
    "campaign",
    "pdays",
    "previous",
    "poutcome",
    "emp.var.rate",
    "cons.price.idx",
    "cons.conf.idx",
    "euribor3m",
    "nr.employed",
    "y",
]
STRING_COLUMNS = [
    "job",
    "marital",
    "education",
    "default",
    "housing",
    "loan",
    "contact",
    "month",
    "day_of_week",
    "poutcome",
    "y",
]


@pytest.fixture(scope="module")
def bank() -> pd.DataFrame:
    return load_bank_marketing()


def test_bank_marketing_has_the_documented_shape(bank: pd.DataFrame) -> None:
    assert bank.shape == (32_950, 21)
    assert list(bank.columns) == BANK_MARKETING_COLUMNS
    assert BANK_MARKETING_TARGET == "y"


def test_bank_marketing_target_is_yes_or_no_with_about_eleven_percent_yes(
    bank: pd.DataFrame,
) -> None:
    target = bank[BANK_MARKETING_TARGET]

    assert set(target.unique()) == {"yes", "no"}
    assert (target == "yes").mean() == pytest.approx(0.112, abs=0.001)


def test_bank_marketing_has_no_missing_values(bank: pd.DataFrame) -> None:
    assert not bank.isna().any().any()


def test_bank_marketing_string_columns_hold_strings_and_the_rest_are_numeric(
    bank: pd.DataFrame,
) -> None:
    # is_string_dtype accepts both pandas 3's `str` dtype and pandas 2's object-of-str.
    for column in STRING_COLUMNS:
        assert pd.api.types.is_string_dtype(bank[column]), column
    for column in set(BANK_MARKETING_COLUMNS) - set(STRING_COLUMNS):
        assert pd.api.types.is_numeric_dtype(bank[column]), column


def test_bank_marketing_returns_a_fresh_frame_on_each_call(bank: pd.DataFrame) -> None:
    first = load_bank_marketing()
    first["age"] = -1

    pd.testing.assert_frame_equal(load_bank_marketing(), bank)


def test_bank_marketing_citation_names_the_authors_and_the_doi() -> None:
    assert "Moro" in BANK_MARKETING_CITATION
    assert "10.1016/j.dss.2014.03.001" in BANK_MARKETING_CITATION
