"""Real node failures: a trained network deployed as one Ray actor per physical node: `split` cuts the
model into one `node_spec` per node (importing no Keras), `nodes` is an actor, `network` runs the actors,
`run` is the `<dataset>_deployment` entry point."""
