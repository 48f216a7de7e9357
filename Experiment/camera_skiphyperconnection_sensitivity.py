"""Camera (multi-view): ResiliNet trained with on/off configurations of the skip hyperconnections.

Bit order: fog2->cloud, fog3->fog1, fog4->fog1, edge1->fog2, edge2->fog2, edge3->fog2, edge4->fog2.
"""
from camera_common import DATASET

from resilinet.cli.experiment_script import main

SKIP_CONFIGURATIONS = ("1111000", "1000001", "1000100", "0000101", "0000001", "0000011", "1111001", "1111111")

if __name__ == "__main__":
    main(DATASET, "skiphyperconnection_sensitivity", description=__doc__,
         script_defaults={"skip_configurations": SKIP_CONFIGURATIONS})
