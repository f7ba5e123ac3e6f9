"""Exercise of notebook 11 (separating a song): count the tiles.

The notebook runs the check: ``check_count_tiles(count_tiles)`` (``waveunet_lit.exercises.separation``).
"""


def count_tiles(model, length: int, segment: int) -> int:
    """How many tiles ``separate`` runs for a song of ``length`` samples through ``model``.

    Args:
        model: a 'valid' Wave-U-Net (``context=True``) at the song's rate; its output repeats
            for input shifts of a multiple of its period ``2 ** model.levels``.
        length: samples of the song, at the model's rate (one pass, no shifts).
        segment: wanted output samples per tile.

    Returns:
        The number of tiles: each takes ``model.valid_length(segment)`` input samples and keeps
        ``hop`` output samples, ``hop`` being the tile's output length rounded down to a multiple
        of the period; tiles follow each other ``hop`` samples apart until the song is covered
        (at least one tile, however short the song).
    """
    raise NotImplementedError("compute hop from the model's length arithmetic, then the tiles")


if __name__ == "__main__":
    from waveunet_lit.exercises import separation, report

    raise SystemExit(report(separation.CHECKS, globals()))
