"""ResiliNet: failure-resilient inference in distributed neural networks (a reproduction)."""
