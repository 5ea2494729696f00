"""The export room: the Export dialog, the missing-lines question and the export itself."""
