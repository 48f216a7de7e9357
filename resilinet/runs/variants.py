"""The paper's four experiments as lists of model variants, each trained once per iteration and evaluated
under every failure combination and each of its reliability settings. Nothing here imports Keras."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from resilinet.base.errors import UserError
from resilinet.core.kinds import ModelKind, ModelOptions
from resilinet.core.topology import RELIABILITY_DEPENDENT_SCHEMES, WEIGHT_SCHEMES
from resilinet.data.definition import DatasetDefinition


@dataclass(frozen=True)
class Variant:
    """One model trained per iteration."""

    name: str  # unique within the experiment; names the weights file
    group: str  # row label of the summary table (variants trained per setting share a group)
    kind: ModelKind
    settings: tuple[str, ...]  # the reliability settings it is evaluated under
    skip_mask: tuple[bool, ...] | None = None
    weight_scheme: int = 1  # hyperconnection weight scheme (1-5)
    weight_setting: str | None = None  # the setting schemes 2 and 3 take reliabilities from
    # A failout survival rate (one for all nodes), a setting name (variable failout: each node's rate is its
    # reliability), or None for the dataset default.
    survival_rates: float | str | None = None


@dataclass(frozen=True)
class Job:
    """One (iteration, variant) of a run: what a worker trains (or loads) and evaluates."""

    iteration: int
    variant: Variant


def _resilinet_kind(config) -> ModelKind:
    return ModelKind.RESILINET_PLUS if config.resilinet_plus else ModelKind.RESILINET


def average_accuracy_variant(dataset: DatasetDefinition, kind: ModelKind) -> Variant:
    """The network of `kind` the average accuracy experiment trains (and a deployment deploys)."""
    return Variant(kind.file_name, kind.value, kind, tuple(dataset.reliability_settings))


def average_accuracy_variants(dataset: DatasetDefinition, config) -> list[Variant]:
    kinds = (ModelKind.VANILLA, ModelKind.DFG, _resilinet_kind(config))
    return [average_accuracy_variant(dataset, kind) for kind in kinds]


def hyperconnection_weight_variants(dataset: DatasetDefinition, config) -> list[Variant]:
    """DFG and ResiliNet (ResiliNet+ when `resilinet_plus` is set) under each weight scheme."""
    settings = tuple(dataset.reliability_settings)
    variants, named = [], {}
    for name in config.model_kinds:
        kind = ModelKind.named(name)
        if kind is None:
            raise UserError(f"--model_kinds: unknown kind {name!r}; known: {', '.join(k.value for k in ModelKind)}")
        if not kind.has_skips:
            raise UserError("--model_kinds: Vanilla has no hyperconnections to weigh")
        if kind is ModelKind.RESILINET:
            kind = _resilinet_kind(config)
        if kind in named:
            plus = " (ResiliNet is ResiliNet+ with --resilinet_plus=true)" if config.resilinet_plus else ""
            raise UserError(f"--model_kinds: {named[kind]} and {name} name one network, {kind.value}{plus}")
        named[kind] = name
        for scheme in config.weight_schemes:
            if scheme not in WEIGHT_SCHEMES:
                raise UserError(f"--weight_schemes: unknown scheme {scheme}; known: {sorted(WEIGHT_SCHEMES)}")
            group = f"{kind.file_name}_weight_scheme{scheme}"
            if scheme in RELIABILITY_DEPENDENT_SCHEMES:
                variants += [Variant(f"{group}_{_slug(s)}", group, kind, (s,), weight_scheme=scheme,
                                     weight_setting=s) for s in settings]
            else:
                variants.append(Variant(group, group, kind, settings, weight_scheme=scheme))
    return variants


def failout_rate_variants(dataset: DatasetDefinition, config) -> list[Variant]:
    kind = _resilinet_kind(config)
    for rate in config.failout_survival_rates:
        if not 0.0 < rate <= 1.0:
            raise UserError(f"--failout_survival_rates: {rate} is not in (0, 1]")
    fixed = [Variant(f"{kind.file_name}_failout{rate}", f"{kind.value} failout {rate}", kind,
                     tuple(dataset.reliability_settings), survival_rates=rate)
             for rate in config.failout_survival_rates]
    # A setting without failures has no failout to train with: the summary reports n/a.
    return fixed + [Variant(f"{kind.file_name}_variable_failout_{_slug(name)}", f"{kind.value} variable failout", kind,
                            (name,), survival_rates=name)
                    for name, reliability in dataset.reliability_settings.items() if any(r != 1.0 for r in reliability)]


def skiphyperconnection_sensitivity_variants(dataset: DatasetDefinition, config) -> list[Variant]:
    skips = dataset.topology.skips
    kind = _resilinet_kind(config)
    for bits in config.skip_configurations:
        if len(bits) != len(skips) or set(bits) - {"0", "1"}:
            order = ", ".join(f"{s}->{t}" for s, t in skips)
            raise UserError(f"--skip_configurations: {bits!r} must be {len(skips)} bits of 0/1 in the order {order}")
    return [Variant(f"{kind.file_name}_skips{bits}", f"{kind.value} skips {bits}", kind,
                    tuple(dataset.reliability_settings), skip_mask=tuple(bit == "1" for bit in bits))
            for bits in config.skip_configurations]


VARIANTS = {"average_accuracy": average_accuracy_variants, "hyperconnection_weight": hyperconnection_weight_variants,
            "failout_rate": failout_rate_variants,
            "skiphyperconnection_sensitivity": skiphyperconnection_sensitivity_variants}


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def model_options(dataset: DatasetDefinition, variant: Variant, config, iteration: int) -> ModelOptions:
    """Skip mask, connection weights and failout survival rates of one (iteration, variant)."""
    topology = dataset.topology
    reliability = dataset.reliability_settings.get(variant.weight_setting)
    rng = np.random.default_rng([config.seed, iteration, variant.weight_scheme])
    weights = topology.connection_weights(variant.weight_scheme, reliability, variant.skip_mask, rng)
    survival = variant.survival_rates
    if isinstance(survival, str):
        survival = dict(zip(topology.failable, dataset.reliability_settings[survival]))
    return ModelOptions(skip_mask=variant.skip_mask, weights=weights, survival_rates=survival)


def describe(variant: Variant, options: ModelOptions, config) -> dict[str, Any]:
    """What a record's model is, as data (the report reads these, never the labels): its kind, the
    failout survival rate(s) it trained with (None without failout), whether they are the
    reliabilities of a setting (variable failout), its skip bits (None: every skip), its weight
    scheme, and the setting a model trained for one setting belongs to (None: all settings)."""
    rates = (options.survival_rates_or(config.failout_survival_rate) if variant.kind.has_failout
             else None)
    variable = isinstance(variant.survival_rates, str)
    return {"kind": variant.kind.value, "survival_rates": dict(rates) if isinstance(rates, Mapping) else rates,
            "variable_failout": variable,
            "skips": None if variant.skip_mask is None else "".join("1" if on else "0" for on in variant.skip_mask),
            "weight_scheme": variant.weight_scheme,
            "setting": variant.survival_rates if variable else variant.weight_setting}
