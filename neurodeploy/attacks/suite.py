"""What an attack run consists of, and running it: per-ε, per-sample worst case over attacks.

A run is a list of :class:`Member` attacks. ``role="attack"`` members make up the result:
a sample counts as robust at ε only if no attack member breaks it (per-sample worst case;
samples the model gets wrong clean count as broken). ``role="check"`` members (random noise,
fewer steps, Square in single-attack runs) feed the masking checks only.

Cheap first (the default): members run in order of cost, and each attacks only the samples that
no earlier attack member has broken — the AutoAttack way to spend the budget on what is left;
Square (1,000 queries) and APGD come last. ``standalone`` members (FGSM, the short and the long
PGD, the spike-only gradient, the non-adaptive and transfer attacks) also attack every sample of
a fixed check sub-sample (the first ``check_samples`` images), where their own robust accuracy is
reported and the masking checks are computed (noise and the large-ε run only run there). Every
attack draws its randomness per sample, so a sample's fate under a member does not depend on
which samples share its batch, and the robust set equals the one of the full-cost order
(``full=True``: every member attacks every clean-correct sample): a sample broken by member m
in the full order is either attacked by m here too, or already broken by an earlier member.

The suite (docs/attacks.md) for an SNN: FGSM; PGD with few and with K steps (``--steps``, ``--restarts``)
on the straight-through encoder gradient; the same with the spike-only encoder gradient alone;
(with an exit rule) the non-adaptive attack on the final output; PGD on the loss summed over all
prefixes; PGD through narrow and wide SLAYER surrogates, rectangular and fast-sigmoid
surrogates and the rate gradient BPTR; APGD-CE and APGD-DLR; a transfer attack from the ANN twin
(``--transfer-from``); Square (black box). The loss is read at the step the model exits on
(``at="exit"``) unless said otherwise. For the ANN twin the same list without the SNN-only rows.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field, replace

import torch
from tqdm.auto import tqdm

from neurodeploy.attacks import checks as chk
from neurodeploy.attacks.apgd import APGDConfig, apgd
from neurodeploy.attacks.gradients import GradientSpec
from neurodeploy.attacks.losses import AT
from neurodeploy.attacks.oracle import Oracle
from neurodeploy.attacks.pgd import AttackResult, PGDConfig, fgsm_config, pgd, random_noise
from neurodeploy.attacks.projection import check_norm
from neurodeploy.attacks.square import SquareConfig, square
from neurodeploy.attacks.target import Target
from neurodeploy.errors import UsageError
from neurodeploy.seeding import derive

ATTACKS = ("fgsm", "pgd", "apgd-ce", "apgd-dlr", "square", "suite")
MAX_L2_EPS = math.sqrt(3 * 32 * 32)  # CIFAR-10, the largest images neurodeploy reads
DEFAULT_STEPS = {"fgsm": 1, "pgd": 20, "apgd-ce": 100, "apgd-dlr": 100, "square": 1, "suite": 50}
WHITE_BOX = ("fgsm", "pgd", "apgd-ce", "apgd-dlr")
SUITE_SURROGATES = ("ste+slayer:0.2", "ste+slayer:5", "ste+rect:0.5", "ste+sigmoid:0.25", "ste+bptr")


@dataclass
class AttackConfig:
    """Settings of one ``neurodeploy attack`` run (docs/cli.md); ``steps``/``eot`` None = defaults."""

    attack: str = "suite"
    eps: tuple = (0.1,)
    steps: int | None = None
    restarts: int = 1
    eot: int | None = None
    norm: str = "linf"
    limit: int | None = 1000
    exit: str = "off"
    deployed: str | None = None
    transfer_from: str | None = None
    seed: int = 0
    grad: str = "ste"
    at: str = "exit"
    queries: int = 1000
    full: bool = False
    large_eps: float | None = None
    sim_samples: int = 0
    data_dir: str | None = None
    checks: bool = True  # False: no check companions, no large-ε run, checks SKIPPED (benchmark timing)
    check_samples: int = 200  # the fixed sub-sample of standalone accuracies and masking checks (not with full)

    def validate(self) -> "AttackConfig":
        if self.attack not in ATTACKS:
            raise UsageError(f"unknown attack '{self.attack}' (known: {', '.join(ATTACKS)})")
        self.norm = check_norm(self.norm)
        hi = 1.0 if self.norm == "linf" else MAX_L2_EPS  # L2: the diameter of the largest image [0, 1]^d
        if not self.eps or not all(isinstance(e, (int, float)) and 0.0 <= e <= hi for e in self.eps):
            raise UsageError(f"--eps needs one or more finite values in [0, {hi:g}] ({self.norm}, pixel units), "
                             f"got {list(self.eps)}")
        self.eps = tuple(sorted(float(e) for e in self.eps))
        if self.steps is not None and self.steps < 1:
            raise UsageError("--steps must be >= 1")
        if self.restarts < 1 or (self.eot is not None and self.eot < 1) or self.queries < 1:
            raise UsageError("--restarts, --eot and --queries must be >= 1")
        if self.check_samples < 1:
            raise UsageError("--check-samples must be >= 1")
        if self.limit is not None and self.limit < 1:
            raise UsageError("--limit must be >= 1")
        if self.at not in AT:
            raise UsageError(f"unknown loss position '{self.at}' (known: {', '.join(AT)})")
        GradientSpec.parse(self.grad)
        return self

    @property
    def k(self) -> int:
        return int(self.steps or DEFAULT_STEPS[self.attack])


def parse_eps(text) -> tuple:
    """``0.05,0.1`` or ``8/255,16/255`` -> floats."""
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "/" in part:
                a, b = part.split("/", 1)
                out.append(float(a) / float(b))
            else:
                out.append(float(part))
        except (ValueError, ZeroDivisionError):
            raise UsageError(f"bad --eps value '{part}' (numbers like 0.1 or 8/255, comma separated)") from None
    if not out:
        raise UsageError("--eps needs at least one value")
    return tuple(out)


@dataclass(frozen=True)
class Member:
    """One attack of a run. ``steps`` = iterations (Square: queries); ``spec`` None = exact/ANN."""

    method: str                 # fgsm | pgd | apgd-ce | apgd-dlr | square | transfer | noise
    spec: GradientSpec | None = None
    at: str = "exit"
    steps: int = 1
    restarts: int = 1
    role: str = "attack"        # attack | check
    standalone: bool = True

    @property
    def name(self) -> str:
        if self.method == "noise":
            return "random noise"
        if self.method == "square":
            head = f"square{self.steps}q" + (f"x{self.restarts}" if self.restarts > 1 else "")
            return head
        if self.method == "transfer":
            return f"transfer pgd{self.steps}" + (f"x{self.restarts}" if self.restarts > 1 else "")
        head = self.method if self.method == "fgsm" else f"{self.method}{self.steps}"
        head += f"x{self.restarts}" if self.restarts > 1 and self.method != "fgsm" else ""
        tags = [str(self.spec)] if self.spec is not None else []
        if self.at != "exit":
            tags.append(self.at)
        return head + (f" [{', '.join(tags)}]" if tags else "")

    def seed(self, base: int) -> int:
        return derive(base, "attack/member", self.name) % (1 << 31)  # 31 bits: torchattacks seeds with it


@dataclass
class MemberResult:
    """One attack at one ε. ``robust_accuracy`` only for standalone members (else None)."""

    name: str
    method: str
    gradient: str | None
    at: str
    steps: int
    restarts: int
    role: str
    standalone: bool
    eps: float
    attacked: int
    broke: int
    new: int
    robust_accuracy: float | None
    deployed_robust_accuracy: float | None
    seconds: float
    calls: int
    accuracy_on: int | None = None  # samples robust_accuracy is measured on (the check sub-sample, or all)


@dataclass
class EpsResult:
    """All attacks at one ε and their per-sample worst case (``broken_by``: first attack that broke
    the sample, ``"clean"`` if the model is wrong without attack, None if robust)."""

    eps: float
    members: list = field(default_factory=list)
    robust_accuracy: float = 0.0
    whitebox_robust_accuracy: float | None = None
    deployed_robust_accuracy: float | None = None
    broken_by: list = field(default_factory=list)
    deployed_broken: list | None = None
    sim: dict | None = None
    seconds: float = 0.0
    square_only: int = 0  # samples Square breaks that no white-box attack member breaks
    check_n: int = 0  # size of the check sub-sample
    check_clean_accuracy: float | None = None
    check_whitebox_robust_accuracy: float | None = None  # white-box worst case on the check sub-sample

    def member(self, name: str) -> MemberResult | None:
        return next((m for m in self.members if m.name == name), None)


def plan(cfg: AttackConfig, target: Target, transfer: Target | None = None) -> list:
    """The members of a run, in the order they run (standalone ones first)."""
    snn = target.is_snn
    K, R = cfg.k, cfg.restarts
    base = GradientSpec.parse(cfg.grad) if snn else None
    at = cfg.at  # for the one-step ANN every position reads the same output
    short = max(1, K // 5)
    encoders_differ = snn and not (target.clf.encoder.analog and target.clf.encoder.name == "direct")

    def m(method, spec=base, at_=at, steps=K, restarts=R, role="attack", standalone=True):
        return Member(method, spec, at_, steps, restarts, role, standalone)

    members = []
    if cfg.attack == "suite":  # cheapest first; white-box before transfer and Square (square-only count)
        members += [m("fgsm", steps=1, restarts=1)]
        if short < K:
            members.append(m("pgd", steps=short, restarts=1))
        members.append(m("pgd"))
        if encoders_differ:
            other = "spike" if base.encoder == "ste" else "ste"
            members.append(m("pgd", spec=replace(base, encoder=other)))
        if snn and not target.rule.is_off and at != "final":
            members.append(m("pgd", at_="final"))
        if snn and at != "prefix":
            members.append(m("pgd", at_="prefix", standalone=False))
        if snn:
            members += [m("pgd", spec=GradientSpec.parse(s), standalone=False) for s in SUITE_SURROGATES
                        if GradientSpec.parse(s) != base]
        members += [m("apgd-ce", standalone=False), m("apgd-dlr", standalone=False)]
        if transfer is not None:
            members.append(m("transfer", spec=None, at_="final"))
        members.append(m("square", spec=None, steps=cfg.queries, restarts=1, standalone=False))
        members.append(m("noise", spec=None, steps=1, restarts=1, role="check"))
        if cfg.full:
            members = [replace(x, standalone=True) for x in members]
        return _keep(members, cfg)

    method = cfg.attack
    main = m(method, spec=None if method == "square" else base,
             steps=cfg.queries if method == "square" else (1 if method == "fgsm" else K),
             restarts=1 if method == "fgsm" else R)
    members.append(main)
    if transfer is not None:
        members.append(m("transfer", spec=None, at_="final"))
    if method == "fgsm":
        members.append(m("pgd", steps=10, restarts=1, role="check"))
    elif method == "square":
        if cfg.queries > 1:
            members.append(replace(main, steps=max(1, cfg.queries // 5), role="check"))
    elif K > 1:
        members.append(replace(main, steps=short, restarts=1, role="check"))
    if method != "square":
        members.append(m("square", spec=None, steps=cfg.queries, restarts=1, role="check"))
    members.append(m("noise", spec=None, steps=1, restarts=1, role="check"))
    return _keep(members, cfg)


def _keep(members: list, cfg: AttackConfig) -> list:
    return members if cfg.checks else [x for x in members if x.role == "attack"]


def primary(members: list) -> Member:
    """The member the large-ε check re-runs: the longest standalone white-box attack (else the first)."""
    wb = [x for x in members if x.role == "attack" and x.standalone and x.method in WHITE_BOX]
    if wb:
        return max(wb, key=lambda x: (x.steps * x.restarts, x.at == "exit", x.spec is not None and x.spec.encoder == "ste"))
    return members[0]


def large_eps_value(cfg: AttackConfig, image_numel: int) -> float:
    if cfg.large_eps is not None:
        return float(cfg.large_eps)
    big = 0.5 if cfg.norm == "linf" else 0.5 * math.sqrt(image_numel)
    return max(big, max(cfg.eps))


# ---------------------------------------------------------------------------------------- running
def run_member(member: Member, target: Target, x, y, idx, eps: float, cfg: AttackConfig,
               transfer: Target | None = None, progress=None) -> AttackResult:
    """Run one member on the given samples (all of them are attacked)."""
    seed = member.seed(cfg.seed)
    eot = cfg.eot if cfg.eot is not None else 10
    if member.method == "noise":
        return random_noise(target, x, y, idx, eps, cfg.norm, seed)
    if member.method in ("fgsm", "pgd", "transfer"):
        source = transfer if member.method == "transfer" else target
        spec = member.spec or GradientSpec()
        oracle = Oracle(source, spec, kind="ce", at=member.at, eot=eot, seed=seed)
        pc = (fgsm_config(eps, cfg.norm, seed) if member.method == "fgsm"
              else PGDConfig(eps, member.steps, member.restarts, cfg.norm, seed=seed))
        return pgd(oracle, target, x, y, idx, pc, progress)
    if member.method in ("apgd-ce", "apgd-dlr"):
        ac = APGDConfig(eps, loss=member.method.split("-")[1], steps=member.steps, restarts=member.restarts,
                        norm=cfg.norm, eot=eot, seed=seed)
        return apgd(target, x, y, idx, ac, member.spec, member.at, progress)
    if member.method == "square":
        sc = SquareConfig(eps, queries=member.steps, restarts=member.restarts, norm=cfg.norm, seed=seed)
        return square(target, x, y, idx, sc, member.at, progress)
    raise UsageError(f"unknown attack method '{member.method}'")


def _budget(member: Member) -> int:
    return 1 if member.method == "noise" else member.steps * member.restarts


def _show(progress) -> bool:
    return sys.stderr.isatty() if progress is None else bool(progress)


def check_mask(cfg: AttackConfig, n: int) -> torch.Tensor:
    """The fixed check sub-sample: the first ``check_samples`` images (all of them with ``full``)."""
    if cfg.full:
        return torch.ones(n, dtype=torch.bool)
    return torch.arange(n) < cfg.check_samples


def run_eps(members: list, target: Target, x, y, idx, clean_ok, eps: float, cfg: AttackConfig,
            deployed=None, deployed_clean_ok=None, transfer: Target | None = None, progress=None) -> EpsResult:
    """Every member at one ε; per-sample worst case over the attack members (module docstring)."""
    t_eps = time.perf_counter()
    N = x.shape[0]
    check = check_mask(cfg, N)
    n_check = int(check.sum())
    broken_any = ~clean_ok
    broken_wb = ~clean_ok
    broken_by = ["clean" if not ok else None for ok in clean_ok.tolist()]
    dep_ok = deployed_clean_ok.clone() if deployed_clean_ok is not None else None
    square_broken = None
    out = EpsResult(eps=eps)
    for member in members:
        if member.role == "check":
            pool = clean_ok & check
        elif member.standalone:
            pool = clean_ok & (check | ~broken_any)
        else:
            pool = clean_ok & ~broken_any
        sel = pool.nonzero().squeeze(1)
        x_full = x.clone()
        broken_full = ~clean_ok.clone() if member.standalone else torch.zeros(N, dtype=torch.bool)
        t0 = time.perf_counter()
        calls = 0
        if sel.numel():
            with tqdm(total=_budget(member), desc=f"ε={eps:g} {member.name}", disable=not _show(progress),
                      leave=False, file=sys.stderr) as bar:
                res = run_member(member, target, x[sel], y[sel], idx[sel], eps, cfg, transfer, bar.update)
            x_full[sel] = res.x_adv
            broken_full[sel] = res.broken
            calls = res.calls
        seconds = time.perf_counter() - t0
        new = 0
        if member.role == "attack":
            fresh = broken_full & ~broken_any
            new = int(fresh.sum())
            for i in fresh.nonzero().squeeze(1).tolist():
                broken_by[i] = member.name
            broken_any = broken_any | broken_full
            if member.method in WHITE_BOX:
                broken_wb = broken_wb | broken_full
        if member.method == "square":
            square_broken = broken_full.clone()
        dep_acc = None
        if deployed is not None:
            ok = deployed.correct(x_full, y, idx)
            if member.standalone:
                dep_acc = float(ok[check].float().mean())
            if member.role == "attack" and dep_ok is not None:
                dep_ok &= ok
        out.members.append(MemberResult(
            name=member.name, method=member.method, gradient=str(member.spec) if member.spec else None,
            at=member.at, steps=member.steps, restarts=member.restarts, role=member.role,
            standalone=member.standalone, eps=eps, attacked=int(sel.numel()),
            broke=int(broken_full[sel].sum()) if sel.numel() else 0, new=new,
            robust_accuracy=float(1 - broken_full[check].float().mean()) if member.standalone else None,
            deployed_robust_accuracy=dep_acc, seconds=seconds, calls=calls,
            accuracy_on=n_check if member.standalone else None))
    out.robust_accuracy = float(1 - broken_any.float().mean())
    if any(m.method in WHITE_BOX and m.role == "attack" for m in members):
        out.whitebox_robust_accuracy = float(1 - broken_wb.float().mean())
    out.broken_by = broken_by
    out.check_n = n_check
    out.check_clean_accuracy = float(clean_ok[check].float().mean())
    out.check_whitebox_robust_accuracy = float(1 - broken_wb[check].float().mean())
    out.square_only = int((square_broken & ~broken_wb).sum()) if square_broken is not None else 0
    if dep_ok is not None:
        out.deployed_robust_accuracy = float(dep_ok.float().mean())
        out.deployed_broken = (~dep_ok).tolist()
    out.seconds = time.perf_counter() - t_eps
    return out


def masking_checks(results: list, clean_acc: float, n: int, large: MemberResult | None,
                   large_name: str | None) -> list:
    """All masking checks of a run from its per-ε results (see :mod:`neurodeploy.attacks.checks`)."""
    tol = chk.tolerance(n)
    curves: dict = {}
    for r in results:
        for m in r.members:
            if m.role == "attack" and m.standalone and m.robust_accuracy is not None:
                curves.setdefault(m.name, [(0.0, clean_acc)]).append((r.eps, m.robust_accuracy))
        curves.setdefault("worst case", [(0.0, clean_acc)]).append((r.eps, r.robust_accuracy))
    pairs = []
    for r in results:
        pgds = sorted([m for m in r.members if m.standalone and m.method in ("fgsm", "pgd", "apgd-ce", "apgd-dlr")],
                      key=lambda m: m.steps * m.restarts)
        groups: dict = {}
        for m in pgds:
            key = ("pgd-family" if m.method in ("fgsm", "pgd") else m.method, m.gradient, m.at)
            groups.setdefault(key, []).append(m)
        sq = sorted([m for m in r.members if m.method == "square" and m.standalone], key=lambda m: m.steps)
        if len(sq) > 1:
            groups[("square",)] = sq
        for g in groups.values():
            for a, b in zip(g, g[1:]):
                if a.steps * a.restarts < b.steps * b.restarts:
                    pairs.append((r.eps, a.name, a.robust_accuracy, b.name, b.robust_accuracy))
    sq_rows, noise_rows = [], []
    for r in results:
        squares = [m for m in r.members if m.method == "square"]
        sq = [m for m in squares if m.steps == max(x.steps for x in squares)]
        if sq and r.whitebox_robust_accuracy is not None:
            if sq[0].standalone:
                sq_rows.append((r.eps, sq[0].robust_accuracy, r.whitebox_robust_accuracy, r.square_only))
            else:  # Square ran last, on what the white-box attacks left: every sample it broke is square-only
                sq_rows.append((r.eps, None, r.whitebox_robust_accuracy, r.square_only, n))
        noise = next((m for m in r.members if m.method == "noise"), None)
        if noise is not None:
            attack_acc = r.check_whitebox_robust_accuracy
            if attack_acc is None:
                attack_acc = r.whitebox_robust_accuracy if r.whitebox_robust_accuracy is not None else r.robust_accuracy
            clean = r.check_clean_accuracy if r.check_clean_accuracy is not None else clean_acc
            noise_rows.append((r.eps, clean, noise.robust_accuracy, attack_acc))
    return [chk.eps_monotone(curves, tol), chk.steps_monotone(pairs, tol),
            chk.large_eps(large.eps if large else None, large_name or "", large.robust_accuracy if large else None),
            chk.square_vs_whitebox(sq_rows, tol), chk.noise_vs_attack(noise_rows, tol)]
