"""The posterior beyond the mode: samplers, diagnostics, comparison, empirical Bayes.

``sample`` (the entry, :func:`sample_posterior`) runs what ``choose`` picks — ``exact``,
``gibbs`` (kernel in ``gibbs_kernel``) or ``nuts`` (on ``pymc_model``) — each handing
back a ``draws.Draws``; ``datatree`` builds the result and ``diagnostics`` checks it.
``sufficient`` holds the Gaussian likelihood's sufficient statistics; ``compare`` and
``empirical_bayes`` work on top.

Modules load on demand (xarray and ArviZ take seconds to import); use
``mapreg.sample_posterior`` and friends from the top-level package.
"""
