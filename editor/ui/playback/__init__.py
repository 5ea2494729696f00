"""The playback room: the play queue and the Player facade over QtMultimedia."""
