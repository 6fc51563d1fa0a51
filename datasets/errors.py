"""The one error type of the data pipeline, so callers can tell bad data from bugs."""


class VideoDataError(ValueError):
    """A video, frame, mask, alpha or flow file (or a dataset layout) that cannot be used; names the file."""
