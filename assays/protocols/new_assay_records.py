"""The records of the new-assay split: what it holds per collection and task, and how a rebuild is checked.

:class:`NewAssaySplit` (built by :func:`assays.protocols.new_assay.build_split`) keeps the
per-molecule assignment in memory only; :meth:`NewAssaySplit.to_record` writes parameters,
counts and, per part, the SHA-256 of the sorted canonical SMILES (:data:`DIGEST_METHOD`),
never a SMILES. :func:`load_split_record` reads such a record back and :func:`verify` checks
a rebuilt split against it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = ["PROTOCOL", "RECORD_VERSION", "SIDES", "RULE", "DIGEST_METHOD", "PROVENANCE_KEYS", "SplitMismatchError",
           "TaskCounts", "CollectionSplit", "NewAssaySplit", "canonicalise", "digest", "load_split_record", "verify",
           "split_from_record"]

PROTOCOL = "new_assay"
RECORD_VERSION = 1
#: Sides of the molecule split (task split parts train and val use "train" molecules).
SIDES = ("train", "test")
#: The cross-collection rule, as written into the record.
RULE = ("test wins per scaffold: each collection is split alone by deepchem's ScaffoldSplitter at its own test "
        "fraction (canonical SMILES, Bemis-Murcko scaffolds); a scaffold that any collection puts in its test part is "
        "a test scaffold in every collection, and a molecule is a test molecule iff its scaffold is one")
#: How a part's digest is computed.
DIGEST_METHOD = "sha256 of the part's unique RDKit canonical SMILES, sorted, joined by '\\n', UTF-8"
#: Record keys that describe the run, not the split (left out by :func:`verify`).
PROVENANCE_KEYS = ("command", "date", "machine", "runtime_s", "data")


class SplitMismatchError(ValueError):
    """A rebuilt split differs from its record (other data, other code, or other parameters)."""


@dataclass(frozen=True)
class TaskCounts:
    """What one task keeps under the split.

    ``part`` is the task's split part (``train`` / ``val`` / ``test``); ``n_kept`` counts its rows on
    molecules of its side (train molecules for train and val tasks, test molecules for test tasks),
    ``n_actives`` / ``n_inactives`` the labels 1 / 0 among them (``None`` for regression).
    """

    task: str
    part: str
    kind: str
    n_rows: int
    n_kept: int
    n_actives: int | None
    n_inactives: int | None
    kept: bool
    reason: str = ""

    def to_record(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class CollectionSplit:
    """One collection under the split.

    Attributes
    ----------
    fraction : float
        Test fraction of the collection's own scaffold split (step 1).
    chosen : {"auto", "given"}
        Picked by the chooser, or given by the caller.
    n_molecules, n_scaffolds : int
        Unique canonical molecules of its train / val / test tasks, and their scaffolds.
    n_own_test : int
        Test molecules of its own split; ``n_test = n_own_test + n_moved``.
    n_moved : int
        Molecules its own split put in train that are test molecules because another
        collection put their scaffold in its test part; ``moved_by`` counts them per such
        collection (a molecule may be counted under several).
    n_shared : int
        Its molecules that also occur in another collection.
    trace : list of dict
        Per fraction of the grid (and a given fraction): ``fraction``, ``own_test_fraction``,
        ``n_failing`` (test tasks short of the minimum on its own split).
    tasks : list of TaskCounts
        Every train, val and test task.
    """

    name: str
    fraction: float
    chosen: str
    n_molecules: int
    n_scaffolds: int
    n_own_test: int
    n_train: int
    n_test: int
    n_moved: int
    moved_by: dict[str, int]
    n_shared: int
    digests: dict[str, str]
    trace: list[dict]
    tasks: list[TaskCounts]

    @property
    def effective_fraction(self) -> float:
        """Share of its molecules that are test molecules (at least ``fraction``, up to one scaffold set)."""
        return self.n_test / self.n_molecules if self.n_molecules else 0.0

    @property
    def dropped(self) -> list[TaskCounts]:
        return [t for t in self.tasks if not t.kept]

    def kept(self, part: str) -> list[str]:
        """Names of the kept tasks of split part ``part``."""
        return [t.task for t in self.tasks if t.part == part and t.kept]

    def to_record(self) -> dict:
        return {"fraction": self.fraction, "chosen": self.chosen,
                "effective_test_fraction": round(self.effective_fraction, 6),
                "n_molecules": self.n_molecules, "n_scaffolds": self.n_scaffolds, "n_own_test": self.n_own_test,
                "n_train": self.n_train, "n_test": self.n_test, "n_moved": self.n_moved,
                "moved_by": dict(self.moved_by), "n_shared": self.n_shared, "digests": dict(self.digests),
                "n_tasks_kept": {p: len(self.kept(p)) for p in ("train", "val", "test")},
                "trace": [dict(r) for r in self.trace], "tasks": [t.to_record() for t in self.tasks]}


@dataclass
class NewAssaySplit:
    """The split of the molecules of several collections into meta-train and test molecules.

    The per-molecule assignment is held in memory only (:meth:`side_of`, :meth:`molecules`);
    :meth:`to_record` writes counts and digests, never SMILES.
    """

    seed: int | None
    grid: tuple[float, ...]
    minimums: dict[str, int]
    given_fractions: dict[str, float]
    collections: dict[str, CollectionSplit]
    n_molecules: int
    n_train: int
    n_test: int
    n_shared: int
    n_moved: int
    n_conflicting_scaffolds: int
    digests: dict[str, str]
    sensitivity: dict[str, list[dict]]
    rule: str = RULE
    max_short_share: float = 0.0
    _side: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _canonical: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def side_of(self, smiles: str) -> str:
        """``"train"`` or ``"test"`` for an input (canonicalised first); ``KeyError`` when not in the split."""
        can = self._canonical.get(smiles)
        if can is None:
            can = canonicalise([smiles])[smiles]
        return self._side[can]

    def molecules(self, side: str) -> list[str]:
        """The sorted canonical SMILES of ``side`` (in memory; never write them into the project)."""
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, got {side!r}")
        return sorted(s for s, p in self._side.items() if p == side)

    def to_record(self) -> dict:
        """The JSON-ready record: parameters, rule, counts, per-task counts and digests (no SMILES)."""
        return {"protocol": PROTOCOL, "version": RECORD_VERSION,
                "parameters": {"seed": self.seed, "grid": list(self.grid), "minimums": dict(self.minimums),
                               "given_fractions": dict(self.given_fractions),
                               "max_short_share": self.max_short_share},
                "rule": self.rule, "digest_method": DIGEST_METHOD,
                "totals": {"n_molecules": self.n_molecules, "n_train": self.n_train, "n_test": self.n_test,
                           "n_shared": self.n_shared, "n_moved": self.n_moved,
                           "n_conflicting_scaffolds": self.n_conflicting_scaffolds},
                "digests": dict(self.digests),
                "collections": {n: c.to_record() for n, c in self.collections.items()},
                "sensitivity": {n: [dict(r) for r in rows] for n, rows in self.sensitivity.items()}}


# --------------------------------------------------------------------------------------------- helpers

def digest(smiles: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(smiles))).encode("utf-8")).hexdigest()


def canonicalise(inputs: Iterable[str]) -> dict[str, str]:
    """Input -> RDKit canonical SMILES; ``ValueError`` naming inputs RDKit cannot read."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    out: dict[str, str] = {}
    bad: list[str] = []
    for s in inputs:
        if s in out:
            continue
        mol = Chem.MolFromSmiles(s.strip()) if isinstance(s, str) and s.strip() else None
        if mol is None:
            bad.append(repr(s))
            continue
        out[s] = Chem.MolToSmiles(mol)
    if bad:
        raise ValueError(f"{len(bad)} input(s) RDKit cannot read, e.g. {', '.join(bad[:5])}; drop invalid SMILES first")
    return out


