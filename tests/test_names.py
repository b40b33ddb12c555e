"""One grammar for state and unit names (`inspector.names`): the engine's interventions and
records, the dialogs, ctrl+g, `--intervene` and the analysis panels all read `l0.h[3]` through
it, so a name one of them accepts the others read the same way."""

import pytest

from inspector.commands.trace import parse_intervene
from inspector.names import StateName, parse_name, parse_state
from inspector.tui.edits import EditError, parse_intervention
from inspector.tui.panels.base import split_unit
from inspector.tui.screens.goto_unit import parse_unit


def test_names_parse_into_layer_state_and_unit():
    assert parse_name("l0.h[3]") == StateName(0, "h", 3)
    assert parse_name("l1.c") == StateName(1, "c", None)
    assert parse_name("l2.gate.f[17]") == StateName(2, "gate.f", 17)
    assert parse_name("l2.f[17]") == StateName(2, "gate.f", 17)  # a gate without `gate.`
    assert parse_name("dec.l0.h[1]") == StateName(0, "h", 1, "dec")
    assert parse_name("l0.act[4]").target == "l0.act"
    assert parse_name("l0.mem.z").target == "l0.mem.z"
    for text in ("l0.x[3]", "h[3]", "l0.h[", "l0.h[3]x", "", "set", "l0.gate.f[-1]", "x.l0.h"):
        assert parse_name(text) is None, text


def test_an_interventions_target_is_a_state_of_the_model():
    assert parse_state("l1.c", 2) == (1, "c")
    for bad in ("l0.gate.f", "l0.h[3]", "dec.l0.h", "h"):
        with pytest.raises(ValueError, match="must look like l0.h"):
            parse_state(bad, 2)
    with pytest.raises(ValueError, match="has 2 layer"):
        parse_state("l2.h", 2)


@pytest.mark.parametrize("text", ["l1.h[13]", "l1.c[13]", "l1.gate.f[13]", "dec.l1.h[13]"])
def test_the_dialogs_goto_the_panels_and_the_cli_read_the_same_names(text):
    name = parse_name(text)
    assert parse_unit(text, 2, 64, 0) == (1, 13)
    if name.prefix is None:
        assert split_unit(text) == (name.target, 13)
    if name.is_state:
        iv = parse_intervention(f"set {text} 0.5")
        assert (iv.target, iv.unit, iv.value) == (name.target, 13, 0.5)
        t, iv = parse_intervene(f"t=3 set {text}=0.5")
        assert (t, iv.target, iv.unit, iv.value) == (3, name.target, 13, 0.5)
    else:
        with pytest.raises(EditError):
            parse_intervention(f"set {text} 0.5")


def test_a_record_is_read_by_the_same_names():
    from inspector.engine import Session, inspectable
    from inspector.loading import open_model

    session = Session(inspectable(open_model("doubled-lstm")))
    record = session.feed("ab")[-1]
    assert record.activation("l1.gate.f") is record.layers[1].gates["f"]
    assert record.activation("l1.f") is record.layers[1].gates["f"]
    assert record.activation("l0.c") is record.layers[0].c
    for bad in ("l9.h", "l0.h[3]", "l0.x"):
        with pytest.raises(KeyError):
            record.activation(bad)
