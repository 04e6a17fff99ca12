"""Build the new-assay split (new assays on new molecules) of the shared collections; record it without any molecule.

Loads Tox21, SIDER, MUV, ToxCast (published few-shot task splits, validation tasks carved as
``sciml`` does: ``val_fraction=0.2, val_seed=0``) and MoleculeACE (its split file), splits
their molecules by Bemis–Murcko scaffold with :func:`assays.protocols.new_assay.build_split`
(test fraction per collection chosen on a grid unless given with ``--fraction``) and writes

* ``--out`` (JSON): parameters, command, date, machine, runtime, SHA-256 of every data file
  read, per-collection fractions and counts, per-task counts, digests of each part's sorted
  canonical SMILES — never a SMILES;
* the same path with ``.md``: the tables.

The single-task regression tables (delaney, freesolv, lipo) have no published task split and
are not part of the protocol.

    python scripts/make_new_assay_split.py --data-dir ../shared/data --out benchmarks/results/new_assay_split.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COLLECTIONS = ("tox21", "sider", "muv", "toxcast", "moleculeace")
SKIPPED = ("delaney", "freesolv", "lipo")


def _grid(text: str) -> tuple[float, ...]:
    """``"0.1:0.9:0.05"`` (start:stop:step, stop included) or ``"0.2,0.5,0.8"``."""
    if ":" in text:
        a, b, s = (float(x) for x in text.split(":"))
        n = int(round((b - a) / s)) + 1
        return tuple(round(a + s * i, 6) for i in range(n))
    return tuple(float(x) for x in text.split(","))


def _fractions(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        if not value:
            raise SystemExit(f"--fraction wants NAME=F, got {item!r}")
        out[name.strip()] = float(value)
    return out



def data_files(collections: dict, data_dir: Path) -> dict[str, str]:
    """``{path relative to data_dir: sha256}`` of the tables and split files the loaders read."""
    from sciml.files import sha256_file

    mol = data_dir / "molecules"
    paths = set()
    for name, coll in collections.items():
        if name == "moleculeace":
            paths.add(mol / "moleculeace_splits.json")
            paths.update(mol / "moleculeace" / t.source for t in coll.tasks.values())
        else:
            paths.add(mol / "fewshot_moleculenet_splits.json")
            paths.add(Path(coll.source))
    return {str(p.resolve().relative_to(data_dir.resolve())): sha256_file(p) for p in sorted(paths)}


def markdown(record: dict) -> str:
    p = record["parameters"]
    mins = p["minimums"]
    tot = record["totals"]
    grid = p["grid"]
    lines = ["# New assays on new molecules: the doubly held-out split", "",
             f"Command: `{record['command']}`; {record['date']}; {record['machine']}; "
             f"{record['runtime_s']['total']:.0f} s ({record['runtime_s']['load']:.0f} s loading, "
             f"{record['runtime_s']['build']:.0f} s building). Seed {p['seed']}.", "",
             "Meta-training (training, validation, calibration) sees train and validation tasks on **train molecules** "
             "only; evaluation sees test tasks on **test molecules** only, support and query. Rule: "
             f"{record['rule']}.", "",
             f"Minimums for a test task: classification {mins['actives']} actives and {mins['inactives']} inactives on "
             f"test molecules (16 per class for a 32-molecule support + 8 for the query), regression "
             f"{mins['regression']} test molecules (32 + 32). Train / validation tasks need {mins['train_rows']} rows "
             f"and {mins['train_per_class']} of each class on train molecules. Fractions not given are the smallest "
             f"of the grid {grid[0]:.2f}..{grid[-1]:.2f} at which at most max(fewest possible, "
             f"floor({p.get('max_short_share', 0.0):g} × its test tasks)) test tasks fall short on the collection's own "
             "scaffold split: a collection with many test tasks (ToxCast) gives up a few rare-active test tasks so "
             "that it, and the collections sharing its scaffolds, keep train molecules for meta-training.", "",
             f"All collections: {tot['n_molecules']:,} molecules (canonical SMILES), {tot['n_train']:,} train / "
             f"{tot['n_test']:,} test; {tot['n_shared']:,} in more than one collection; {tot['n_moved']:,} moved from "
             f"train to test by the rule; {tot['n_conflicting_scaffolds']:,} scaffolds were train in one collection's "
             "own split and test in another's.", "",
             "| collection | test fraction | molecules | scaffolds | own test | moved to test (by) | train | test | "
             "effective test fraction | tasks kept train / val / test | dropped |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, c in record["collections"].items():
        by = ", ".join(f"{o} {k:,}" for o, k in sorted(c["moved_by"].items(), key=lambda kv: -kv[1]))
        n_all = {part: sum(t["part"] == part for t in c["tasks"]) for part in ("train", "val", "test")}
        kept = " / ".join(f"{c['n_tasks_kept'][part]} of {n_all[part]}" for part in ("train", "val", "test"))
        dropped = sum(not t["kept"] for t in c["tasks"])
        lines.append(f"| {name} | {c['fraction']:.2f} ({c['chosen']}) | {c['n_molecules']:,} | {c['n_scaffolds']:,} | "
                     f"{c['n_own_test']:,} | {c['n_moved']:,}{f' ({by})' if by else ''} | {c['n_train']:,} | "
                     f"{c['n_test']:,} | {c['effective_test_fraction']:.3f} | {kept} | {dropped} |")

    notes = []
    for name, c in record["collections"].items():
        if c["n_tasks_kept"]["train"] == 0:
            notes.append(f"- **{name}**: no train task keeps enough data on train molecules (see the dropped tasks "
                         "below); it cannot be meta-trained on under this split, only evaluated (with a model "
                         "meta-trained on the other collections' train molecules).")
        if c["effective_test_fraction"] - c["fraction"] > 0.1:
            top = max(c["moved_by"].items(), key=lambda kv: kv[1])
            notes.append(f"- **{name}**: {c['n_moved']:,} of its molecules moved to test because other collections "
                         f"put their scaffolds in test (most because of {top[0]}: {top[1]:,}); its test fraction is "
                         f"{c['effective_test_fraction']:.2f}, not {c['fraction']:.2f}, leaving {c['n_train']:,} train "
                         "molecules.")
    if notes:
        lines += ["", "## Consequences", "", *notes]

    lines += ["", "## Chooser: test tasks short of the minimums on each collection's own split", "",
              "| collection | " + " | ".join(f"{f:.2f}" for f in grid) + " |", "|---|" + "---|" * len(grid)]
    for name, c in record["collections"].items():
        by_f = {r["fraction"]: r["n_failing"] for r in c["trace"]}
        cells = [(f"**{by_f[f]}**" if f == c["fraction"] else str(by_f[f])) for f in grid]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    names = list(record["collections"])
    lines += ["", "## Sensitivity: one collection's fraction changed, the others at theirs", "",
              "Effective test fraction of every collection (after the rule) and the changed collection's test tasks "
              "short of the minimums; grid points at steps of 0.1.", "",
              "| changed | fraction | its test tasks short | " + " | ".join(names) + " |",
              "|---|---|---|" + "---|" * len(names)]
    for name, rows in record["sensitivity"].items():
        for r in rows:
            if abs(r["fraction"] * 10 - round(r["fraction"] * 10)) > 1e-6:
                continue
            mark = " (used)" if abs(r["fraction"] - record["collections"][name]["fraction"]) < 1e-9 else ""
            lines.append(f"| {name} | {r['fraction']:.2f}{mark} | {r['n_test_tasks_short']} | "
                         + " | ".join(f"{r['effective_test_fraction'][o]:.3f}" for o in names) + " |")

    lines += ["", "## Test tasks", "",
              "| collection | task | kind | rows | test molecules | actives | inactives | kept |",
              "|---|---|---|---|---|---|---|---|"]
    for name, c in record["collections"].items():
        for t in c["tasks"]:
            if t["part"] != "test":
                continue
            a = "" if t["n_actives"] is None else f"{t['n_actives']:,}"
            i = "" if t["n_inactives"] is None else f"{t['n_inactives']:,}"
            lines.append(f"| {name} | {t['task']} | {t['kind']} | {t['n_rows']:,} | {t['n_kept']:,} | {a} | {i} | "
                         f"{'yes' if t['kept'] else 'no: ' + t['reason']} |")
    dropped_train = [(name, t) for name, c in record["collections"].items() for t in c["tasks"]
                     if t["part"] != "test" and not t["kept"]]
    lines += ["", "## Train and validation tasks dropped", ""]
    lines += [f"- {name} {t['part']} {t['task']}: {t['reason']}" for name, t in dropped_train] or ["None."]
    lines += ["", "## Digests (SHA-256 of the sorted canonical SMILES of a part; the SMILES are not recorded)", "",
              f"- all collections: train `{record['digests']['train']}`, test `{record['digests']['test']}`"]
    lines += [f"- {name}: train `{c['digests']['train']}`, test `{c['digests']['test']}`"
              for name, c in record["collections"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    from assays.protocols.new_assay import DEFAULT_GRID, build_split
    from pipelines.evaluate import machine_description, script_command, utc_date
    from pipelines.run import load_collection
    from sciml.config import resolve_data_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None,
                    help="Folder holding molecules/ (default $SCIML_DATA_DIR or ../shared/data).")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/new_assay_split.json"),
                    help="JSON to write; the Markdown goes beside it (.md).")
    ap.add_argument("--seed", default="0", help="Orders scaffold sets of equal size; 'none' = deepchem's order.")
    ap.add_argument("--collections", default=",".join(COLLECTIONS), help="Comma-separated collections.")
    ap.add_argument("--fraction", action="append", default=[], metavar="NAME=F",
                    help="Test fraction of a collection's own split (repeatable); default: chosen on the grid.")
    ap.add_argument("--grid", default=f"{DEFAULT_GRID[0]}:{DEFAULT_GRID[-1]}:0.05",
                    help="Fractions the chooser tries: start:stop:step or a comma list.")
    ap.add_argument("--min-actives", type=int, default=24)
    ap.add_argument("--min-inactives", type=int, default=24)
    ap.add_argument("--min-regression", type=int, default=64)
    ap.add_argument("--max-short-share", type=float, default=0.1,
                    help="The chooser takes the smallest fraction at which at most this share of a collection's "
                         "test tasks (and never fewer than the fewest possible) fall short of the minimums.")
    args = ap.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("deepchem").setLevel(logging.WARNING)
    command, date = script_command(None if argv is None else [sys.argv[0], *argv]), utc_date()
    names = [n.strip() for n in args.collections.split(",") if n.strip()]
    for n in names:
        if n in SKIPPED:
            raise SystemExit(f"{n}: a single regression task without a published task split; not part of the protocol")
    data_dir = resolve_data_dir(args.data_dir)
    seed = None if args.seed.lower() == "none" else int(args.seed)

    t0 = time.perf_counter()
    collections = {n: load_collection(n, data_dir) for n in names}
    t_load = time.perf_counter() - t0
    split = build_split(collections, _fractions(args.fraction), seed, min_actives=args.min_actives,
                        min_inactives=args.min_inactives, min_regression=args.min_regression, grid=_grid(args.grid),
                        max_short_share=args.max_short_share)
    t_build = time.perf_counter() - t0 - t_load
    record = {**split.to_record(), "command": command, "date": date, "machine": machine_description(),
              "runtime_s": {"load": round(t_load, 1), "build": round(t_build, 1), "total": round(t_load + t_build, 1)},
              "data": {"loaders": "pipelines.run.load_collection(name, data_dir) (val_fraction=0.2, val_seed=0)",
                       "sha256": data_files(collections, data_dir)}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(record))
    for name, c in split.collections.items():
        print(f"{name}: fraction {c.fraction:.2f} ({c.chosen}), {c.n_train:,} train / {c.n_test:,} test molecules "
              f"(effective {c.effective_fraction:.3f}, {c.n_moved:,} moved), {len(c.dropped)} task(s) dropped")
    print(f"wrote {args.out} and {args.out.with_suffix('.md')} in {t_load + t_build:.0f} s "
          f"({t_load:.0f} s loading, {t_build:.0f} s building)")


if __name__ == "__main__":
    main()
