"""Few-shot episodes: a support set to adapt on and a query set to predict, drawn from one task.

Classification episodes are 2-way K-shot: the support holds exactly K positives and K
negatives. Regression episodes hold K random molecules. For evaluation the query is every
remaining labelled molecule of the task (the few-shot MoleculeNet / MoleculeACE
protocol); for meta-training it is ``n_query`` molecules per class (classification) or
``n_query`` molecules (regression).

Whether a task can give an episode is answered by :func:`episode_problem`, which returns
a human-readable reason such as ``"only 3 positives, need 11"``; :func:`sample_episode`
returns ``None`` for such tasks, and the samplers log the reason once per task.
"""

from __future__ import annotations

import dataclasses
import logging
import zlib
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np

from assays.task import Task

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Episode:
    """One few-shot episode of a task.

    Attributes
    ----------
    task_name : str
        :attr:`Task.name` of the task the rows index into.
    support_idx, query_idx : np.ndarray
        int64 row indices into the task (disjoint). Read-only.
    support_y, query_y : np.ndarray
        float64 labels of those rows (``task.labels[idx]``). Read-only.
    seed : int or None
        The evaluation seed the episode was drawn with (:func:`evaluation_episodes`);
        ``None`` for training episodes.

    Notes
    -----
    Two episodes compare equal when the task name, the seed and all four arrays are equal.
    """

    task_name: str
    support_idx: np.ndarray
    query_idx: np.ndarray
    support_y: np.ndarray
    query_y: np.ndarray
    seed: int | None = None

    def __post_init__(self) -> None:
        for field_name, dtype in (
            ("support_idx", np.int64),
            ("query_idx", np.int64),
            ("support_y", np.float64),
            ("query_y", np.float64),
        ):
            arr = np.array(getattr(self, field_name), dtype=dtype)  # copy: the episode owns its arrays
            arr.setflags(write=False)
            object.__setattr__(self, field_name, arr)
        if len(self.support_idx) != len(self.support_y) or len(self.query_idx) != len(self.query_y):
            raise ValueError(f"Episode of {self.task_name!r}: indices and labels differ in length")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Episode):
            return NotImplemented
        return self.task_name == other.task_name and self.seed == other.seed and all(
            np.array_equal(getattr(self, f), getattr(other, f))
            for f in ("support_idx", "query_idx", "support_y", "query_y")
        )

    def __hash__(self) -> int:
        return hash((self.task_name, self.seed, self.support_idx.tobytes(), self.query_idx.tobytes()))

    @property
    def n_support(self) -> int:
        return len(self.support_idx)

    @property
    def n_query(self) -> int:
        return len(self.query_idx)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def episode_problem(task: Task, k_shot: int, n_query: int | None) -> str | None:
    """Why ``task`` cannot give a ``k_shot`` episode, or ``None`` when it can.

    Parameters
    ----------
    task : Task
    k_shot : int
        Classification: K positives and K negatives in the support. Regression: K rows.
    n_query : int or None
        ``None``: the query is every remaining row, and classification needs at least
        one of each class left (K + 1 per class). An int: the query is ``n_query`` rows
        per class (classification) or ``n_query`` rows (regression), so K + n_query per
        class (or in all) are needed.

    Returns
    -------
    str or None
        E.g. ``"only 3 positives, need 11"``.
    """
    if k_shot < 1:
        raise ValueError(f"k_shot must be >= 1, got {k_shot}")
    if n_query is not None and n_query < 1:
        raise ValueError(f"n_query must be >= 1 or None, got {n_query}")
    extra = 1 if n_query is None else n_query
    if task.kind == "classification":
        other = int(len(task) - task.n_positive - task.n_negative)
        if other:
            return f"{_plural(other, 'label')} other than 0/1"
        need = k_shot + extra
        if task.n_positive < need:
            return f"only {_plural(task.n_positive, 'positive')}, need {need}"
        if task.n_negative < need:
            return f"only {_plural(task.n_negative, 'negative')}, need {need}"
        return None
    need = k_shot + extra
    if len(task) < need:
        return f"only {_plural(len(task), 'molecule')}, need {need}"
    return None


