"""Camera (multi-view): the trained network deployed as one Ray actor per physical node, nodes failed for real.

Loads the weights Experiment/camera_average_accuracy.py saved (--model, --iteration, --models_dir), kills
the --fail nodes or draws failures per window of requests from --setting, streams the test set
through the actors and compares every answer with the in-process simulation of the same failures.
"""
from camera_common import DATASET

from resilinet.cli.deployment_script import main

if __name__ == "__main__":
    main(DATASET, description=__doc__)
