"""``DiscoveryError``: a discovery option or output folder that cannot be used; the message names it."""


class DiscoveryError(ValueError):
    """A bad option (a weight, a query, a reference collection) or an output folder made with other settings."""
