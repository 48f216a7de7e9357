"""Which units of each convolutional network run on which node, for each partition setting.

Kept apart from the Keras code of the networks, so that a bad partition setting is reported before
Keras loads. A unit is a run of layers: for MobileNet v1, unit 0 is conv1 and units 1..13 are the
depthwise-separable blocks (the head follows block 13); for ResNet-18, unit 0 is the initial 7x7
convolution and units 1..4 are the stages (the 3x3 max-pool opens stage 1; the head follows stage 4).
"""

MOBILENET = {
    1: {"iot": (0,), "edge": (1, 2, 3), "fog": (4, 5, 6, 7, 8), "cloud": (9, 10, 11, 12, 13)},
    2: {"iot": (0, 1), "edge": (2, 3), "fog": (4, 5, 6, 7), "cloud": (8, 9, 10, 11, 12, 13)},
}

RESNET = {
    1: {"iot": (0,), "edge": (1,), "fog": (2,), "cloud": (3, 4)},
    2: {"iot": (0,), "edge": (1, 2), "fog": (3,), "cloud": (4,)},
}
