"""Episode sampling: stratification, determinism, order independence, skipping."""

from __future__ import annotations

import dataclasses
import itertools
import logging

import numpy as np
import pytest

from assays.episodes import Episode, EpisodeSampler, episode_problem, evaluation_episodes, sample_episode
from assays.task import Task


def clf_task(name: str, n_pos: int, n_neg: int, seed: int = 0) -> Task:
    labels = np.array([1.0] * n_pos + [0.0] * n_neg)
    np.random.default_rng(seed).shuffle(labels)
    return Task(name=name, inputs=[f"C{'C' * i}" for i in range(len(labels))], labels=labels, kind="classification")


def reg_task(name: str, n: int) -> Task:
    return Task(name=name, inputs=["C" * (i + 1) for i in range(n)], labels=np.arange(n) * 0.5, kind="regression")


def assert_consistent(ep: Episode, task: Task) -> None:
    assert ep.task_name == task.name
    assert ep.support_idx.dtype == np.int64 and ep.query_idx.dtype == np.int64
    assert len(set(ep.support_idx.tolist())) == len(ep.support_idx)
    assert len(set(ep.query_idx.tolist())) == len(ep.query_idx)
    assert not set(ep.support_idx.tolist()) & set(ep.query_idx.tolist())
    np.testing.assert_array_equal(ep.support_y, task.labels[ep.support_idx])
    np.testing.assert_array_equal(ep.query_y, task.labels[ep.query_idx])


# ---------------------------------------------------------------- sample_episode


@pytest.mark.parametrize("k", [1, 5, 10])
def test_classification_support_is_stratified_and_query_is_the_rest(k):
    task = clf_task("t", 30, 70)
    ep = sample_episode(task, k, None, np.random.default_rng(1))
    assert_consistent(ep, task)
    assert (ep.support_y == 1).sum() == k and (ep.support_y == 0).sum() == k
    np.testing.assert_array_equal(np.sort(np.concatenate([ep.support_idx, ep.query_idx])), np.arange(len(task)))
    assert (ep.query_y == 1).sum() == 30 - k and (ep.query_y == 0).sum() == 70 - k


def test_classification_balanced_query():
    task = clf_task("t", 30, 70)
    ep = sample_episode(task, 5, 8, np.random.default_rng(2))
    assert_consistent(ep, task)
    assert ep.n_support == 10 and ep.n_query == 16
    assert (ep.query_y == 1).sum() == 8 and (ep.query_y == 0).sum() == 8


def test_regression_episodes():
    task = reg_task("r", 50)
    ep = sample_episode(task, 16, None, np.random.default_rng(0))
    assert_consistent(ep, task)
    assert ep.n_support == 16 and ep.n_query == 34
    ep = sample_episode(task, 16, 20, np.random.default_rng(0))
    assert_consistent(ep, task)
    assert ep.n_support == 16 and ep.n_query == 20


def test_too_small_tasks_give_none_with_a_reason():
    task = clf_task("few", 3, 100)
    assert episode_problem(task, 10, None) == "only 3 positives, need 11"
    assert sample_episode(task, 10, None, np.random.default_rng(0)) is None
    # K + 1 of each class are needed with query = all, so that the query holds both classes
    assert episode_problem(clf_task("edge", 11, 11), 10, None) is None
    assert episode_problem(clf_task("edge", 11, 10), 10, None) == "only 10 negatives, need 11"
    assert episode_problem(clf_task("q", 20, 100), 10, 16) == "only 20 positives, need 26"
    assert episode_problem(reg_task("r", 16), 16, None) == "only 16 molecules, need 17"
    assert episode_problem(reg_task("r", 17), 16, None) is None
    with pytest.raises(ValueError):
        episode_problem(task, 0, None)


def test_sample_episode_determinism():
    task = clf_task("t", 40, 60)
    a = sample_episode(task, 5, 4, np.random.default_rng(7))
    b = sample_episode(task, 5, 4, np.random.default_rng(7))
    c = sample_episode(task, 5, 4, np.random.default_rng(8))
    assert a == b and a != c