def sample_episode(task: Task, k_shot: int, n_query: int | None, rng: np.random.Generator) -> Episode | None:
    """Draw one episode from ``task``.

    Parameters
    ----------
    task : Task
    k_shot : int
        Classification: exactly K positives + K negatives in the support (stratified).
        Regression: K random rows.
    n_query : int or None
        ``None``: the query is every row not in the support (in row order).
        Otherwise classification draws ``n_query`` positives and ``n_query`` negatives
        from the remaining rows (balanced) and regression ``n_query`` random remaining
        rows.
    rng : numpy.random.Generator
        Source of randomness; the episode is a deterministic function of its state.

    Returns
    -------
    Episode or None
        ``None`` when the task has too few examples; :func:`episode_problem` gives the
        reason (it is also logged at DEBUG level here).
    """
    problem = episode_problem(task, k_shot, n_query)
    if problem is not None:
        logger.debug("task %s gives no %d-shot episode: %s", task.name, k_shot, problem)
        return None
    labels = task.labels
    if task.kind == "classification":
        pos = np.flatnonzero(labels == 1)
        neg = np.flatnonzero(labels == 0)
        sup_pos = rng.choice(pos, size=k_shot, replace=False)
        sup_neg = rng.choice(neg, size=k_shot, replace=False)
        support = rng.permutation(np.concatenate([sup_pos, sup_neg]))
        if n_query is None:
            query = np.setdiff1d(np.arange(len(task)), support)
        else:
            rest_pos = np.setdiff1d(pos, sup_pos)
            rest_neg = np.setdiff1d(neg, sup_neg)
            query = rng.permutation(
                np.concatenate([
                    rng.choice(rest_pos, size=n_query, replace=False),
                    rng.choice(rest_neg, size=n_query, replace=False),
                ])
            )
    else:
        support = rng.choice(len(task), size=k_shot, replace=False)
        rest = np.setdiff1d(np.arange(len(task)), support)
        query = rest if n_query is None else rng.choice(rest, size=n_query, replace=False)
    support = support.astype(np.int64)
    query = query.astype(np.int64)
    return Episode(
        task_name=task.name,
        support_idx=support,
        query_idx=query,
        support_y=labels[support],
        query_y=labels[query],
    )


def _check_unique(tasks: Sequence[Task]) -> None:
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"task names must be unique (episodes refer to tasks by name); duplicated: {dup[:5]}")


def _describe_query(n_query: int | None) -> str:
    return "query=all remaining" if n_query is None else f"query={n_query}"


class EpisodeSampler:
    """Infinite, seeded stream of training episodes over several tasks.

    Parameters
    ----------
    tasks : sequence of Task
        Meta-training tasks (unique names).
    k_shot : int
        K of every episode, unless ``kshot_choices`` is given.
    n_query : int or None
        Query size, see :func:`sample_episode`.
    seed : int
        Seed of the stream: iterating twice (or two samplers with the same arguments)
        gives the same episodes.
    kshot_choices : sequence of int, optional
        If given, each episode first draws K uniformly from these values (``k_shot`` is
        then ignored) and then a task uniformly among the tasks usable with that K.

    Attributes
    ----------
    tasks : list[Task]
        Tasks usable with at least one K.
    skipped : dict[str, str]
        Name -> reason for the tasks usable with no K (logged once, at construction).
    kshots : list[int]
        The K values that are drawn.

    Raises
    ------
    ValueError
        If no task can give an episode.
    """

    def __init__(
        self,
        tasks: Sequence[Task],
        k_shot: int,
        n_query: int | None,
        seed: int,
        kshot_choices: Sequence[int] | None = None,
    ) -> None:
        tasks = list(tasks)
        _check_unique(tasks)
        self.n_query = n_query
        self.seed = seed
        kshots = sorted(set(int(k) for k in kshot_choices)) if kshot_choices else [int(k_shot)]
        self.skipped: dict[str, str] = {}
        self._eligible: dict[int, list[Task]] = {k: [] for k in kshots}
        for task in tasks:
            problems = {k: episode_problem(task, k, n_query) for k in kshots}
            usable = [k for k, p in problems.items() if p is None]
            for k in usable:
                self._eligible[k].append(task)
            if not usable:
                reason = problems[min(kshots)]
                self.skipped[task.name] = reason  # type: ignore[assignment]
                logger.info("task %s skipped: %s (k_shot=%d, %s)", task.name, reason, min(kshots), _describe_query(n_query))
            elif len(usable) < len(kshots):
                k_bad = min(k for k in kshots if k not in usable)
                logger.info(
                    "task %s used only for k_shot in %s: %s at k_shot=%d", task.name, usable, problems[k_bad], k_bad
                )
        empty = [k for k in kshots if not self._eligible[k]]
        if len(empty) == len(kshots):
            raise ValueError(
                f"no task can give a {kshots}-shot episode with {_describe_query(n_query)}: "
                + "; ".join(f"{n}: {r}" for n, r in list(self.skipped.items())[:5])
            )
        if empty:
            logger.warning("no task gives a %s-shot episode; those K values are not drawn", empty)
        self.kshots = [k for k in kshots if self._eligible[k]]
        self.tasks = [t for t in tasks if t.name not in self.skipped]
        logger.info(
            "episode sampler: %d of %d tasks usable, k_shot in %s, %s, seed %d",
            len(self.tasks), len(tasks), self.kshots, _describe_query(n_query), seed,
        )

    def __iter__(self) -> Iterator[Episode]:
        rng = np.random.default_rng(self.seed)
        while True:
            k = self.kshots[int(rng.integers(len(self.kshots)))] if len(self.kshots) > 1 else self.kshots[0]
            pool = self._eligible[k]
            task = pool[int(rng.integers(len(pool)))]
            episode = sample_episode(task, k, self.n_query, rng)
            assert episode is not None  # eligibility was checked at construction
            yield episode


