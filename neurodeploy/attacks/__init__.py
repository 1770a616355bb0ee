"""neurodeploy.attacks: strong, adaptive adversarial evaluation of SNNs and their ANN twins.

Modules, one concept each: ``projection`` (threat-model balls), ``target`` (the model's exact
decision), ``gradients`` (attack-time surrogate gradients, BPTR), ``losses`` (exit-aware
objectives), ``oracle`` (EOT gradients), ``pgd`` (FGSM/PGD/noise), ``apgd`` and ``square``
(torchattacks), ``view`` (the model as logits for libraries), ``suite`` (what runs, per-sample
worst case), ``checks`` (gradient-masking checks), ``deployed`` (the exported artifact on the
emulator), ``report`` (JSON/Markdown/PNG), ``api`` (``attack(run_dir, AttackConfig)``).
"""
from neurodeploy.attacks.api import attack, evaluate
from neurodeploy.attacks.gradients import GradientSpec
from neurodeploy.attacks.suite import AttackConfig, parse_eps
from neurodeploy.attacks.target import Target

__all__ = ["attack", "evaluate", "AttackConfig", "GradientSpec", "Target", "parse_eps"]
