"""The long-clip path: cut a source, fan segments in, anchor, stitch, re-drive."""
