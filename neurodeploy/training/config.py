"""The run's settings: ``TrainConfig``, saved as the run folder's ``config.json``."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from neurodeploy.data import spec
from neurodeploy.data.augment import Augment
from neurodeploy.encoding import make_encoder
from neurodeploy.errors import BadInputError, NeurodeployError, UsageError
from neurodeploy.models.architectures import ARCHITECTURES
from neurodeploy.models.snn import NeuronConfig
from neurodeploy.schemas.run_config import check_run_config
from neurodeploy.training.losses import LOSSES
from neurodeploy.training.perturb import parse_adv, parse_adv_grad, parse_noise


@dataclass
class TrainConfig:
    """Everything that defines a run; saved as ``config.json``."""

    dataset: str = "fashion-mnist"
    model: str = "mlp"
    encoding: dict = field(default_factory=lambda: {"name": "early_burst"})
    steps: int = 8
    epochs: int = 5
    seed: int = 0
    ann: bool = False
    loss: str = "temporal"
    batch_size: int = 128
    lr: float = 1e-3
    lr_schedule: str = "cosine"  # "cosine" (to 0 over the run's epochs) | "constant"
    limit: int | None = None
    test_limit: int | None = None
    noise: str | None = None
    adv: str | None = None
    mppd: float | None = None  # ρ of the membrane-perturbation penalty; perturbed input from --adv/--noise (default gaussian 8/255)
    neuron: dict = field(default_factory=lambda: asdict(NeuronConfig()))
    weight_scale: float = 2.0
    init_from: str | None = None  # run folder whose weights start this run (fine-tuning), shape-checked
    augment: str | None = None  # none | cropP | flip | cropP+flip; None: the data set's default (validate fills it in)
    # robust training (training/perturb.py, training/losses.py)
    adv_weight: float = 0.5  # w of (1 - w)·loss(clean) + w·loss(adversarial); also weights MPPD's two terms
    eps_warmup: float = 1.0  # epochs over which the training attack's ε rises linearly from 0
    trades: float | None = None  # β: TRADES loss(clean) + β·KL(p(clean) ‖ p(adversarial)) instead of the mix
    adv_grad: str = "random"  # training attack's surrogate gradient: "random" (per batch, suite family) | GradientSpec
    input_quantisation: bool = False  # ANN twin fed the SNN's input: spike count / T of `encoding` at `steps`
    rate_reg: float = 0.0  # λ of the output spike-rate penalty (losses.spike_rate_penalty); 0: off
    rate_true: float = 0.5  # its target output rate for the label's neuron
    rate_false: float = 0.05  # its target output rate for the other output neurons
    hidden_reg: float = 0.0  # λ of the hidden-layer activity floor (losses.hidden_floor_penalty); 0: off
    hidden_low: float = 0.1  # that floor: the least mean spike rate of every hidden layer

    def validate(self) -> "TrainConfig":
        """Types and ranges of every field (the run-config schema), then names and cross-field rules."""
        try:
            check_run_config(asdict(self), "training settings")
        except BadInputError as e:  # settings given in code or on the command line: a usage error
            raise UsageError(str(e)) from None
        spec(self.dataset)
        if self.model not in ARCHITECTURES:
            raise UsageError(f"unknown model '{self.model}' (known: {', '.join(ARCHITECTURES)})")
        if self.augment is None:
            self.augment = spec(self.dataset).augment
        self.augment = str(Augment.parse(self.augment))
        make_encoder(self.encoding)
        if self.loss not in LOSSES:
            raise UsageError(f"unknown loss '{self.loss}' (known: {', '.join(LOSSES)})")
        if self.lr_schedule not in ("cosine", "constant"):
            raise UsageError(f"unknown lr schedule '{self.lr_schedule}' (cosine | constant)")
        if self.steps < 1 or self.epochs < 0 or self.batch_size < 1:
            raise UsageError("steps and batch size must be >= 1 and epochs >= 0")
        parse_noise(self.noise)
        parse_adv(self.adv)
        if self.rate_reg < 0 or (self.rate_reg > 0 and self.ann):
            raise UsageError("--rate-reg needs a spiking model and λ >= 0")
        if self.hidden_reg < 0 or (self.hidden_reg > 0 and (self.ann or self.mppd is not None)):
            raise UsageError("--hidden-reg needs a spiking model without --mppd and λ >= 0")
        if not (0 <= self.rate_false <= 1 and 0 <= self.rate_true <= 1 and 0 <= self.hidden_low <= 1):
            raise UsageError("spike-rate targets must lie in [0, 1]")
        if self.mppd is not None and (self.ann or self.mppd < 0):
            raise UsageError("--mppd needs a spiking model and ρ >= 0")
        if not 0.0 <= self.adv_weight <= 1.0:
            raise UsageError(f"--adv-weight must lie in [0, 1], got {self.adv_weight}")
        if self.eps_warmup < 0:
            raise UsageError(f"--eps-warmup must be >= 0 epochs, got {self.eps_warmup}")
        if self.trades is not None and (self.trades < 0 or not self.adv or self.mppd is not None):
            raise UsageError("--trades BETA needs BETA >= 0 and --adv (the attack that maximises the KL), not --mppd")
        self.adv_grad = parse_adv_grad(self.adv_grad)
        if self.input_quantisation:
            enc = make_encoder(self.encoding)
            if not self.ann or enc.analog or enc.stochastic:
                raise UsageError("--input-quantisation feeds the ANN twin (--ann) the spike count / T of a "
                                 f"deterministic spike encoding; '{enc.name}' with ann={self.ann} cannot")
        return self

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "TrainConfig":
        """Build from a ``config.json``-like dict, every field type- and range-checked
        (:mod:`neurodeploy.schemas.run_config`), names and cross-field rules by :meth:`validate`;
        any fault is one line naming ``source`` and the key."""
        check_run_config(d, source)
        known = {f.name for f in fields(cls)}
        cfg = cls(**{k: v for k, v in d.items() if k in known})
        try:
            return cfg.validate()
        except NeurodeployError as e:
            raise BadInputError(f"{source}: {e}") from None
