"""Edits in and out: an OTIO, CMX 3600 EDL or FCP7 XML timeline read as the used ranges of its
sources (`reading`, over the pure `ranges`), kept beside the outputs (`store`) and handed back
with the restyled media (`export`)."""
