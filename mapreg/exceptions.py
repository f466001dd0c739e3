"""Warnings and errors mapreg raises, in one place so that every layer can import them."""


class ConvergenceWarning(UserWarning):
    """A solver stopped before its optimality certificate reached the tolerance."""


class SamplingWarning(UserWarning):
    """A posterior sample failed a convergence diagnostic (R-hat, ESS, divergences, depth)."""


class DataError(ValueError):
    """A problem with the user's data file; ``str(error)`` is a one-line message."""
