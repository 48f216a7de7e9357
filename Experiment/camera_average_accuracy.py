"""Camera (multi-view): expected micro-F1 of Vanilla, DFG and ResiliNet under each reliability setting.

Trains the three networks (ResiliNet+ instead of ResiliNet when ResiliNetPlus is set in
mlp_ResiliNet_camera.py) and evaluates all 256 failure combinations of the 8 failable nodes.
"""
from camera_common import DATASET

from resilinet.cli.experiment_script import main

if __name__ == "__main__":
    main(DATASET, "average_accuracy", description=__doc__)
