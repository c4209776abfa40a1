import numpy as np
import pytest

from xaiexp.schedule import cosine_decay

# The seed tutorial's own log: model_lr at these steps, cosine_decay(step, 3750, init_lr=1e-3).
SEED_LOG = {1: 1e-3, 1000: 8.350416e-4, 2000: 4.4870423e-4, 3000: 9.664212e-5,
            4000: 9.891716e-4, 5000: 7.506123e-4, 6000: 3.4654405e-4, 7000: 4.435441e-5,
            7815: 9.828171e-4}


@pytest.mark.parametrize("step,expected", SEED_LOG.items())
def test_cosine_decay_matches_the_seed_log(step, expected):
    assert np.float32(cosine_decay(step, cycle_length=3750, init_lr=1e-3)) == np.float32(expected)


def test_cycle_ends_at_min_lr_and_restarts():
    assert cosine_decay(3750, 3750, 1e-3, min_lr=1e-5) == pytest.approx(1e-5, rel=1e-3)
    assert cosine_decay(3751, 3750, 1e-3) == pytest.approx(1e-3)


def test_before_start_is_init_lr():
    assert cosine_decay(3, 10, 0.1, start=5) == 0.1
    assert cosine_decay(5, 10, 0.1, start=5) == 0.1


def test_cycle_multiplier_lengthens_cycles():
    # cycles of 10, 20, 40 steps: restarts at elapsed 10 and 30
    assert cosine_decay(11, 10, 1.0, min_lr=0.0, cycle_multiplier=2) == pytest.approx(1.0)
    assert cosine_decay(21, 10, 1.0, min_lr=0.0, cycle_multiplier=2) == pytest.approx(0.5)
    assert cosine_decay(31, 10, 1.0, min_lr=0.0, cycle_multiplier=2) == pytest.approx(1.0)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="cycle_length"):
        cosine_decay(1, 0, 1e-3)
    with pytest.raises(ValueError, match="cycle_multiplier"):
        cosine_decay(1, 10, 1e-3, cycle_multiplier=0.5)
