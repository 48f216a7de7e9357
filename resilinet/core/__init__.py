"""The core every network shares: topologies, kinds, failout and gate layers, the model builder, the failure
evaluation."""
