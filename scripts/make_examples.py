"""Cut the example assays and the example candidate library shipped in ``data/examples/``.

Run from the project root::

    python scripts/make_examples.py            # reads $SCIML_DATA_DIR or ../shared/data

What it writes (deterministic for a given ``--seed``):

* For 3 MoleculeACE **test** targets (never a meta-train or validation target, so the
  demo shows no label the model was meta-trained on):

  - ``<target>_support.csv``: 24 measured compounds (``compound_id``, ``smiles``,
    ``pKi`` or ``pEC50`` = MoleculeACE ``y`` + 9), one drawn from each of 24
    equal-count activity bins so that the support spans the target's activity range;
  - ``<target>_candidates.csv``: 200 other compounds of the same target
    (``compound_id``, ``smiles``) **without** their labels.

* ``moses_candidates.csv``: 1,000 molecules (``compound_id``, ``smiles``) drawn from the
  MOSES training set (``molecules/unlabeled/moses_train.csv.gz``).
* ``examples.json``: what each example file is (for the app), the licence files and
  ``README.md``.

Nothing is read from ``molecules/moleculenet/`` or ``materials/``. The held-out labels of
the candidates are not written into ``data/examples/``; ``--answers PATH`` writes them to
a file elsewhere (for checking predictions), and refuses a path inside the output folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, RDLogger

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from sciml.config import resolve_data_dir  # noqa: E402  (after the sys.path line)

RDLogger.DisableLog("rdApp.*")

#: Protein targets of the MoleculeACE test targets (ChEMBL target names).
TARGET_NAMES = {
    "CHEMBL218": "cannabinoid receptor 1 (CB1)",
    "CHEMBL219": "dopamine D4 receptor",
    "CHEMBL228": "serotonin transporter (SERT)",
    "CHEMBL235": "peroxisome proliferator-activated receptor gamma (PPARγ)",
    "CHEMBL236": "delta opioid receptor",
    "CHEMBL237": "kappa opioid receptor",
    "CHEMBL4005": "PI3-kinase p110-alpha (PIK3CA)",
    "CHEMBL4616": "ghrelin receptor (GHSR)",
}

N_SUPPORT = 24
N_CANDIDATES = 200
N_ASSAYS = 3
N_MOSES = 1000


def _label_name(target: str) -> str:
    """``pKi`` for ``CHEMBL228_Ki``, ``pEC50`` for ``CHEMBL218_EC50``."""
    return "p" + target.rsplit("_", 1)[1]


def pick_targets(test_targets: list[str], rng: np.random.Generator, n: int = N_ASSAYS) -> list[str]:
    """``n`` test targets in a seeded order, with at least one Ki and one EC50 assay when both exist."""
    order = [test_targets[i] for i in rng.permutation(len(test_targets))]
    picked: list[str] = []
    for suffix in ("_Ki", "_EC50"):
        first = next((t for t in order if t.endswith(suffix) and t not in picked), None)
        if first is not None and len(picked) < n:
            picked.append(first)
    picked += [t for t in order if t not in picked][: n - len(picked)]
    return picked


def _parseable(smiles: pd.Series) -> np.ndarray:
    return np.array([isinstance(s, str) and Chem.MolFromSmiles(s) is not None for s in smiles])


def cut_assay(df: pd.DataFrame, rng: np.random.Generator, n_support: int = N_SUPPORT, n_candidates: int = N_CANDIDATES):
    """Split one MoleculeACE target table into (support, candidates with labels) row frames.

    The support takes one random row from each of ``n_support`` equal-count bins of the
    sorted labels (so it spans the activity range); the candidates are a random sample of
    the remaining rows. Rows whose SMILES RDKit rejects and repeated SMILES are dropped first.
    """
    df = df[_parseable(df["smiles"])].drop_duplicates("smiles").reset_index(drop=True)
    if len(df) < n_support + n_candidates:
        raise ValueError(f"only {len(df)} usable rows, need {n_support + n_candidates}")
    by_value = np.argsort(df["y"].to_numpy(), kind="stable")
    support_idx = np.array([rng.choice(b) for b in np.array_split(by_value, n_support)])
    rest = np.setdiff1d(np.arange(len(df)), support_idx)
    cand_idx = rng.choice(rest, size=n_candidates, replace=False)
    return df.iloc[rng.permutation(support_idx)], df.iloc[cand_idx]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="shared data folder (default: $SCIML_DATA_DIR or ../shared/data)")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "data" / "examples"), help="output folder (default: data/examples)")
    parser.add_argument("--seed", type=int, default=0, help="seed for every random choice (default 0)")
    parser.add_argument("--answers", default=None, help="optional CSV path outside --out for the candidates' held-out labels")
    args = parser.parse_args(argv)

    data = resolve_data_dir(args.data_dir) / "molecules"
    out = Path(args.out)
    if args.answers and Path(args.answers).resolve().is_relative_to(out.resolve()):
        parser.error("--answers must not be inside the output folder: the held-out labels are not shipped")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)

    splits = json.loads((data / "moleculeace_splits.json").read_text())
    test_targets = list(splits["test_targets"])
    targets = pick_targets(test_targets, rng)
    manifest: dict = {"seed": args.seed, "assays": [], "libraries": []}
    answers = []
    for target in targets:
        assert target in test_targets  # never a meta-train / validation target
        table = pd.read_csv(data / "moleculeace" / f"{target}.csv.gz")
        support, candidates = cut_assay(table, rng)
        label = _label_name(target)
        sup = pd.DataFrame(
            {
                "compound_id": [f"{target}-S{i + 1:02d}" for i in range(len(support))],
                "smiles": support["smiles"].to_numpy(),
                label: (support["y"].to_numpy() + 9.0).round(3),
            }
        )
        cand = pd.DataFrame(
            {
                "compound_id": [f"{target}-C{i + 1:03d}" for i in range(len(candidates))],
                "smiles": candidates["smiles"].to_numpy(),
            }
        )
        answers.append(cand.assign(target=target, label=(candidates["y"].to_numpy() + 9.0).round(3), label_name=label))
        sup.to_csv(out / f"{target}_support.csv", index=False)
        cand.to_csv(out / f"{target}_candidates.csv", index=False)
        protein = TARGET_NAMES.get(target.split("_")[0], target.split("_")[0])
        manifest["assays"].append(
            {
                "name": f"{protein}, {label} ({target})",
                "target": target,
                "protein": protein,
                "support": f"{target}_support.csv",
                "candidates": f"{target}_candidates.csv",
                "smiles_col": "smiles",
                "value_col": label,
                "units": f"{label} = -log10({label[1:]} / M); higher is more potent",
                "kind": "regression",
                "n_support": len(sup),
                "n_candidates": len(cand),
                "support_range": [float(sup[label].min()), float(sup[label].max())],
                "source": f"MoleculeACE 3.0.0, {target}.csv.gz (a test target of moleculeace_splits.json)",
                "licence": "LICENSE-MoleculeACE.txt",
            }
        )
        print(f"{target}: support {len(sup)} ({label} {sup[label].min():.2f}-{sup[label].max():.2f}), candidates {len(cand)}")

    moses = pd.read_csv(data / "unlabeled" / "moses_train.csv.gz")
    rows = np.sort(rng.choice(len(moses), size=N_MOSES, replace=False))
    lib = pd.DataFrame({"compound_id": [f"MOSES-{r}" for r in rows], "smiles": moses["SMILES"].to_numpy()[rows]})
    bad = ~_parseable(lib["smiles"])
    if bad.any():  # pragma: no cover - MOSES is RDKit-clean
        raise SystemExit(f"{int(bad.sum())} sampled MOSES SMILES do not parse")
    lib.to_csv(out / "moses_candidates.csv", index=False)
    manifest["libraries"].append(
        {
            "name": "MOSES drug-like molecules (1,000 random)",
            "file": "moses_candidates.csv",
            "smiles_col": "smiles",
            "n": len(lib),
            "source": "MOSES training set (molsets 0.3.1, train.csv.gz); compound_id = MOSES-<0-based row in that file>",
            "licence": "LICENSE-MOSES.txt",
        }
    )
    print(f"moses_candidates.csv: {len(lib)} molecules")

    shutil.copyfile(data / "moleculeace" / "LICENSE-MoleculeACE.txt", out / "LICENSE-MoleculeACE.txt")
    shutil.copyfile(data / "unlabeled" / "LICENSE-MOSES.txt", out / "LICENSE-MOSES.txt")
    (out / "examples.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    (out / "README.md").write_text(_readme(manifest, args.seed))
    if args.answers:
        pd.concat(answers, ignore_index=True).to_csv(args.answers, index=False)
        print(f"held-out candidate labels written to {args.answers}")
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"{out}: {total / 1024:.0f} KB in {sum(1 for p in out.iterdir() if p.is_file())} files")
    return 0


def _readme(manifest: dict, seed: int) -> str:
    seed_opt = "" if seed == 0 else f" --seed {seed}"
    lines = [
        "# Example data",
        "",
        "Small example files for the app's \"Try an example\" and its built-in candidate library.",
        "They are cut from the shared data by a committed script, deterministically:",
        "",
        "```bash",
        f".venv/bin/python scripts/make_examples.py{seed_opt}   # reads $SCIML_DATA_DIR, default ../shared/data",
        "```",
        "",
        "## Example assays (MoleculeACE test targets; MIT, see `LICENSE-MoleculeACE.txt`)",
        "",
        "Source: MoleculeACE 3.0.0 (van Tilborg et al., 2022), ChEMBL bioactivities,",
        "`molecules/moleculeace/<target>.csv.gz`. Only **test** targets of",
        "`molecules/moleculeace_splits.json` are used, so the example never shows labels the",
        "shipped model was meta-trained or validated on. The label is",
        "pKi / pEC50 = MoleculeACE `y` + 9 = −log10(value in mol/L); higher is more potent.",
        "",
        "| target | protein | support file | candidates file | support range |",
        "|---|---|---|---|---|",
    ]
    for a in manifest["assays"]:
        lo, hi = a["support_range"]
        lines.append(
            f"| {a['target']} | {a['protein']} | `{a['support']}` ({a['n_support']} rows: compound_id, smiles, {a['value_col']}) "
            f"| `{a['candidates']}` ({a['n_candidates']} rows: compound_id, smiles) | {a['value_col']} {lo:.2f}–{hi:.2f} |"
        )
    lines += [
        "",
        f"Support: one compound drawn from each of {N_SUPPORT} equal-count bins of the target's sorted",
        f"activities, so it spans the activity range. Candidates: {N_CANDIDATES} other compounds of the",
        "same target, **without** their measured values (the held-out labels are not in this",
        "folder; `--answers PATH` writes them elsewhere for checking predictions).",
        "",
        "## Candidate library (MOSES; MIT, see `LICENSE-MOSES.txt`)",
        "",
        f"`moses_candidates.csv`: {N_MOSES} molecules drawn at random from the MOSES training set",
        "(Polykovskiy et al., 2020; PyPI `molsets` 0.3.1, `moses/dataset/data/train.csv.gz`, shared as",
        "`molecules/unlabeled/moses_train.csv.gz`). `compound_id` is `MOSES-<0-based row in that file>`.",
        "No labels.",
        "",
        "`examples.json` describes each file (columns, units, source) for the app.",
        "Nothing here comes from `molecules/moleculenet/` or `materials/`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
