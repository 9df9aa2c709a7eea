"""The generated registry lists well-formed, distinct features."""

import sys

from app.core.features import Feature
from app.features import FEATURES


def test_features_are_distinct_and_named_after_their_module() -> None:
    names = [feature.name for feature in FEATURES]
    assert len(names) == len(set(names))
    for feature in FEATURES:
        assert isinstance(feature, Feature)
        assert f"app.features.{feature.name}" in sys.modules


def test_features_are_listed_in_order() -> None:
    names = [feature.name for feature in FEATURES]
    assert names == sorted(names)
