"""CIFAR-10 ResNet-18: ResiliNet trained with each failout survival rate, and with variable failout.

Variable failout trains one model per reliability setting with failures, each node's survival
rate being its reliability; the no-failure setting has no failout to train with (n/a).
"""
from cifar_common import CIFAR_RESNET

from resilinet.cli.experiment_script import main

FAILOUT_SURVIVAL_RATES = (0.95, 0.9, 0.7, 0.5)

if __name__ == "__main__":
    main(CIFAR_RESNET, "failout_rate", description=__doc__,
         script_defaults={"failout_survival_rates": FAILOUT_SURVIVAL_RATES})
