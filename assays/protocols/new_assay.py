"""New assays on new molecules: a split doubly held out, by task and by Bemis–Murcko scaffold.

The published splits of the collections hold out *tasks*; a test assay's molecules (or
close analogues) may still be in the meta-training assays. This protocol also holds out
the *molecules*, over all given collections together:

* meta-training (training, validation, calibration) sees only train tasks and validation
  tasks restricted to **train molecules**;
* evaluation sees only test tasks restricted to **test molecules**, support and query both.

How the molecules are split
---------------------------
Every input is canonicalised (RDKit canonical SMILES) and given the Bemis–Murcko scaffold
of its canonical SMILES (the text deepchem's ``ScaffoldSplitter`` groups by, chirality
left out; acyclic molecules share the empty scaffold). Then:

1. **Own split per collection.** The unique canonical molecules of each collection (first
   seen over its train, validation and test tasks) are split as
   :func:`assays.splits.scaffold_split` splits them with fractions ``(1 - f, 0, f)``:
   deepchem's ``ScaffoldSplitter.split`` on scaffold sets largest first (``seed`` orders
   sets of equal size), ``f`` being the collection's test fraction.
2. **Test wins, per scaffold** (:data:`RULE`). A scaffold that *any* collection's own split
   puts in its test part is a test scaffold everywhere; a molecule is a test molecule if and
   only if its scaffold is a test scaffold. This is one global assignment: no scaffold, and so
   no molecule, is on both sides in any collection, and a molecule shared by collections is
   on the same side in all of them. Conflicts only move molecules from train to test, so a
   test task never loses a molecule of its own split: the minimums the fraction was chosen
   for still hold. The price is fewer train molecules where collections share scaffolds;
   every collection reports how many of its molecules moved and because of which collection
   (``n_moved``, ``moved_by``), and ``sensitivity`` gives the effective test fractions for
   every other fraction of each collection.

Choosing the test fraction
--------------------------
A test task must leave enough data to draw a 32-molecule support and still have a query:
classification needs ``min_actives`` actives and ``min_inactives`` inactives on test
molecules (default 24 = 16 in a class-balanced 32-shot support + 8 for the query; the
project's ``k_shot`` counts per class, so these are the 16- and 8-per-class episodes of
supports of 32 and 16 molecules), regression ``min_regression`` molecules (default 64 = a
32-molecule support + 32 for the query). Where a collection's fraction is not given, it is
chosen on the collection's own split: the smallest fraction of ``grid`` at which the fewest
test tasks fall short (so, when some fraction lets every test task that can ever meet the
minimum meet it, the smallest such fraction). Counts of a scaffold split are not monotone in
the fraction (whole scaffold sets move), hence "fewest", not "all feasible". Test tasks that
still fall short once the global assignment is made are dropped, with the reason; so are
train and validation tasks left with fewer than ``min_train_rows`` rows or, for
classification, fewer than ``min_train_per_class`` of a class on train molecules.

Recording without copying data
------------------------------
:meth:`NewAssaySplit.to_record` holds the parameters, fractions, counts and, per part, the
SHA-256 of the sorted canonical SMILES joined by newlines (:data:`DIGEST_METHOD`), never a
SMILES. The split is rebuilt from code (deterministic given the data, the parameters and
``seed``) and checked against a record with :func:`verify` (or :func:`rebuild_split`). The
record classes, :func:`load_split_record` and :func:`verify` are in
:mod:`assays.protocols.new_assay_records`, re-exported here.

deepchem is imported by the first :func:`build_split` call, never by importing this module.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from assays.protocols.new_assay_records import (DIGEST_METHOD, RULE, CollectionSplit, NewAssaySplit,
                                                SplitMismatchError, TaskCounts, canonicalise, digest,
                                                load_split_record, split_from_record, verify)
from assays.splits import restrict_collection
from assays.task import TaskCollection

__all__ = ["DEFAULT_GRID", "RULE", "DIGEST_METHOD", "TaskCounts", "CollectionSplit", "NewAssaySplit",
           "SplitMismatchError", "build_split", "apply_split", "load_split_record", "verify", "rebuild_split",
           "split_from_record"]

logger = logging.getLogger(__name__)

#: Test fractions the chooser tries: 0.10, 0.15, ..., 0.90.
DEFAULT_GRID: tuple[float, ...] = tuple(round(0.10 + 0.05 * i, 2) for i in range(17))


# --------------------------------------------------------------------------------------------- helpers

def _scaffolds(canonical: Sequence[str]) -> list[str]:
    """Bemis–Murcko scaffold of each canonical SMILES: the text of
    :func:`sciml.domains.molecules.scaffolds.murcko_scaffolds` (and of deepchem's grouping), one RDKit parse each."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem.Scaffolds.MurckoScaffold import MurckoScaffoldSmiles

    RDLogger.DisableLog("rdApp.*")
    return [MurckoScaffoldSmiles(mol=Chem.MolFromSmiles(s), includeChirality=False) for s in canonical]


def _scaffold_sets(local_scaffold: np.ndarray, seed: int | None) -> list[list[int]]:
    """Positions grouped by scaffold id in the order :func:`sciml.domains.molecules.scaffolds.scaffold_splitter`
    gives them: deepchem's (size, then first position, both descending), equal sizes shuffled by ``seed``."""
    groups: dict[int, list[int]] = {}
    for i, s in enumerate(local_scaffold.tolist()):
        groups.setdefault(s, []).append(i)
    sets = sorted(groups.values(), key=lambda v: (len(v), v[0]), reverse=True)
    if seed is not None:
        tie = np.random.default_rng(seed).permutation(len(sets))
        sets = [sets[j] for j in sorted(range(len(sets)), key=lambda j: (-len(sets[j]), tie[j]))]
    return sets


@dataclass
class _Prepared:
    """One collection's molecules (global ids, first-seen order), scaffold sets and task rows."""

    name: str
    collection: TaskCollection
    mols: np.ndarray                  # global molecule id per local position
    sets: list[list[int]]             # local positions per scaffold set, in splitter order
    set_of: np.ndarray                # local position -> index into sets
    rows: dict[str, np.ndarray]       # task -> global molecule id per row
    splitter: Any = None
    dataset: Any = None

    def own_test_sets(self, fraction: float) -> np.ndarray:
        """Boolean over ``sets``: in the test part of deepchem's split at test fraction ``fraction``
        (fractions passed exactly as :func:`assays.splits.scaffold_split` passes them)."""
        fr = np.asarray([1.0 - fraction, 0.0, fraction], dtype=np.float64)
        frac = fr / fr.sum()
        _, _, test = self.splitter.split(self.dataset, frac_train=float(frac[0]), frac_valid=float(frac[1]),
                                         frac_test=float(1.0 - frac[0] - frac[1]))
        out = np.zeros(len(self.sets), dtype=bool)
        out[np.unique(self.set_of[np.asarray(test, dtype=np.int64)])] = True
        return out


def _prepare(name: str, coll: TaskCollection, mol_id: dict[str, int], canonical: dict[str, str],
             scaffold_of: np.ndarray, seed: int | None) -> _Prepared:
    from sciml.domains.molecules.scaffolds import scaffold_splitter

    used = [n for part in ("train", "val", "test") for n in getattr(coll, part)]
    rows = {n: np.asarray([mol_id[canonical[s]] for s in coll.tasks[n].inputs], dtype=np.int64) for n in used}
    mols = np.asarray(list(dict.fromkeys(i for n in used for i in rows[n].tolist())), dtype=np.int64)
    sets = _scaffold_sets(scaffold_of[mols], seed)
    set_of = np.empty(len(mols), dtype=np.int64)
    for j, s in enumerate(sets):
        set_of[s] = j

    base = type(scaffold_splitter(None))  # deepchem's ScaffoldSplitter (imported quietly)

    class _GivenSets(base):  # deepchem's split, on scaffold sets computed once instead of at every call
        def generate_scaffolds(self, dataset, log_every_n: int = 1000):
            return sets

    import deepchem as dc

    dataset = dc.data.NumpyDataset(X=np.zeros((len(mols), 1)), ids=np.arange(len(mols)))
    return _Prepared(name, coll, mols, sets, set_of, rows, _GivenSets(), dataset)


def _counts(task, rows_on_side: np.ndarray) -> tuple[int, int | None, int | None]:
    labels = task.labels[rows_on_side]
    if task.kind == "classification":
        return int(rows_on_side.sum()), int((labels == 1).sum()), int((labels == 0).sum())
    return int(rows_on_side.sum()), None, None


def _test_short(kind: str, n: int, act: int | None, inact: int | None, mins: Mapping[str, int]) -> bool:
    if kind == "classification":
        return act < mins["actives"] or inact < mins["inactives"]
    return n < mins["regression"]


def _fmt_fractions(fs: Sequence[float]) -> str:
    shown = ", ".join(f"{f:.2f}" for f in fs[:6])
    return shown + (" …" if len(fs) > 6 else "")


def _test_reason(task, n: int, act, inact, fraction: float, chosen: str, passes_at: list[float],
                 grid: Sequence[float], mins: Mapping[str, int]) -> str:
    if task.kind == "classification":
        if task.n_positive < mins["actives"] or task.n_negative < mins["inactives"]:
            return (f"only {task.n_positive} actives and {task.n_negative} inactives in the whole task, need "
                    f"{mins['actives']} and {mins['inactives']} on test molecules")
        have = f"{act} actives and {inact} inactives on test molecules, need {mins['actives']} and {mins['inactives']}"
    else:
        if len(task) < mins["regression"]:
            return f"only {len(task)} molecules in the whole task, need {mins['regression']} on test molecules"
        have = f"{n} test molecules, need {mins['regression']}"
    at = f"at the {'given' if chosen == 'given' else 'chosen'} test fraction {fraction:.2f}"
    if not passes_at:
        return f"{have} {at}; no test fraction of the grid ({grid[0]:.2f}-{grid[-1]:.2f}) gives enough"
    return f"{have} {at}; enough only at test fraction(s) {_fmt_fractions(passes_at)} of its own split"


def _train_reason(task, n: int, act, inact, min_rows: int, min_per_class: int) -> str:
    if n < min_rows:
        return f"only {n} of {len(task)} rows on train molecules, need {min_rows}"
    if task.kind == "classification" and min(act, inact) < min_per_class:
        return f"{act} actives and {inact} inactives on train molecules, need {min_per_class} of each"
    return ""


def _check_fraction(f: object, what: str) -> float:
    try:
        x = float(f)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number in (0, 1), got {f!r}") from None
    if not (math.isfinite(x) and 0.0 < x < 1.0):
        raise ValueError(f"{what} must be in (0, 1), got {f!r}")
    return x


# --------------------------------------------------------------------------------------------- build

def build_split(collections: Mapping[str, TaskCollection], test_fractions: Mapping[str, float | None] | None = None,
                seed: int | None = 0, *, min_actives: int = 24, min_inactives: int = 24, min_regression: int = 64,
                min_train_rows: int = 10, min_train_per_class: int = 2,
                grid: Sequence[float] = DEFAULT_GRID, max_short_share: float = 0.0) -> NewAssaySplit:
    """Split the molecules of ``collections`` into meta-train and test molecules (see the module docstring).

    Parameters
    ----------
    collections : mapping
        Name -> molecule :class:`~assays.task.TaskCollection` with its published task split;
        the names are the keys of the record and of :func:`apply_split`.
    test_fractions : mapping, optional
        Name -> test fraction of that collection's own scaffold split, in (0, 1). A collection
        not named, or named with ``None``, gets the chooser's fraction (the smallest of ``grid``
        at which the fewest of its test tasks fall short of the minimums).
    seed : int or None, default 0
        Orders scaffold sets of equal size (as in :func:`assays.splits.scaffold_split`);
        ``None`` is deepchem's own order. The split is a deterministic function of the
        collections, the parameters and ``seed``.
    min_actives, min_inactives : int, default 24
        A classification test task needs this many actives (label 1) and inactives (label 0) on
        test molecules: 16 for a class-balanced 32-molecule support + 8 for the query.
    min_regression : int, default 64
        A regression test task needs this many test molecules: a 32-molecule support + 32.
    min_train_rows, min_train_per_class : int, default 10 and 2
        A train or val task left with fewer rows, or (classification) fewer of a class, on train
        molecules is dropped (the defaults of :func:`assays.splits.restrict_collection`).
    grid : sequence of float, default :data:`DEFAULT_GRID` (0.10, 0.15, ..., 0.90)
        Fractions the chooser tries, and those of ``trace`` and ``sensitivity``.
    max_short_share : float, default 0.0
        The chooser's tolerance: it takes the smallest fraction of ``grid`` at which at most
        ``max(fewest, floor(max_short_share * n_test_tasks))`` test tasks fall short, ``fewest``
        being the fewest over the grid. 0 is "the smallest fraction with the fewest short";
        a collection with many test tasks (ToxCast, 156) may then give up a few rare-active
        test tasks to keep more of its molecules, and of the collections sharing its
        scaffolds, for meta-training.

    Returns
    -------
    NewAssaySplit

    Raises
    ------
    ValueError
        A fraction outside (0, 1), a name in ``test_fractions`` that is not a collection, an
        empty or unsorted grid, a collection of another domain, or inputs RDKit cannot read.
    """
    if not collections:
        raise ValueError("no collections given")
    grid = tuple(_check_fraction(g, "every grid fraction") for g in grid)
    if not 0.0 <= float(max_short_share) < 1.0:
        raise ValueError(f"max_short_share must be in [0, 1), got {max_short_share!r}")
    if not grid or list(grid) != sorted(set(grid)):
        raise ValueError(f"grid must be non-empty, increasing and without repeats, got {grid!r}")
    given = {n: _check_fraction(f, f"test fraction of {n!r}") for n, f in (test_fractions or {}).items()
             if f is not None}
    unknown = sorted(set(test_fractions or {}) - set(collections))
    if unknown:
        raise ValueError(f"test_fractions names collections {unknown} that are not given; given: {sorted(collections)}")
    for name, coll in collections.items():
        if coll.tasks and coll.domain != "molecules":
            raise ValueError(f"{name}: the new-assay split needs molecules, got domain {coll.domain!r}")
    mins = {"actives": int(min_actives), "inactives": int(min_inactives), "regression": int(min_regression),
            "train_rows": int(min_train_rows), "train_per_class": int(min_train_per_class)}

    # canonical SMILES and scaffolds over the union of the collections
    raw = dict.fromkeys(s for c in collections.values() for p in ("train", "val", "test")
                        for n in getattr(c, p) for s in c.tasks[n].inputs)
    canonical = canonicalise(raw)
    logger.info("%d distinct inputs, %d canonical molecules", len(raw), len(set(canonical.values())))
    mol_list = sorted(set(canonical.values()))
    mol_id = {s: i for i, s in enumerate(mol_list)}
    scaffold_text = _scaffolds(mol_list)
    scaffold_list = sorted(set(scaffold_text))
    scaffold_index = {s: i for i, s in enumerate(scaffold_list)}
    scaffold_of = np.asarray([scaffold_index[s] for s in scaffold_text], dtype=np.int64)
    n_scaf = len(scaffold_list)
    logger.info("%d scaffolds", n_scaf)

    preps = {n: _prepare(n, c, mol_id, canonical, scaffold_of, seed) for n, c in collections.items()}
    n_collections_of = np.zeros(len(mol_list), dtype=np.int64)
    for p in preps.values():
        n_collections_of[p.mols] += 1

    # own splits: test scaffolds of each collection at every fraction of the grid (and the given one)
    own: dict[str, dict[float, np.ndarray]] = {}
    passes: dict[str, dict[str, list[float]]] = {}
    traces: dict[str, list[dict]] = {}
    chosen: dict[str, float] = {}
    for name, p in preps.items():
        fractions = sorted(set(grid) | ({given[name]} if name in given else set()))
        own[name], passes[name], traces[name] = {}, {t: [] for t in p.collection.test}, []
        set_scaffold = scaffold_of[p.mols[np.asarray([s[0] for s in p.sets], dtype=np.int64)]]
        for f in fractions:
            test_scaf = np.zeros(n_scaf, dtype=bool)
            test_scaf[set_scaffold[p.own_test_sets(f)]] = True
            own[name][f] = test_scaf
            on_test = test_scaf[scaffold_of]
            failing = 0
            for t in p.collection.test:
                task = p.collection.tasks[t]
                n, a, i = _counts(task, on_test[p.rows[t]])
                if _test_short(task.kind, n, a, i, mins):
                    failing += 1
                elif f in grid:
                    passes[name][t].append(f)
            traces[name].append({"fraction": f, "own_test_fraction": round(float(on_test[p.mols].mean()), 6)
                                 if len(p.mols) else 0.0, "n_failing": failing})
        if name in given:
            chosen[name] = given[name]
        else:
            on_grid = [r for r in traces[name] if r["fraction"] in grid]
            allowed = max(min(r["n_failing"] for r in on_grid),
                          math.floor(float(max_short_share) * len(p.collection.test)))
            chosen[name] = min(r["fraction"] for r in on_grid if r["n_failing"] <= allowed)
        logger.info("%s: test fraction %.2f (%s)", name, chosen[name], "given" if name in given else "chosen")

    # the global assignment: test wins per scaffold
    n_test_in = np.zeros(n_scaf, dtype=np.int64)   # collections whose own split puts the scaffold in test
    n_train_in = np.zeros(n_scaf, dtype=np.int64)
    for name, p in preps.items():
        present = np.zeros(n_scaf, dtype=bool)
        present[scaffold_of[p.mols]] = True
        n_test_in += own[name][chosen[name]]
        n_train_in += present & ~own[name][chosen[name]]
    test_scaffold = n_test_in > 0
    is_test = test_scaffold[scaffold_of]
    side = {s: ("test" if is_test[i] else "train") for i, s in enumerate(mol_list)}

    results: dict[str, CollectionSplit] = {}
    for name, p in preps.items():
        mine_test = own[name][chosen[name]][scaffold_of[p.mols]]
        final = is_test[p.mols]
        moved = final & ~mine_test
        moved_by = {}
        for other in preps:
            if other != name:
                k = int((moved & own[other][chosen[other]][scaffold_of[p.mols]]).sum())
                if k:
                    moved_by[other] = k
        tasks = []
        for part in ("train", "val", "test"):
            for t in getattr(p.collection, part):
                task = p.collection.tasks[t]
                on_side = is_test[p.rows[t]] if part == "test" else ~is_test[p.rows[t]]
                n, a, i = _counts(task, on_side)
                if part == "test":
                    reason = (_test_reason(task, n, a, i, chosen[name], "given" if name in given else "auto",
                                           passes[name][t], grid, mins)
                              if _test_short(task.kind, n, a, i, mins) else "")
                else:
                    reason = _train_reason(task, n, a, i, mins["train_rows"], mins["train_per_class"])
                tasks.append(TaskCounts(t, part, task.kind, len(task), n, a, i, not reason, reason))
        names = [mol_list[i] for i in p.mols.tolist()]
        results[name] = CollectionSplit(
            name=name, fraction=chosen[name], chosen="given" if name in given else "auto",
            n_molecules=len(p.mols), n_scaffolds=len(p.sets), n_own_test=int(mine_test.sum()),
            n_train=int((~final).sum()), n_test=int(final.sum()), n_moved=int(moved.sum()), moved_by=moved_by,
            n_shared=int((n_collections_of[p.mols] > 1).sum()),
            digests={"train": digest(s for s, f in zip(names, final) if not f),
                     "test": digest(s for s, f in zip(names, final) if f)},
            trace=traces[name], tasks=tasks)
        dropped = results[name].dropped
        logger.info("%s: %d train / %d test molecules (%d moved to test), %d task(s) dropped", name,
                    results[name].n_train, results[name].n_test, results[name].n_moved, len(dropped))

    # what every other fraction of one collection would do (the others at their fractions)
    sensitivity: dict[str, list[dict]] = {}
    for name, p in preps.items():
        rows = []
        for f in grid:
            alt = (n_test_in - own[name][chosen[name]] + own[name][f]) > 0
            alt_test = alt[scaffold_of]
            short = 0
            for t in p.collection.test:
                task = p.collection.tasks[t]
                short += _test_short(task.kind, *_counts(task, alt_test[p.rows[t]]), mins)
            rows.append({"fraction": f, "n_test_tasks_short": int(short),
                         "effective_test_fraction": {o: round(float(alt_test[q.mols].mean()), 6) if len(q.mols) else 0.0
                                                     for o, q in preps.items()}})
        sensitivity[name] = rows

    moved_any = np.zeros(len(mol_list), dtype=bool)
    for name, p in preps.items():
        moved_any[p.mols] |= is_test[p.mols] & ~own[name][chosen[name]][scaffold_of[p.mols]]
    return NewAssaySplit(
        seed=seed, grid=grid, minimums=mins, given_fractions=given, collections=results,
        max_short_share=float(max_short_share),
        n_molecules=len(mol_list), n_train=int((~is_test).sum()), n_test=int(is_test.sum()),
        n_shared=int((n_collections_of > 1).sum()), n_moved=int(moved_any.sum()),
        n_conflicting_scaffolds=int(((n_test_in > 0) & (n_train_in > 0)).sum()),
        digests={"train": digest(s for s, t in zip(mol_list, is_test) if not t),
                 "test": digest(s for s, t in zip(mol_list, is_test) if t)},
        sensitivity=sensitivity, _side=side, _canonical=canonical)


# --------------------------------------------------------------------------------------------- apply

def apply_split(collection: TaskCollection, split: NewAssaySplit, *, name: str | None = None) -> TaskCollection:
    """The collection under the split: train and val tasks on train molecules, test tasks on test molecules.

    Tasks the split dropped (:attr:`CollectionSplit.dropped`) are left out; the others keep
    their rows on molecules of their side (:func:`assays.splits.restrict_collection`), in
    their original order.

    Parameters
    ----------
    collection : TaskCollection
        The collection the split was built on (same tasks, same inputs).
    split : NewAssaySplit
    name : str, optional
        Its key in ``split.collections`` (default ``collection.name``).

    Returns
    -------
    TaskCollection
        Named ``"<name>/new_assay"``, same split parts.

    Raises
    ------
    ValueError
        The split has no such collection, the collection's tasks or inputs are not those the
        split was built on, or the rows kept differ from the split's counts.
    """
    key = name or collection.name
    if key not in split.collections:
        raise ValueError(f"the split has no collection {key!r}; it has {sorted(split.collections)}")
    cs = split.collections[key]
    for part in ("train", "val", "test"):
        recorded = [t.task for t in cs.tasks if t.part == part]
        if list(getattr(collection, part)) != recorded:
            raise ValueError(f"{key}: {part} tasks differ from those the split was built on "
                             f"({len(getattr(collection, part))} here, {len(recorded)} in the split)")
    allowed: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    unknown = []
    for part in ("train", "val", "test"):
        want = "test" if part == "test" else "train"
        for s in dict.fromkeys(x for t in getattr(collection, part) for x in collection.tasks[t].inputs):
            try:
                if split.side_of(s) == want:
                    allowed[part].append(s)
            except (KeyError, ValueError):
                unknown.append(s)
    if unknown:
        raise ValueError(f"{key}: {len(unknown)} input(s) are not in the split (it was built on other data)")
    keep = {t.task for t in cs.tasks if t.kept}
    pre = TaskCollection(name=collection.name, tasks={n: t for n, t in collection.tasks.items() if n in keep},
                         train=[n for n in collection.train if n in keep], val=[n for n in collection.val if n in keep],
                         test=[n for n in collection.test if n in keep], invalid=list(collection.invalid),
                         source=collection.source)
    out, report = restrict_collection(pre, allowed, min_rows=0, min_per_class=0, name=f"{collection.name}/new_assay")
    expected = {t.task: t.n_kept for t in cs.tasks if t.kept}
    got = dict(zip(report["task"], report["n_kept"]))
    wrong = sorted(t for t in expected if got.get(t) != expected[t])
    if wrong:
        raise ValueError(f"{key}: rows kept differ from the split's counts for {len(wrong)} task(s), e.g. {wrong[:3]}")
    return out


# --------------------------------------------------------------------------------------------- records

def rebuild_split(collections: Mapping[str, TaskCollection], record: Mapping) -> NewAssaySplit:
    """Build the split with the record's parameters and :func:`verify` it against the record."""
    params = record["parameters"]
    mins = params["minimums"]
    split = build_split(collections, params.get("given_fractions") or {}, params["seed"],
                        min_actives=mins["actives"], min_inactives=mins["inactives"],
                        min_regression=mins["regression"], min_train_rows=mins["train_rows"],
                        min_train_per_class=mins["train_per_class"], grid=params["grid"],
                        max_short_share=params.get("max_short_share", 0.0))
    verify(record, split)
    return split