def test_episode_is_immutable():
    ep = sample_episode(clf_task("t", 10, 10), 2, None, np.random.default_rng(0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ep.task_name = "x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        ep.support_idx[0] = 3
    assert hash(ep) == hash(Episode(ep.task_name, ep.support_idx, ep.query_idx, ep.support_y, ep.query_y))


# ---------------------------------------------------------------- EpisodeSampler


def test_sampler_is_deterministic_and_seeded():
    tasks = [clf_task(f"t{i}", 20 + i, 50, seed=i) for i in range(5)]
    first = list(itertools.islice(EpisodeSampler(tasks, 3, 4, seed=11), 40))
    again = list(itertools.islice(EpisodeSampler(tasks, 3, 4, seed=11), 40))
    sampler = EpisodeSampler(tasks, 3, 4, seed=11)
    twice = list(itertools.islice(sampler, 40)), list(itertools.islice(sampler, 40))
    other = list(itertools.islice(EpisodeSampler(tasks, 3, 4, seed=12), 40))
    assert first == again == twice[0] == twice[1]
    assert first != other
    by_name = {t.name: t for t in tasks}
    for ep in first:
        assert_consistent(ep, by_name[ep.task_name])
        assert ep.n_support == 6 and ep.n_query == 8
    assert {ep.task_name for ep in first} == set(by_name)  # uniform over 5 tasks: all appear in 40 draws


def test_sampler_skips_small_tasks_once(caplog):
    tasks = [clf_task("big", 30, 30), clf_task("small", 3, 100), reg_task("reg", 5)]
    with caplog.at_level(logging.INFO, logger="assays.episodes"):
        sampler = EpisodeSampler(tasks, 5, None, seed=0)
        episodes = list(itertools.islice(sampler, 30))
    assert sampler.skipped == {"small": "only 3 positives, need 6", "reg": "only 5 molecules, need 6"}
    assert [t.name for t in sampler.tasks] == ["big"]
    assert {ep.task_name for ep in episodes} == {"big"}
    skip_lines = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skip_lines) == 2 and "task small skipped: only 3 positives, need 6" in skip_lines[0]


def test_sampler_kshot_choices_vary_k_and_respect_per_k_eligibility():
    tasks = [clf_task("big", 40, 40), clf_task("medium", 4, 40)]
    sampler = EpisodeSampler(tasks, 99, None, seed=3, kshot_choices=[1, 5, 10])
    episodes = list(itertools.islice(sampler, 200))
    assert {ep.n_support for ep in episodes} == {2, 10, 20}
    # 'medium' (4 positives) can only give 1-shot episodes
    assert {ep.n_support for ep in episodes if ep.task_name == "medium"} == {2}
    assert sampler.skipped == {} and len(sampler.tasks) == 2


def test_sampler_without_usable_tasks_raises():
    with pytest.raises(ValueError, match="only 2 positives"):
        EpisodeSampler([clf_task("small", 2, 50)], 5, 16, seed=0)
    with pytest.raises(ValueError, match="unique"):
        EpisodeSampler([clf_task("a", 20, 20), clf_task("a", 20, 20)], 1, None, seed=0)


# ---------------------------------------------------------------- evaluation_episodes


def test_evaluation_episodes_are_order_and_subset_independent():
    tasks = [clf_task(f"t{i}", 15 + i, 40, seed=i) for i in range(4)]
    seeds = range(3)
    full = evaluation_episodes(tasks, 5, seeds)
    assert len(full) == 12
    assert [ep.task_name for ep in full[:4]] == ["t0", "t1", "t2", "t3"]  # seed-major
    assert [ep.seed for ep in full] == [0] * 4 + [1] * 4 + [2] * 4
    reordered = evaluation_episodes(tasks[::-1], 5, seeds)
    alone = evaluation_episodes([tasks[2]], 5, seeds)
    key = lambda eps: {(ep.seed, ep.task_name): ep for ep in eps}  # noqa: E731
    full_k, reordered_k, alone_k = key(full), key(reordered), key(alone)
    assert full_k == reordered_k
    for (seed, name), ep in alone_k.items():
        assert full_k[(seed, name)] == ep
    by_name = {t.name: t for t in tasks}
    for ep in full:
        task = by_name[ep.task_name]
        assert_consistent(ep, task)
        assert ep.n_support + ep.n_query == len(task)
        assert (ep.support_y == 1).sum() == 5 and (ep.support_y == 0).sum() == 5
    # different seeds draw different supports
    assert full_k[(0, "t0")] != full_k[(1, "t0")]
    # identical across calls ("every learner sees the same draws")
    assert evaluation_episodes(tasks, 5, seeds) == full


def test_evaluation_episodes_skip_small_tasks_once(caplog):
    tasks = [clf_task("ok", 20, 20), clf_task("tiny", 3, 20)]
    with caplog.at_level(logging.INFO, logger="assays.episodes"):
        episodes = evaluation_episodes(tasks, 10, [0, 1, 2])
    assert [ep.task_name for ep in episodes] == ["ok"] * 3
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["task tiny skipped: only 3 positives, need 11 (k_shot=10, query=all remaining)"]
