"""The takes room: the current line's takes and the Takes panel."""
