"""Datasets bundled with Shipyard, read from the installed package.

Bank Marketing is the demo dataset of the end-to-end story; nothing else in Shipyard may
assume it is the only dataset.
"""

from importlib.resources import files

import pandas as pd

BANK_MARKETING_TARGET = "y"
BANK_MARKETING_CITATION = (
    "S. Moro, P. Cortez and P. Rita. A Data-Driven Approach to Predict the Success of "
    "Bank Telemarketing. Decision Support Systems 62 (2014) 22-31. "
    "doi:10.1016/j.dss.2014.03.001 (UCI Machine Learning Repository, CC BY 4.0)"
)

_BANK_MARKETING_FILE = "bankmarketing_train.csv.gz"


def load_bank_marketing() -> pd.DataFrame:
    """Load the Bank Marketing training set: 32,950 rows, 20 features and the target `y`.

    `y` is "yes" or "no" (about 11.2% "yes"). The `duration` column is only known once the
    call has ended, so it leaks the outcome; it is kept because the reference workflow
    trains with it. Each call returns a fresh DataFrame.
    """
    resource = files("shipyard") / "data" / "bankmarketing" / _BANK_MARKETING_FILE
    with resource.open("rb") as compressed:
        return pd.read_csv(compressed, compression="gzip")
