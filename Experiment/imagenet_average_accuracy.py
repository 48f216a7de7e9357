"""ImageNet (MobileNet v1): expected accuracy of Vanilla, DFG and ResiliNet under each reliability setting.

Trains the three networks (ResiliNet+ instead of ResiliNet when ResiliNetPlus is set in
cnn_ResiliNet_MobileNet.py) on --train_dir and evaluates them on --val_dir.
"""
from imagenet_common import DATASET

from resilinet.cli.experiment_script import main

if __name__ == "__main__":
    main(DATASET, "average_accuracy", description=__doc__)
