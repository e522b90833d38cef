"""The library refuses or warns, never guesses (the reliability suite's library-input family):
each case states the message a user gets."""

import numpy as np
import pandas as pd
import pytest

from ckaflow.similarity import (
    PairingWarning,
    UndefinedCKAWarning,
    cka,
    cka_interval,
    cka_interval_seeds,
    cka_matrix,
    cka_null,
)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_mapping_keys_that_read_alike_are_refused(rng):
    x, y, z = (rng.normal(size=(20, 5)) for _ in range(3))
    with pytest.raises(ValueError, match=r"the keys 1 and '1' both read '1'"):
        cka_matrix({1: x, "1": y, 2: z})


def test_a_dataframe_beside_a_plain_array_warns_that_pairing_is_by_position(rng):
    x = pd.DataFrame(rng.normal(size=(20, 5)), index=rng.permutation(20))
    y = rng.normal(size=(20, 5))
    with pytest.warns(PairingWarning, match="x is labelled by its index, y is a plain array"):
        value = cka(x, y)
    assert value == pytest.approx(cka(x.to_numpy(), y))  # paired by position, as it says


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda x, y: cka_null(x, y, permutations=99), "cka_null: CKA undefined"),
        (lambda x, y: cka_interval(x, y, resamples=200), "cka_interval: CKA undefined"),
    ],
)
def test_a_constant_input_gives_nan_with_a_warning_that_says_why(rng, call, words):
    x, const = rng.normal(size=(20, 5)), np.ones((20, 5))
    with pytest.warns(UndefinedCKAWarning, match=words) as caught:
        out = call(x, const)
    assert "does not vary over the examples" in str(caught[0].message)
    first = out[0] if isinstance(out, tuple) else out.cka
    assert np.isnan(first)


def test_a_seed_left_out_of_the_seed_interval_is_named(rng):
    pairs = [(rng.normal(size=(20, 5)), rng.normal(size=(20, 5))) for _ in range(3)]
    pairs[1] = (pairs[1][0], np.ones((20, 5)))  # seed 1's second model does not vary
    with pytest.warns(UndefinedCKAWarning, match=r"seed 1 .* left out: 2 of 3 seeds remain"):
        out = cka_interval_seeds(pairs, resamples=200)
    assert out.seeds == 2
