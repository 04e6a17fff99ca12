"""The typed schema of a checkpoint's ``config.json``, checked before anything is built.

:func:`config_errors` lists every problem of a config: each field's type and range (pydantic models for the
fixed parts; the encoder's own config dataclass for its field types; one table of
ranges, :data:`RANGES`, for the sizes and step counts that could make a model
allocate or run without bound). :func:`sciml.checkpoint.read_config` turns them into a
``CheckpointError`` that names the file, the key and what is allowed, so a hand-edited or
corrupted config fails clearly instead of with a traceback, a hang or a 320 GB allocation.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

__all__ = ["RANGES", "config_errors"]

#: Inclusive ``(low, high)`` of numeric settings wherever they appear (encoder_config,
#: learner_config, test_time, featurizer). Sizes beyond these are refused before any tensor
#: is allocated; step counts beyond them would hang a prediction.
RANGES: dict[str, tuple[float, float]] = {
    "hidden": (1, 8192), "out_dim": (1, 8192), "depth": (0, 64), "atom_dim": (0, 4096), "bond_dim": (0, 1024),
    "gfeat_dim": (0, 65536), "gfeat_hidden": (1, 8192), "mfeat_dim": (0, 8192), "mfeat_hidden": (1, 8192),
    "fingerprint_bits": (0, 65536), "fingerprint_radius": (0, 8), "embed_dim": (1, 8192),
    "head_hidden": (0, 8192), "n_particles": (1, 256), "inner_steps": (0, 1000), "adapt_steps": (0, 10000),
    "chaser_steps": (0, 1000), "steps": (0, 10000), "dropout": (0.0, 0.999), "level": (0.5, 0.999),
    "fingerprint_dim": (0, 65536), "minimol_dim": (0, 8192),
}


class _Platt(BaseModel):
    model_config = ConfigDict(extra="allow")
    method: Literal["platt"]
    slope: float = Field(allow_inf_nan=False, gt=0, description="positive: a calibration may not reverse the ranking")
    bias: float = Field(allow_inf_nan=False)
    base_rate: Optional[float] = Field(default=None, gt=0, lt=1)
    n_points: Optional[StrictInt] = Field(default=None, ge=0)


class _IntervalScale(BaseModel):
    model_config = ConfigDict(extra="allow")
    method: Literal["interval_scale"]
    scale: float = Field(allow_inf_nan=False, gt=0)
    level: float = Field(default=0.9, gt=0, lt=1)
    n_points: Optional[StrictInt] = Field(default=None, ge=0)


class _Applicability(BaseModel):
    model_config = ConfigDict(extra="allow")
    outside_similarity: float = Field(allow_inf_nan=False, ge=0, le=1)
    edge_similarity: float = Field(allow_inf_nan=False, ge=0, le=1)
    separates: StrictBool


class _MolGraphSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Literal["mol_graph"]
    version: StrictStr
    atom_dim: StrictInt
    bond_dim: StrictInt
    fingerprint_bits: StrictInt = 0
    fingerprint_radius: StrictInt = 2
    minimol: StrictBool = False


class _OtherSpec(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: StrictStr
    version: StrictStr


class _Config(BaseModel):
    model_config = ConfigDict(extra="allow")
    format: Literal["sciml-checkpoint"]
    format_version: StrictInt
    package_version: Optional[StrictStr] = None
    domain: StrictStr = "molecules"
    learner: StrictStr
    learner_config: dict[str, Any] = {}
    encoder: StrictStr
    encoder_config: dict[str, Any]
    featurizer: dict[str, Any]
    training: dict[str, Any] = {}
    calibration: dict[str, Any] = {}
    test_time: dict[str, Any] = {}
    test_time_selection: dict[str, Any] = {}
    applicability: dict[str, Any] = {}
    weights_sha256: Optional[str] = Field(default=None, pattern=r"^[0-9a-f]{64}$")


def _where(loc) -> str:
    return ".".join(str(p) for p in loc)


def _pydantic_errors(model, data: dict, prefix: str = "") -> list[str]:
    try:
        model.model_validate(data)
    except ValidationError as e:
        out = []
        for x in e.errors():
            msg = f"{prefix}{_where(x['loc']) or '(top level)'}: {x['msg']}"
            if x.get("type") != "missing":
                msg += f" (got {x.get('input')!r})"[:200]
            out.append(msg)
        return out
    return []


def config_errors(config: object) -> list[str]:
    """Every problem of a checkpoint config as ``"key: what is wrong (got value)"``; empty when it is valid."""
    if not isinstance(config, dict):
        return [f"the config must be a JSON object, got {type(config).__name__}"]
    errors = _pydantic_errors(_Config, config)
    if errors:
        return errors
    parsed = _Config.model_validate(config)
    feat = parsed.featurizer
    errors += _pydantic_errors(_MolGraphSpec if feat.get("name") == "mol_graph" else _OtherSpec, feat, "featurizer.")
    cal = parsed.calibration
    if cal:
        method = cal.get("method")
        if method == "platt":
            errors += _pydantic_errors(_Platt, cal, "calibration.")
        elif method == "interval_scale":
            errors += _pydantic_errors(_IntervalScale, cal, "calibration.")
        else:
            errors.append(f"calibration.method: must be 'platt' or 'interval_scale' (got {method!r})")
    if parsed.applicability:
        errors += _pydantic_errors(_Applicability, parsed.applicability, "applicability.")
        app = parsed.applicability
        if not errors and app["edge_similarity"] < app["outside_similarity"]:
            errors.append(f"applicability.edge_similarity: must be >= outside_similarity "
                          f"(got {app['edge_similarity']!r} < {app['outside_similarity']!r})")
    errors += _range_errors("featurizer", feat)
    errors += _encoder_errors(parsed.encoder, parsed.encoder_config)
    errors += _range_errors("learner_config", parsed.learner_config)
    errors += _range_errors("test_time", parsed.test_time)
    return errors


def _number_errors(where: str, key: str, value: object) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return []
    if not math.isfinite(value):
        return [f"{where}.{key}: must be a finite number (got {value!r})"]
    if key in RANGES:
        lo, hi = RANGES[key]
        if not lo <= value <= hi:
            return [f"{where}.{key}: must be between {lo:g} and {hi:g} (got {value!r})"]
    return []


def _range_errors(where: str, d: dict) -> list[str]:
    out: list[str] = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _range_errors(f"{where}.{k}", v)
        elif isinstance(v, (list, tuple)):
            for x in v:
                out += _number_errors(where, k, x)
        else:
            out += _number_errors(where, k, v)
    return out


def _type_ok(value: object, hint) -> bool:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return value in typing.get_args(hint)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    return True


def _encoder_errors(name: str, cfg: dict) -> list[str]:
    from sciml.encoders import ENCODERS

    if name not in ENCODERS:
        return [f"encoder: unknown encoder {name!r} (known: {', '.join(ENCODERS)})"]
    cls = ENCODERS[name].config_cls
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out = [f"encoder_config.{k}: not a setting of the {name} encoder (settings: {', '.join(fields)})"
           for k in cfg if k not in fields]
    for k, f in fields.items():
        if k not in cfg:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                out.append(f"encoder_config.{k}: required by the {name} encoder")
            continue
        if not _type_ok(cfg[k], hints.get(k)):
            allowed = typing.get_args(hints[k]) if typing.get_origin(hints[k]) is Literal else hints[k].__name__
            out.append(f"encoder_config.{k}: must be {allowed} (got {cfg[k]!r})")
    return out + _range_errors("encoder_config", cfg)
