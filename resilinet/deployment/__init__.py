"""Real node failures: a trained network deployed as one Ray actor per physical node.

`split` cuts the experiments' Keras model into one sub-model per node, `nodes` is the actor that
runs one of them, `network` starts, kills and restarts the actors and streams requests through
them, and `run` is the entry point of the `Experiment/<dataset>_deployment.py` scripts.
"""
