"""The physical topologies of the paper's experiments, each declared once."""
from resilinet.core.topology import Topology

HEALTH = Topology(
    name="health",
    inputs=("iot",),
    chain=(("iot", "edge"), ("edge", "fog2"), ("fog2", "fog1"), ("fog1", "cloud")),
    skips=(("fog2", "cloud"), ("edge", "fog1"), ("iot", "fog2")),
    failable=("fog1", "fog2", "edge"),
)

CNN = Topology(
    name="cnn",
    inputs=("iot",),
    chain=(("iot", "edge"), ("edge", "fog"), ("fog", "cloud")),
    skips=(("edge", "cloud"), ("iot", "fog")),
    failable=("fog", "edge"),
)

CAMERAS = tuple(f"camera{i}" for i in range(1, 7))

CAMERA = Topology(
    name="camera",
    inputs=CAMERAS,
    chain=(("camera1", "edge1"), ("camera2", "edge1"), ("camera3", "edge2"), ("camera4", "edge3"), ("camera5", "edge3"),
           ("camera6", "edge4"), ("edge1", "fog3"), ("edge2", "fog4"), ("edge3", "fog4"), ("edge4", "fog4"),
           ("fog3", "fog2"), ("fog4", "fog2"), ("fog2", "fog1"), ("fog1", "cloud")),
    skips=(("fog2", "cloud"), ("fog3", "fog1"), ("fog4", "fog1"),
           ("edge1", "fog2"), ("edge2", "fog2"), ("edge3", "fog2"), ("edge4", "fog2")),
    failable=("fog1", "fog2", "fog3", "fog4", "edge1", "edge2", "edge3", "edge4"),
)
