"""The layer stacks of the papers' networks: MLPs, MobileNet v1, ResNet-18."""
