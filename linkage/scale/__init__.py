"""National scale: partition the extracts by force, fit the models once on a sample of forces, link every
partition with those fixed parameters, here one partition at a time or on a Dask cluster.

``link_national(data, out)`` is the entry point (``linkage link-national`` on the command line); see
docs/scale.md.
"""

from linkage.scale.partitions import (
    LINK_INPUTS,
    Partition,
    PartitionTables,
    find_parquet_inputs,
    list_partitions,
    partition_slug,
    read_partition,
)
from linkage.scale.run import (
    DEFAULT_SAMPLE_CRIMES,
    NationalRun,
    PartitionFailedError,
    choose_sample,
    fit_on_sample,
    link_national,
    link_partition,
    partition_key,
    read_outputs,
)

__all__ = [
    "DEFAULT_SAMPLE_CRIMES",
    "LINK_INPUTS",
    "NationalRun",
    "Partition",
    "PartitionFailedError",
    "PartitionTables",
    "choose_sample",
    "find_parquet_inputs",
    "fit_on_sample",
    "link_national",
    "link_partition",
    "list_partitions",
    "partition_key",
    "partition_slug",
    "read_outputs",
    "read_partition",
]
