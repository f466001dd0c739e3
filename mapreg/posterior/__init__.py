"""The posterior beyond the mode: samplers, diagnostics, comparison, empirical Bayes.

Modules load on demand (xarray and ArviZ take seconds to import); use
``mapreg.sample_posterior`` and friends from the top-level package.
"""
