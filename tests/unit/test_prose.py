"""Generated sentences: what a forest plot's intervals show, for alt texts."""
from osteobook.prose import intervals


def test_all_intervals_cross_the_null():
    assert intervals(["a", "b"], [0.5, 0.8], [1.2, 1.9]) == "all 2 intervals cross 1"
    assert intervals(["a"], [0.5], [1.2]) == "the interval crosses 1"


def test_intervals_that_exclude_the_null_are_named_with_their_limits():
    text = intervals(["driver", "suppressor", "signed"], [0.54, 0.8, 1.02], [0.97, 1.3, 1.5])
    assert text == ("driver (0.54 to 0.97) lies below 1; signed (1.02 to 1.50) lies above 1; "
                    "the other 1 interval crosses 1")
    assert intervals(["rho"], [-0.7], [-0.3], null=0) == "rho (-0.70 to -0.30) lies below 0"
