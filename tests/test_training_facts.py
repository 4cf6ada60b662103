from musicrnn.training_facts import best_row, epoch_row, record, stop_reason

HISTORY = [
    {"epoch": 1, "loss": 3.0, "val_loss": 3.2},
    {"epoch": 2, "loss": 2.5, "val_loss": 2.9},
    {"epoch": 3, "loss": 2.2, "val_loss": 3.1},
]


def test_the_final_row_is_the_best_epochs():
    assert best_row(HISTORY, 2) == HISTORY[1]


def test_without_a_best_epoch_the_final_row_is_the_last_and_without_epochs_it_is_empty():
    assert best_row(HISTORY, 0) == HISTORY[-1]  # the model then holds the last epoch's weights
    assert best_row([], 0) == {}


def test_an_epoch_event_loses_its_progress_fields():
    event = {"kind": "epoch", "epoch": 2, "loss": 2.5, "elapsed": 10.0, "epochs": 5, "batches": 40}
    assert epoch_row(event) == {"epoch": 2, "loss": 2.5}


def test_the_record_holds_every_fact_with_the_best_epochs_losses():
    facts = record(
        HISTORY, 2, corpus={"files": 4}, train_files=["a", "b", "c"], val_files=["d"], stopped=True, seconds=12.5
    )
    assert facts == {
        "corpus": {"files": 4},
        "train_files": ["a", "b", "c"],
        "val_files": ["d"],
        "history": HISTORY,
        "final": HISTORY[1],
        "best_epoch": 2,
        "early_stopped": False,
        "timed_out": False,
        "stopped": True,
        "seconds": 12.5,
    }


def test_the_stop_reason_names_the_patience_the_time_limit_or_all_epochs():
    assert stop_reason(True, False, 3) == "stopped early: the held-out files were guessed no better for 3 passes"
    assert stop_reason(False, True, 3) == "stopped at the time limit"
    assert stop_reason(False, False, 3) == "every planned pass done"
