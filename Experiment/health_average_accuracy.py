"""Health (MHEALTH): expected accuracy of Vanilla, DFG and ResiliNet under each reliability setting.

Trains the three networks (ResiliNet+ instead of ResiliNet when ResiliNetPlus is set in
mlp_ResiliNet_health.py) for ITERATIONS iterations and evaluates every failure combination.
"""
from health_common import DATASET

from resilinet.cli.experiment_script import main

if __name__ == "__main__":
    main(DATASET, "average_accuracy", description=__doc__)
