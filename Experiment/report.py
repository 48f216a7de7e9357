"""Tables and figures of the paper from results files of the experiment scripts.

python Experiment/report.py RESULTS.json [RESULTS.json ...] [--out=results/report] [--readme=true]
"""
from resilinet.cli.report_script import main

if __name__ == "__main__":
    main()
