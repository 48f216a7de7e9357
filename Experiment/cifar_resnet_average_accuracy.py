"""CIFAR-10 ResNet-18: expected accuracy of Vanilla, DFG and ResiliNet under each reliability setting.

Trains the three networks (ResiliNet+ instead of ResiliNet when ResiliNetPlus is set in
cnn_ResiliNet_ResNet.py) for ITERATIONS iterations and evaluates every failure combination.
"""
from cifar_common import CIFAR_RESNET

from resilinet.cli.experiment_script import main

if __name__ == "__main__":
    main(CIFAR_RESNET, "average_accuracy", description=__doc__)
