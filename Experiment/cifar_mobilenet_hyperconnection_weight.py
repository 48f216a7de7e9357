"""CIFAR-10 MobileNet v1: expected accuracy of DFG and ResiliNet with each hyperconnection weight scheme.

Schemes: 1 every weight 1; 2 normalised reliability; 3 reliability; 4 uniform [0, 1];
5 uniform [0, 10]. Schemes 2 and 3 train one model per reliability setting.
"""
from cifar_common import CIFAR_MOBILENET

from resilinet.cli.experiment_script import main

WEIGHT_SCHEMES = (1, 2, 3, 4)
MODEL_KINDS = ("DFG", "ResiliNet")

if __name__ == "__main__":
    main(CIFAR_MOBILENET, "hyperconnection_weight", description=__doc__,
         script_defaults={"weight_schemes": WEIGHT_SCHEMES, "model_kinds": MODEL_KINDS})
