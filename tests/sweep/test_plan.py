"""Sweep specs: --grid / --vary / --set parsing, the tool's own validation of every task, and
one seed per task that depends only on the root seed and the task index."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from twin3d import tools
from twin3d.sweep import plan as plans
from twin3d.sweep.distributions import DistributionError, parse_distribution

SIM = tools.get("simulator")


@pytest.mark.parametrize("text, kind, params", [
    ("uniform(0.1, 2)", "uniform", (0.1, 2.0)),
    ("normal(1,0.5)", "normal", (1.0, 0.5)),
    ("lognormal(0, 0.25)", "lognormal", (0.0, 0.25)),
    ("randint(1,3)", "randint", (1, 3)),
    ('choice(hammer|earthquake|"a b")', "choice", ("hammer", "earthquake", "a b")),
    ("choice(1|2.5)", "choice", (1, 2.5)),
])
def test_distribution_good(text, kind, params):
    d = parse_distribution(text)
    assert (d.kind, d.params) == (kind, params)


@pytest.mark.parametrize("text, word", [
    ("uniform(2, 1)", "low < high"), ("uniform(1)", "takes 2"), ("normal(0, 0)", "sigma > 0"),
    ("normal(0, -1)", "sigma > 0"), ("lognormal(0, nan)", "finite"), ("gauss(0, 1)", "unknown"),
    ("uniform(a, 1)", "number"), ("randint(1.5, 3)", "integer"), ("choice()", "choice"),
    ("choice(a||b)", "choice"), ("3.5", "not a distribution"), ("uniform(0, inf)", "finite"),
])
def test_distribution_bad(text, word):
    with pytest.raises(DistributionError, match=word):
        parse_distribution(text)


def test_draws_follow_their_distribution():
    """Each drawn sample against scipy's distribution (KS test, 2000 draws)."""
    rng = np.random.default_rng(5)
    for text, ref in [("uniform(2, 5)", scipy.stats.uniform(2, 3)),
                      ("normal(1, 0.5)", scipy.stats.norm(1, 0.5)),
                      ("lognormal(0.3, 0.2)", scipy.stats.lognorm(0.2, scale=np.exp(0.3)))]:
        d = parse_distribution(text)
        x = [d.draw(rng) for _ in range(2000)]
        assert scipy.stats.kstest(x, ref.cdf).pvalue > 1e-3, text
    ints = [parse_distribution("randint(1, 3)").draw(rng) for _ in range(600)]
    assert set(ints) == {1, 2, 3} and all(isinstance(v, int) for v in ints)


def test_grid_split_keeps_lists_and_strings():
    grid = plans.parse_grid(['x0_m=[0.001, 0, 0],[0, 0, 0.002]', 'excitation="a,b",hammer'])
    assert grid == {"x0_m": [[0.001, 0, 0], [0, 0, 0.002]], "excitation": ["a,b", "hammer"]}


def test_grid_plan_is_the_product_first_key_slowest(scene):
    p = plans.grid_plan(SIM, {"sample_rate_hz": 256}, plans.parse_grid(
        ["excitation=hammer,earthquake", "duration_s=1,2,3"]), 0, scene)
    assert len(p.tasks) == 6 and p.keys == ("sample_rate_hz", "excitation", "duration_s")
    assert [(t.inputs["excitation"], t.inputs["duration_s"]) for t in p.tasks] == [
        ("hammer", 1.0), ("hammer", 2.0), ("hammer", 3.0),
        ("earthquake", 1.0), ("earthquake", 2.0), ("earthquake", 3.0)]
    assert all(isinstance(t.inputs["duration_s"], float) for t in p.tasks)  # schema-converted
    assert p.seeds_tool and len({t.seed for t in p.tasks}) == 6


@pytest.mark.parametrize("grid, sets, word", [
    (["nonsense=1,2"], {}, "simulator has no input 'nonsense'"),
    (["duration_s=1,700"], {}, "--grid:duration_s: out of range (got 700, allowed 0.1..600 s)"),
    (["excitation=hammer,quake"], {}, "--grid:excitation: not one of the allowed values"),
    (["floor=1,2"], {"floor": 1}, "both --set and --grid"),
    (["floor=1"], {"duration_s": -1}, "--set:duration_s: out of range"),
    (["profile=nope"], {}, "no such profile"),
])
def test_grid_bad(scene, grid, sets, word):
    with pytest.raises(plans.SweepError) as e:
        plans.grid_plan(SIM, sets, plans.parse_grid(grid), 0, scene)
    assert word in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("vary, word", [
    (["floor=uniform(1, 3)"], "floor is not a real number"),
    (["duration_s=uniform(1, 700)"], "--vary:duration_s: out of range (got 700"),
    (["bogus=normal(1, 1)"], "no input 'bogus'"),
    (["excitation=choice(hammer|quake)"], "not one of the allowed values"),
    (["duration_s=normal(1, 5)"], "narrow the distribution"),  # a draw below 0.1 s
])
def test_samples_bad(scene, vary, word):
    with pytest.raises(plans.SweepError) as e:
        plans.sample_plan(SIM, {}, plans.parse_vary(vary), 50, 0, scene)
    assert word in str(e.value)


def test_parse_bad_items():
    for fn, item in [(plans.parse_grid, "duration_s"), (plans.parse_grid, "duration_s=1,,2"),
                     (plans.parse_vary, "a=uniform(1,2,3)"), (plans.parse_sets, "=3")]:
        with pytest.raises(plans.SweepError):
            fn([item])
    with pytest.raises(plans.SweepError, match="given twice"):
        plans.parse_grid(["a=1", "a=2"])


def test_seeds_depend_only_on_root_seed_and_index(scene):
    vary = plans.parse_vary(["duration_s=uniform(1, 2)", "floor=randint(1, 3)"])
    p10 = plans.sample_plan(SIM, {}, vary, 10, 42, scene)
    p4 = plans.sample_plan(SIM, {}, vary, 4, 42, scene)
    assert [t.seed for t in p4.tasks] == [t.seed for t in p10.tasks[:4]]
    assert [t.inputs for t in p4.tasks] == [t.inputs for t in p10.tasks[:4]]
    assert len({t.seed for t in p10.tasks}) == 10
    assert len({t.inputs["duration_s"] for t in p10.tasks}) == 10
    other = plans.sample_plan(SIM, {}, vary, 4, 43, scene)
    assert [t.seed for t in other.tasks] != [t.seed for t in p4.tasks]
    # the task seed is spawn child i of SeedSequence(root), as numpy defines it
    child = np.random.SeedSequence(42, spawn_key=(3,))
    assert p10.tasks[3].seed == int(child.spawn(2)[1].generate_state(1, np.uint32)[0])


def test_seed_set_by_the_user_is_not_overridden(scene):
    p = plans.grid_plan(SIM, {"seed": 9}, {"floor": [1, 2]}, 0, scene)
    assert not p.seeds_tool and all(t.inputs["seed"] == 9 for t in p.tasks)