def evaluation_episodes(tasks: Sequence[Task], k_shot: int, seeds: Iterable[int]) -> list[Episode]:
    """Evaluation episodes: for each seed and task, one ``k_shot`` support and the rest as query.

    The generator of (seed, task) is ``np.random.default_rng([seed, zlib.crc32(task.name)])``,
    so the draw does not depend on the task order or on which other tasks are evaluated,
    and every learner evaluated with the same seeds sees the same supports.

    Parameters
    ----------
    tasks : sequence of Task
        Evaluation tasks (unique names).
    k_shot : int
    seeds : iterable of int
        Non-negative seeds, e.g. ``range(10)``.

    Returns
    -------
    list[Episode]
        ``Episode.seed`` set to the seed. Seed-major order (all tasks of the first seed, then the next seed). Tasks with too
        few examples (see :func:`episode_problem` with ``n_query=None``) are left out and
        logged once with the reason.
    """
    tasks = list(tasks)
    _check_unique(tasks)
    usable = []
    for task in tasks:
        problem = episode_problem(task, k_shot, None)
        if problem is None:
            usable.append(task)
        else:
            logger.info("task %s skipped: %s (k_shot=%d, query=all remaining)", task.name, problem, k_shot)
    episodes: list[Episode] = []
    for seed in seeds:
        for task in usable:
            rng = np.random.default_rng([int(seed), zlib.crc32(task.name.encode())])
            episode = sample_episode(task, k_shot, None, rng)
            assert episode is not None
            episodes.append(dataclasses.replace(episode, seed=int(seed)))
    return episodes


def natural_rate_episodes(tasks: Sequence[Task], n_support: int, seeds: Iterable[int], *,
                          max_tries: int = 1000) -> list[Episode]:
    """Classification episodes at the task's own base rate: ``n_support`` molecules drawn at random.

    A support is a uniform draw of ``n_support`` rows without replacement, redrawn (up to
    ``max_tries`` times) until it holds at least one active and one inactive, so that every
    support-only learner can be fitted; the query is every other row. This is what a lab's
    first plate of a new assay looks like, and the support's active fraction is near the
    assay's hit rate instead of 50 %. The generator of (seed, task) is
    ``np.random.default_rng([seed, zlib.crc32(task.name), 1])`` (the trailing 1 keeps these
    draws apart from :func:`evaluation_episodes`'). A task where no draw of ``max_tries`` has
    both classes, or with fewer than ``n_support + 2`` rows or a class missing from the rows
    left for the query, is left out and logged.

    Raises
    ------
    ValueError
        A regression task, repeated task names, ``n_support < 2`` or ``max_tries < 1``.
    """
    tasks = list(tasks)
    _check_unique(tasks)
    if int(n_support) < 2 or int(max_tries) < 1:
        raise ValueError(f"n_support must be >= 2 and max_tries >= 1, got {n_support!r} and {max_tries!r}")
    episodes: list[Episode] = []
    for task in tasks:
        if task.kind != "classification":
            raise ValueError(f"natural-rate supports are for classification; {task.name} is {task.kind}")
    for seed in seeds:
        for task in tasks:
            y = np.asarray(task.labels, dtype=np.float64)
            n_act = int((y == 1).sum())
            if len(y) < n_support + 2 or n_act < 2 or len(y) - n_act < 2:
                logger.info("task %s skipped: %d rows, %d actives for a natural-rate support of %d", task.name,
                            len(y), n_act, n_support)
                continue
            rng = np.random.default_rng([int(seed), zlib.crc32(task.name.encode()), 1])
            for _ in range(int(max_tries)):
                idx = rng.choice(len(y), size=int(n_support), replace=False)
                s = y[idx]
                rest = np.setdiff1d(np.arange(len(y)), idx)
                if 0 < s.sum() < len(s) and 0 < y[rest].sum() < len(rest):
                    episodes.append(Episode(task.name, np.sort(idx), rest, y[np.sort(idx)], y[rest], seed=int(seed)))
                    break
            else:
                logger.info("task %s seed %d skipped: no natural-rate support of %d with both classes in %d draws",
                            task.name, seed, n_support, max_tries)
    return episodes
