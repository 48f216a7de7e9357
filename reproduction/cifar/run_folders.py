"""Print the weights folder and the training-log folder that a run of run.sh in WORK_DIR keeps for a results
file (.json, or .json.gz as snapshot.sh stores it): those of a run started there, since run.sh gives every script
--results_dir=WORK_DIR/results and --models_dir=WORK_DIR/models, and where its resume looks first. restore.sh
puts a stored run back into them and snapshot.sh takes the state of a training in progress from them, so a work
folder may be restored at any path.
    usage: python reproduction/cifar/run_folders.py RESULTS WORK_DIR"""
import sys
from pathlib import Path

from resilinet.base.errors import UserError
from resilinet.runs.results import own_weights_dir, read_document

results, work = Path(sys.argv[1]), Path(sys.argv[2])
name = results.name.removesuffix(".gz").removesuffix(".json")
try:
    experiment = read_document(results)["experiment"]
except UserError as error:
    sys.exit(f"{sys.argv[0]}: error: {error}")
in_work = work / "results" / f"{name}.json"
print(own_weights_dir(work / "models", in_work, experiment))
print(in_work.with_suffix(""))
