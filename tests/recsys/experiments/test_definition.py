"""Experiment definitions (validation, weights) and the deterministic assignment."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter

import pytest

from recsys.errors import ConfigError
from recsys.experiments import BUCKETS, Experiment, assign, bucket, make_experiment, parse_arms


def test_arms_are_parsed_named_and_weighted() -> None:
    assert parse_arms("v1:50,v2:50") == [("A", "v1", 50), ("B", "v2", 50)]
    assert parse_arms(" control=v1:10 , new=v.2-x:90") == [
        ("control", "v1", 10),
        ("new", "v.2-x", 90),
    ]
    experiment = make_experiment("spring", parse_arms("v1:50,v2:50"))
    assert [a.buckets for a in experiment.arms] == [5000, 5000]
    assert experiment.bounds == (5000, BUCKETS) and experiment.versions == ("v1", "v2")
    # Weights not summing to 100 are proportions.
    thirds = make_experiment("thirds", parse_arms("v1:1,v2:1,v3:1"))
    assert sum(a.buckets for a in thirds.arms) == BUCKETS
    assert sorted(a.buckets for a in thirds.arms) == [3333, 3333, 3334]
    assert [a.buckets for a in make_experiment("x", parse_arms("v1:1,v2:3")).arms] == [2500, 7500]


@pytest.mark.parametrize(
    ("name", "spec", "unit", "message"),
    [
        ("Spring Test", "v1:50,v2:50", "customer", "invalid experiment name"),
        ("-x", "v1:50,v2:50", "customer", "invalid experiment name"),
        ("ok", "v1:50", "customer", "2 to 26 arms"),
        ("ok", "v1:50,v2:0", "customer", "must be a positive integer"),
        ("ok", "a=v1:50,a=v2:50", "customer", "arm names must differ"),
        ("ok", "v1:50,v2:50", "visitor", "--unit 'visitor'"),
        ("ok", "v1:50,bad version:50", "customer", "invalid version id"),
    ],
)
def test_bad_definitions_are_refused_with_a_reason(
    name: str, spec: str, unit: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        make_experiment(name, parse_arms(spec), unit=unit)


@pytest.mark.parametrize("spec", ["v1", "v1:-5,v2:5", "v1:fifty,v2:50", ":50,v2:50"])
def test_unparseable_arms_are_refused(spec: str) -> None:
    with pytest.raises(ConfigError, match="VERSION:WEIGHT"):
        parse_arms(spec)


def test_the_record_round_trips_through_json() -> None:
    experiment = make_experiment("rt", parse_arms("c=v1:30,t=v2:70"), unit="session")
    again = Experiment.from_json(experiment.to_json())
    assert again == experiment and again.bounds == experiment.bounds
    with pytest.raises(ConfigError, match="not an experiment record"):
        Experiment.from_json({"name": "x"})


def test_a_50_50_experiment_splits_10000_customers_within_2_points() -> None:
    experiment = make_experiment("homepage", parse_arms("v1:50,v2:50"))
    counts = Counter(assign(experiment, f"customer-{n}").arm for n in range(10_000))
    assert abs(counts["A"] / 10_000 - 0.5) < 0.02, counts
    uneven = make_experiment("uneven", parse_arms("v1:20,v2:30,v3:50"))
    counts = Counter(assign(uneven, f"customer-{n}").arm for n in range(10_000))
    for arm, share in {"A": 0.2, "B": 0.3, "C": 0.5}.items():
        assert abs(counts[arm] / 10_000 - share) < 0.02, counts


def test_assignment_is_a_stable_hash_of_name_and_unit() -> None:
    digest = hashlib.blake2b(b"homepage\x00c42", digest_size=8).digest()
    assert bucket("homepage", "c42") == int.from_bytes(digest, "big") % BUCKETS
    # Another process (another hash seed) agrees.
    code = "from recsys.experiments import bucket; print(bucket('homepage', 'c42'))"
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert int(out.stdout) == bucket("homepage", "c42")
    # Two experiments split the same customers independently (the name salts the hash).
    one = make_experiment("one", parse_arms("v1:50,v2:50"))
    two = make_experiment("two", parse_arms("v1:50,v2:50"))
    same = sum(assign(one, f"c{n}").arm == assign(two, f"c{n}").arm for n in range(10_000))
    assert abs(same / 10_000 - 0.5) < 0.02
