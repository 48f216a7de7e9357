"""ResiliNet: failure-resilient inference in distributed neural networks (a reproduction)."""
import os

# Hide TensorFlow's INFO start-up lines (oneDNN, CPU features); warnings and errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
