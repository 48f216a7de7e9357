"""CIFAR-10 MobileNet v1: ResiliNet trained with each on/off configuration of the skip hyperconnections.

Bit order: edge->cloud, IoT->fog ("10": edge->cloud on, IoT->fog off).
"""
from cifar_common import CIFAR_MOBILENET

from resilinet.cli.experiment_script import main

SKIP_CONFIGURATIONS = ("00", "01", "10", "11")

if __name__ == "__main__":
    main(CIFAR_MOBILENET, "skiphyperconnection_sensitivity", description=__doc__,
         script_defaults={"skip_configurations": SKIP_CONFIGURATIONS})
