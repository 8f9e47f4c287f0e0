"""Hostile input: every schema field, every kind of bad value, and typo'd keys.

Walks ``sim.config.SimConfig`` recursively; for each field, values of every wrong type,
NaN and infinities, values just outside a bounded range and a choice that is not allowed must
raise ``ConfigError`` naming the key.  Zero silent acceptances.  (``to_config`` directly: the
whole suite takes a few seconds; the command line is checked in ``tests/test_cli.py``.)
"""

import dataclasses

import pytest

from sim.config import ConfigError, SimConfig, to_config

NAN, INF = float("nan"), float("inf")


def fields(obj=None, prefix=""):
    obj = SimConfig() if obj is None else obj
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from fields(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", f


FIELDS = dict(fields())

WRONG_TYPES = {
    "float": ["abc", "0.5", True, None, [1.0], {"a": 1}],
    "int": ["abc", "3", 1.5, NAN, INF, -INF, True, None, [1]],
    "str": [3, 1.5, NAN, True, None, ["x"]],
    "bool": [1, 0, 1.0, "yes", "true", NAN, None, [True]],
}


def bad_values(key, f):
    """Every bad value for one field."""
    values = list(WRONG_TYPES[f.type])
    m = f.metadata
    if f.type == "float":
        values += [NAN, INF, -INF]
    if f.type in ("float", "int"):
        if m["lo"] is not None:
            values.append(type(m["lo"])(m["lo"]) - 1 if f.type == "int" else float(m["lo"]) - 1)
        if m["hi"] is not None:
            values.append(int(m["hi"]) + 1 if f.type == "int" else float(m["hi"]) + 1)
    if m["choices"]:
        values.append("bogus")
    if key == "start_date":
        values += ["not-a-date", "2010-02-30", "", "05/04/2010"]
    if key == "design.path":
        values.append("no_such_design.csv")
    return values


CASES = [(key, value) for key, f in FIELDS.items() for value in bad_values(key, f)]


def test_the_walk_covers_the_schema():
    assert len(FIELDS) > 150 and {"seed", "start_date", "users.groups.older.share",
                                  "policy.family_pay_rule", "design.path"} <= set(FIELDS)
    assert len(CASES) > 10 * len(FIELDS) - 100


def test_every_bad_value_of_every_field_is_rejected_naming_the_key():
    accepted, unnamed = [], []
    for key, value in CASES:
        try:
            to_config(None, **{key: value})
        except ConfigError as exc:
            if key not in str(exc):
                unnamed.append((key, value, str(exc)))
        else:
            accepted.append((key, value))
    assert not accepted, f"{len(accepted)} silently accepted: {accepted[:20]}"
    assert not unnamed, f"{len(unnamed)} messages without the key: {unnamed[:5]}"


@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_every_float_field_rejects_non_finite_values(value):
    for key, f in FIELDS.items():
        if f.type == "float":
            with pytest.raises(ConfigError, match="is not a finite number"):
                to_config(None, **{key: value})


def typos(key):
    """A few misspellings of the key's last part (none of them a real key)."""
    *head, name = key.split(".")
    variants = {name[:-1], name + "s", name[1:], name[0] + name[2:] if len(name) > 2 else name + "x",
                name.replace("_", "", 1) if "_" in name else name + "_"}
    return [".".join([*head, v]) for v in variants if v and ".".join([*head, v]) not in FIELDS]


def test_every_typo_of_every_key_is_rejected_naming_it():
    accepted, unnamed = [], []
    for key in FIELDS:
        for typo in typos(key):
            try:
                to_config(None, **{typo: 1})
            except ConfigError as exc:
                if f"unknown key {typo!r}" not in str(exc):
                    unnamed.append((typo, str(exc)))
            else:
                accepted.append(typo)
    assert not accepted and not unnamed, (accepted[:10], unnamed[:5])


def test_typos_get_a_suggestion():
    """The closest key is suggested for a plain misspelling of a real key."""
    missing = []
    for key in FIELDS:
        *head, name = key.split(".")
        typo = ".".join([*head, name[:-1]])
        if typo in FIELDS or len(name) < 4:
            continue
        with pytest.raises(ConfigError) as e:
            to_config(None, **{typo: 1})
        if f"did you mean {key}?" not in str(e.value):
            missing.append((typo, str(e.value)))
    assert not missing, missing[:10]


def test_typos_in_a_nested_config_are_rejected():
    for key in ("policy.pb_targt", "users.groups.older.shares", "council.budget_envelop"):
        *head, name = key.split(".")
        tree = node = {}
        for part in head:
            node = node.setdefault(part, {})
        node[name] = 0.5
        with pytest.raises(ConfigError, match=f"unknown key '{key}'"):
            to_config(tree)


def test_the_defaults_pass():
    """The suite rejects bad values, not everything: the schema's defaults are valid."""
    cfg = to_config(None)
    for key in FIELDS:
        value = cfg
        for part in key.split("."):
            value = getattr(value, part)
        to_config(None, **{key: value})
