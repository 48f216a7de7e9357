"""Health (MHEALTH): ResiliNet trained with each on/off configuration of the skip hyperconnections.

Bit order: fog2->cloud, edge->fog1, IoT->fog2 ("101": fog2->cloud and IoT->fog2 on).
"""
from health_common import DATASET

from resilinet.cli.experiment_script import main

SKIP_CONFIGURATIONS = ("000", "001", "010", "011", "100", "101", "110", "111")

if __name__ == "__main__":
    main(DATASET, "skiphyperconnection_sensitivity", description=__doc__,
         script_defaults={"skip_configurations": SKIP_CONFIGURATIONS})
