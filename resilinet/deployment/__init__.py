"""Real node failures: a trained network deployed as one Ray actor per physical node: `split` cuts the
model per node, `nodes` is an actor, `network` runs the actors, `run` is the `<dataset>_deployment` entry point."""
