"""Video with PyAV: sample clips, probing, frames."""
