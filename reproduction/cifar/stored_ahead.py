"""Whether a run stored under reproduction/cifar/ has gone further than the same run in a work folder, which then
holds what an earlier session left there (sessions move between machines): the stored results file holds records the
work folder's lacks, or, with the same records, a stored state of a training in progress is at a later epoch than the
work folder's (or the work folder's is missing or damaged). restore.sh then puts the stored run back over it, where
a resume would otherwise train again what the stored run holds. Prints why and exits 0 when the stored run is ahead,
1 when it is not, 2 when a results file cannot be read.
    usage: python reproduction/cifar/stored_ahead.py STORED_RESULTS_GZ WORK_DIR"""
import gzip
import io
import sys
from pathlib import Path

from resilinet.base.errors import UserError
from resilinet.runs.results import own_weights_dir, read_document
from resilinet.runs.training_state import saved_epoch


def done(document) -> set[tuple[int, str]]:
    return {(record["iteration"], record["variant"]) for record in document["records"]}


def why_ahead(stored: Path, work: Path) -> str:
    """Why the stored run is ahead of the work folder's, or "" when it is not."""
    name = stored.name.removesuffix(".gz").removesuffix(".json")
    in_work = work / "results" / f"{name}.json"
    stored_document, work_document = read_document(stored), read_document(in_work)
    missing = done(stored_document) - done(work_document)
    if missing:
        return f"it holds {len(missing)} record(s) that {in_work} lacks"
    if done(work_document) - done(stored_document):
        return ""
    weights_dir = own_weights_dir(work / "models", in_work, work_document["experiment"])
    finished = {f"{variant}_iter{iteration}.training.npz" for iteration, variant in done(stored_document)}
    for state in sorted((stored.parent.parent / "state" / name).glob("*.training.npz.gz")):
        in_progress = weights_dir / state.name.removesuffix(".gz")
        if in_progress.name in finished:  # a finished model's state, stored while it trained: never read again
            continue
        try:
            stored_epoch = saved_epoch(io.BytesIO(gzip.decompress(state.read_bytes())))
        except (OSError, EOFError):  # a damaged stored state is never put back over a training in progress
            stored_epoch = 0
        work_epoch = saved_epoch(in_progress) if in_progress.is_file() else 0
        if stored_epoch > work_epoch:
            return f"its state of {in_progress.name} is after epoch {stored_epoch}, the work folder's " + (
                f"after epoch {work_epoch}" if in_progress.is_file() else "missing")
    return ""


if __name__ == "__main__":
    try:
        reason = why_ahead(Path(sys.argv[1]), Path(sys.argv[2]))
    except UserError as error:
        print(f"{sys.argv[0]}: error: {error}", file=sys.stderr)
        sys.exit(2)
    if reason:
        print(reason)
    sys.exit(0 if reason else 1)
