"""A 5x7 bitmap font (the classic character-LCD shapes), so the emulator can draw a prompt."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

GLYPH_WIDTH = 5
GLYPH_HEIGHT = 7

# Seven rows per glyph, two hex digits per row, the low five bits are the pixels.
_ROWS: dict[str, str] = {
    "A": "0E1111111F1111", "B": "1E11111E11111E", "C": "0E11101010110E",
    "D": "1C12111111121C", "E": "1F10101E10101F", "F": "1F10101E101010",
    "G": "0E11101711110F", "H": "1111111F111111", "I": "0E04040404040E",
    "J": "0702020202120C", "K": "11121418141211", "L": "1010101010101F",
    "M": "111B1515111111", "N": "11111915131111", "O": "0E11111111110E",
    "P": "1E11111E101010", "Q": "0E11111115120D", "R": "1E11111E141211",
    "S": "0F10100E01011E", "T": "1F040404040404", "U": "1111111111110E",
    "V": "11111111110A04", "W": "1111111515150A", "X": "11110A040A1111",
    "Y": "1111110A040404", "Z": "1F01020408101F", "0": "0E11131519110E",
    "1": "040C040404040E", "2": "0E11010204081F", "3": "1F02040201110E",
    "4": "02060A121F0202", "5": "1F101E0101110E", "6": "0608101E11110E",
    "7": "1F010204080808", "8": "0E11110E11110E", "9": "0E11110F01020C",
    " ": "00000000000000", ".": "00000000000C0C", ",": "000000000C0408",
    "!": "04040404000004", "?": "0E110102040004", "-": "0000001F000000",
    ":": "000C0C000C0C00", "'": "0C040800000000", "/": "00010204081000",
}  # fmt: skip


def _bitmap(code: str) -> npt.NDArray[np.bool_]:
    rows = [int(code[i : i + 2], 16) for i in range(0, 2 * GLYPH_HEIGHT, 2)]
    bits = [
        [bool(row >> (GLYPH_WIDTH - 1 - col) & 1) for col in range(GLYPH_WIDTH)] for row in rows
    ]
    return np.array(bits, dtype=bool)


GLYPHS: dict[str, npt.NDArray[np.bool_]] = {char: _bitmap(code) for char, code in _ROWS.items()}


def text_mask(text: str, scale: int = 2, spacing: int = 1) -> npt.NDArray[np.bool_]:
    """A boolean image of ``text`` in capitals (unknown characters become '?')."""
    glyphs = [GLYPHS.get(char, GLYPHS["?"]) for char in text.upper()]
    if not glyphs:
        return np.zeros((GLYPH_HEIGHT * scale, 0), dtype=bool)
    gap = np.zeros((GLYPH_HEIGHT, spacing), dtype=bool)
    parts = [part for glyph in glyphs for part in (glyph, gap)][:-1]
    line = np.concatenate(parts, axis=1)
    return np.kron(line, np.ones((scale, scale), dtype=bool)).astype(bool)
