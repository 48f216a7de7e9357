"""CIFAR-10 MobileNet v1: expected accuracy of Vanilla, DFG and ResiliNet under each reliability setting.

Trains the three networks (ResiliNet+ instead of ResiliNet when ResiliNetPlus is set in
cnn_ResiliNet_MobileNet.py) for ITERATIONS iterations and evaluates every failure combination.
"""
from cifar_common import CIFAR_MOBILENET

from resilinet.cli.experiment_script import main

if __name__ == "__main__":
    main(CIFAR_MOBILENET, "average_accuracy", description=__doc__)
