"""musicrnn.summaries: what the Dataset page's instrument options keep."""

from musicrnn.summaries import PROGRAM_FAMILIES, chosen_programs


def test_chosen_programs_joins_programs_and_families_and_none_means_all():
    assert chosen_programs([]) is None
    assert chosen_programs(["program:68", "program:0"]) == (0, 68)
    strings = chosen_programs(["family:Strings", "program:0"])
    assert strings == tuple(sorted(PROGRAM_FAMILIES["family:Strings"] | {0}))
    assert 40 in strings  # violin
    assert chosen_programs(["family:No such family"]) is None