# --------------------------------------------------------------------------------------------- records

def load_split_record(path: str | os.PathLike) -> dict:
    """Read a record written from :meth:`NewAssaySplit.to_record` (plus provenance keys).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not JSON, or not a new-assay split record of a known version.
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not JSON ({e})") from None
    if not isinstance(record, dict) or record.get("protocol") != PROTOCOL:
        raise ValueError(f"{path}: not a new-assay split record (no \"protocol\": \"{PROTOCOL}\")")
    if record.get("version") != RECORD_VERSION:
        raise ValueError(f"{path}: record version {record.get('version')!r}, this code reads {RECORD_VERSION}")
    missing = [k for k in ("parameters", "digests", "collections", "totals") if k not in record]
    if missing:
        raise ValueError(f"{path}: record lacks {missing}")
    return record


def _differences(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                out.append(f"{path}.{k}: not in the record")
            elif k not in b:
                out.append(f"{path}.{k}: in the record, not in the rebuilt split")
            else:
                _differences(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} entries in the record, {len(b)} rebuilt")
        for i, (x, y) in enumerate(zip(a, b)):
            _differences(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: record {a!r}, rebuilt {b!r}")


def verify(record: Mapping, split: NewAssaySplit) -> None:
    """Check that ``split`` is the split ``record`` describes; ``SplitMismatchError`` naming what differs.

    Everything but the provenance (:data:`PROVENANCE_KEYS`) is compared; digest differences
    (the molecules of a part are not the same) are listed first.
    """
    ours = split.to_record()
    theirs = {k: v for k, v in record.items() if k not in PROVENANCE_KEYS}
    diffs: list[str] = []
    _differences(theirs, ours, "record", diffs)
    if not diffs:
        return
    digest_diffs = [d for d in diffs if ".digests." in d]
    rest = [d for d in diffs if ".digests." not in d]
    head = (f"the molecules of {len(digest_diffs)} part(s) differ from the record (digests): "
            if digest_diffs else "the split differs from the record: ")
    shown = (digest_diffs + rest)[:12]
    more = f"; … {len(diffs) - len(shown)} more" if len(diffs) > len(shown) else ""
    raise SplitMismatchError(head + "; ".join(shown) + more
                             + ". Other data, other code or other parameters than the record's.")


def split_from_record(record: Mapping, side: Mapping[str, str], canonical: Mapping[str, str]) -> NewAssaySplit:
    """A :class:`NewAssaySplit` from its ``record`` and a saved per-molecule assignment, without rebuilding it.

    Parameters
    ----------
    record : mapping
        A record read by :func:`load_split_record`.
    side : mapping
        Canonical SMILES -> ``"train"`` / ``"test"`` of a split built (and verified) earlier.
    canonical : mapping
        Input -> canonical SMILES of the same build.

    Raises
    ------
    SplitMismatchError
        The assignment's digests (all molecules, train and test) are not the record's: it
        belongs to another split.
    """
    bad = sorted({v for v in side.values()} - set(SIDES))
    if bad:
        raise SplitMismatchError(f"the assignment has sides {bad}; allowed: {list(SIDES)}")
    got = {p: digest(s for s, v in side.items() if v == p) for p in SIDES}
    want = dict(record["digests"])
    if got != want:
        raise SplitMismatchError(f"the saved assignment's digests {got} are not the record's {want}; rebuild the split")
    params, tot = record["parameters"], record["totals"]
    colls = {}
    for name, c in record["collections"].items():
        tasks = [TaskCounts(**t) for t in c["tasks"]]
        colls[name] = CollectionSplit(
            name=name, fraction=c["fraction"], chosen=c["chosen"], n_molecules=c["n_molecules"],
            n_scaffolds=c["n_scaffolds"], n_own_test=c["n_own_test"], n_train=c["n_train"], n_test=c["n_test"],
            n_moved=c["n_moved"], moved_by=dict(c["moved_by"]), n_shared=c["n_shared"], digests=dict(c["digests"]),
            trace=[dict(r) for r in c["trace"]], tasks=tasks)
    return NewAssaySplit(
        seed=params["seed"], grid=tuple(params["grid"]), minimums=dict(params["minimums"]),
        given_fractions=dict(params["given_fractions"]), collections=colls, n_molecules=tot["n_molecules"],
        n_train=tot["n_train"], n_test=tot["n_test"], n_shared=tot["n_shared"], n_moved=tot["n_moved"],
        n_conflicting_scaffolds=tot["n_conflicting_scaffolds"], digests=want,
        sensitivity={n: [dict(r) for r in rows] for n, rows in record["sensitivity"].items()},
        rule=record["rule"], max_short_share=params.get("max_short_share", 0.0),
        _side=dict(side), _canonical=dict(canonical))
