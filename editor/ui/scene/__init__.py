"""The scene room: the document (the scene and all that belongs to it), the table and the
edits made in it, the undo commands, the cast panel and the scene settings dialog."""
