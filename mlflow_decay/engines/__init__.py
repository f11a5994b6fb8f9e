"""Where rows come from: tables in memory, CSV and Parquet files read in batches, Spark.

Each engine reads its source and hands the core mergeable partial statistics; :mod:`.dispatch`
chooses the engine for a source.
"""
