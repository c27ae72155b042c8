"""The training loop, checkpoints, optimiser/schedule and monitors."""
