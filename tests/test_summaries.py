"""musicrnn.summaries: what the Dataset page's instrument options keep."""

import pandas as pd

from musicrnn.summaries import PROGRAM_FAMILIES, chosen_programs


def test_chosen_programs_joins_programs_and_families_and_none_means_all():
    assert chosen_programs([]) is None
    assert chosen_programs(["program:68", "program:0"]) == (0, 68)
    strings = chosen_programs(["family:Strings", "program:0"])
    assert strings == tuple(sorted(PROGRAM_FAMILIES["family:Strings"] | {0}))
    assert 40 in strings  # violin
    assert chosen_programs(["family:No such family"]) is None


def test_a_piece_says_whether_the_model_ended_it_or_it_stopped_at_the_cap():
    from musicrnn.summaries import ending_words

    piece = pd.DataFrame({"pitch": [60] * 12})
    piece.attrs["ended"] = True
    assert ending_words(piece, 400) == "ended by the model after 12 notes"
    piece.attrs["ended"] = False
    assert ending_words(piece, 12) == "stopped at 12 notes, the most allowed"
    assert ending_words(pd.DataFrame({"pitch": [60] * 12}), 12) == "stopped at 12 notes, the most allowed"
