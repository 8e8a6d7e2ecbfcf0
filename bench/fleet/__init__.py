"""Fleet screening: every serial operator meter a DSO hosts, from one laptop to a Dask cluster.

A fleet dataset (:mod:`meterbench.fleet.layout`, documented in ``docs/fleet.md``) holds the
quarter-hour deliveries of every metering point, partitioned by blocks of sites, plus a topology
table. :mod:`meterbench.fleet.screen` checks one block with the pipeline's own numpy kernels
(netting, negative-residual and labelling diagnosis, local days, quality rules);
:mod:`meterbench.fleet.engine` runs the blocks on Dask. Nothing here imports Dask or pyarrow at
package import time: ``meterbench fleet`` says in one line which extra to install when they are
missing.
"""
