"""The clip domain: the Clip record and its Redis store."""
